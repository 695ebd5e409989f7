"""An optional verifier after the cascade, for devices that run Python (a Pi, a phone, a laptop).

Models trained from synthetic voices miss many real people; a representation learned from real
speech hears them. Google's speech embedding (Apache-2.0; the ONNX files openWakeWord 0.4.0
ships: a melspectrogram and the embedding model, ``pip install kws[verifier]`` for onnxruntime)
turns 16 kHz audio into one 96-value embedding per 80 ms. A small head, trained by ``kws train
--verifier`` on the same synthetic clips as the cascade, scores ``WINDOW_EMBEDDINGS``
consecutive embeddings (1.98 s of audio). A detection of the cascade counts only when the head
scores at least ``threshold`` on some window ending from ``before_s`` before it to the
detection itself: no extra latency, and the verifier runs only on the cascade's detections
(a few an hour), never always on.

Embeddings lie on one grid: the stream is heard after ``PREFIX_SAMPLES`` of the noise floor
alone (as if the device had been listening to a quiet room; a detection 0.78 s into a stream
can be verified), and embedding ``j`` covers samples ``[EMBEDDING_HOP * j, EMBEDDING_HOP * j +
EMBEDDING_SPAN)`` of that. Training scores its clips and streams on the same grid
(``with_prefix``, ``SpeechEmbedding.of``, ``best_scores``), so a detection is verified at run
time as it was when the thresholds were chosen.

The watch cannot run it (about 1.3 MB of float weights): ``firmware_sim`` and ``kws battery``
load cascades without it.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.errors import BundleError
from kws.noise_floor import add_floor

SAMPLE_RATE_HZ = 16000
MEL_HOP = 160  # openWakeWord's melspectrogram: a 512-sample window every 160 samples
MEL_WINDOW = 512
MEL_FRAMES_PER_EMBEDDING = 76
MEL_FRAMES_PER_HOP = 8
MEL_BINS = 32
EMBEDDING_HOP = MEL_HOP * MEL_FRAMES_PER_HOP  # 1280 samples: 80 ms
EMBEDDING_SPAN = MEL_HOP * (MEL_FRAMES_PER_EMBEDDING - 1) + MEL_WINDOW  # 12512 samples
EMBEDDING_DIM = 96
WINDOW_EMBEDDINGS = 16  # the head's input: 16 embeddings, 1.98 s of audio
WINDOW_SPAN = EMBEDDING_HOP * (WINDOW_EMBEDDINGS - 1) + EMBEDDING_SPAN
PREFIX_SAMPLES = EMBEDDING_HOP * (WINDOW_EMBEDDINGS - 1)  # 1.2 s of the floor before a stream
AHEAD_SAMPLES = 8192  # audio the history keeps past a detection being verified
PIECE_EMBEDDINGS = 750  # long audio is embedded a minute at a time
HEAD_ARRAYS = ("w0", "b0", "g0", "c0", "w1", "b1", "g1", "c1", "w2", "b2")
LAYER_NORM_EPSILON = 1e-3  # Keras' LayerNormalization default, which training uses


def _session(model: bytes, what: str) -> Any:
    try:
        import onnxruntime
    except ImportError as error:
        raise BundleError(
            "this bundle has a verifier, which needs onnxruntime: pip install 'kws[verifier]' "
            "(or load it without the verifier)"
        ) from error
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(
            model, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # noqa: BLE001 - any failure is the file's
        raise BundleError(f"the verifier's {what} model does not load: {error}") from error


class SpeechEmbedding:
    """openWakeWord's ONNX melspectrogram and Google's speech embedding, run with onnxruntime."""

    def __init__(self, melspectrogram_onnx: bytes, embedding_onnx: bytes) -> None:
        self._mel = _session(melspectrogram_onnx, "melspectrogram")
        self._embedding = _session(embedding_onnx, "embedding")

    def of(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
        """Every whole embedding of ``pcm`` (int16, from the grid's sample 0): [n, 96], row
        ``j`` covering samples ``EMBEDDING_HOP * j`` to ``EMBEDDING_HOP * j + EMBEDDING_SPAN``.
        Long audio is taken a piece at a time; the pieces overlap so the result is the same."""
        out = np.zeros((embedding_count(pcm.shape[0]), EMBEDDING_DIM), np.float32)
        for first, last, start, stop in embedding_pieces(pcm.shape[0]):
            out[first:last] = self._piece(pcm[start:stop])
        return out

    def _piece(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
        mel = self._mel.run(None, {"input": pcm.astype(np.float32)[None, :]})[0]
        # openWakeWord's own scaling, which brings its ONNX port near TensorFlow's original
        spec = np.squeeze(mel, axis=(1,)).reshape(-1, MEL_BINS) / 10.0 + 2.0
        starts = range(0, spec.shape[0] - MEL_FRAMES_PER_EMBEDDING + 1, MEL_FRAMES_PER_HOP)
        batch = np.stack([spec[s : s + MEL_FRAMES_PER_EMBEDDING] for s in starts])
        result = self._embedding.run(None, {"input_1": batch[..., None].astype(np.float32)})[0]
        return np.asarray(result, np.float32).reshape(-1, EMBEDDING_DIM)


def floor_prefix(noise_floor_dbfs: float | None) -> npt.NDArray[np.int16]:
    """``PREFIX_SAMPLES`` of the floor alone (silence without one): what precedes a stream."""
    return add_floor(np.zeros(PREFIX_SAMPLES, np.int16), noise_floor_dbfs)


def with_prefix(
    pcm: npt.NDArray[np.int16], noise_floor_dbfs: float | None
) -> npt.NDArray[np.int16]:
    """``pcm`` (a stream or clip, its floor already added) after ``floor_prefix``: the audio
    whose embeddings ``best_scores`` takes, as ``Verifier`` hears it."""
    return np.concatenate([floor_prefix(noise_floor_dbfs), pcm])


def embedding_count(samples: int) -> int:
    """How many whole embeddings ``samples`` of audio hold."""
    return 0 if samples < EMBEDDING_SPAN else (samples - EMBEDDING_SPAN) // EMBEDDING_HOP + 1


def embedding_pieces(samples: int) -> list[tuple[int, int, int, int]]:
    """``samples`` of audio a piece at a time (a minute): each piece's embeddings [first,
    last) and the samples [start, stop) they cover; pieces overlap so that embedding a piece
    alone gives its embeddings of the whole."""
    count = embedding_count(samples)
    pieces = []
    for first in range(0, count, PIECE_EMBEDDINGS):
        last = min(count, first + PIECE_EMBEDDINGS)
        pieces.append((first, last, first * EMBEDDING_HOP, window_end_sample(last - 1)))
    return pieces


def window_end_sample(last_embedding: int) -> int:
    """Where a window whose last embedding is ``last_embedding`` ends, in stream samples."""
    return EMBEDDING_HOP * last_embedding + EMBEDDING_SPAN


def windows_before(end_sample: int, before_s: float) -> tuple[int, int]:
    """The last embeddings (first, last inclusive) of the windows that end from ``before_s``
    before ``end_sample`` (a stream sample) to it; first > last when none does."""
    end_sample += PREFIX_SAMPLES
    earliest = end_sample - int(round(before_s * SAMPLE_RATE_HZ))
    first = math.ceil((earliest - EMBEDDING_SPAN) / EMBEDDING_HOP)
    last = (end_sample - EMBEDDING_SPAN) // EMBEDDING_HOP
    return max(first, WINDOW_EMBEDDINGS - 1), last


def windows(embeddings: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """[n, 96] embeddings as the head's windows [n - 15, 16, 96]; window ``k`` ends with
    embedding ``k + 15``."""
    if embeddings.shape[0] < WINDOW_EMBEDDINGS:
        return np.zeros((0, WINDOW_EMBEDDINGS, EMBEDDING_DIM), np.float32)
    view = np.lib.stride_tricks.sliding_window_view(embeddings, WINDOW_EMBEDDINGS, axis=0)
    return np.ascontiguousarray(view.transpose(0, 2, 1))


class VerifierHead:
    """The head: two dense layers of ``units`` with layer norm and ReLU, then one logit.
    Its weights are an ``.npz`` of ``HEAD_ARRAYS`` (float32; read without pickle): one such
    head, or ``members`` of them stacked on a leading axis, whose logits are averaged (heads
    trained from other seeds: their mean moves less from one training to the next)."""

    def __init__(self, payload: bytes) -> None:
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as arrays:
                loaded = {name: np.asarray(arrays[name], np.float32) for name in HEAD_ARRAYS}
        except Exception as error:  # noqa: BLE001 - any failure is the file's
            raise BundleError(f"the verifier's head does not load: {error}") from error
        inputs = WINDOW_EMBEDDINGS * EMBEDDING_DIM
        w0 = loaded["w0"]
        stacked = w0.ndim == 3
        self.members = w0.shape[0] if stacked else 1
        units = w0.shape[-1] if w0.ndim in (2, 3) else -1
        shapes = {
            "w0": (inputs, units),
            "b0": (units,),
            "g0": (units,),
            "c0": (units,),
            "w1": (units, units),
            "b1": (units,),
            "g1": (units,),
            "c1": (units,),
            "w2": (units, 1),
            "b2": (1,),
        }
        for name, shape in shapes.items():
            expected = (self.members, *shape) if stacked else shape
            if units < 1 or self.members < 1 or loaded[name].shape != expected:
                raise BundleError(
                    f"the verifier's head array {name} has shape {loaded[name].shape}, "
                    f"expected {expected}"
                )
        # always with the member axis
        self._arrays = loaded if stacked else {name: a[np.newaxis] for name, a in loaded.items()}

    def __call__(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        """Probabilities for windows [n, 16, 96]: the sigmoid of the members' mean logit."""
        a = self._arrays
        x = batch.reshape(batch.shape[0], -1)[np.newaxis]  # [1, n, inputs]: every member
        for layer in ("0", "1"):
            x = x @ a[f"w{layer}"] + a[f"b{layer}"][:, np.newaxis]
            mean = x.mean(axis=2, keepdims=True)
            variance = x.var(axis=2, keepdims=True)
            x = (x - mean) / np.sqrt(variance + LAYER_NORM_EPSILON)
            x = np.maximum(x * a[f"g{layer}"][:, np.newaxis] + a[f"c{layer}"][:, np.newaxis], 0.0)
        member_logits = (x @ a["w2"] + a["b2"][:, np.newaxis])[:, :, 0].astype(np.float64)
        logits: npt.NDArray[np.float64] = member_logits.mean(axis=0)
        return 1.0 / (1.0 + np.exp(-logits))


@dataclass(frozen=True)
class VerifierPolicy:
    """When a detection counts: the head's best score on the windows ending from ``before_s``
    before it to it is at least ``threshold``."""

    threshold: float
    before_s: float


def best_scores(
    head: VerifierHead,
    embeddings: npt.NDArray[np.float32],
    end_samples: list[int],
    before_s: float,
) -> npt.NDArray[np.float64]:
    """The head's best score near each detection (its end sample in the stream) from the
    embeddings of the stream ``with_prefix``: how training measures what ``Verifier`` does.
    0 where no window ends in the span."""
    out = np.zeros(len(end_samples))
    for i, end in enumerate(end_samples):
        first, last = windows_before(end, before_s)
        last = min(last, embeddings.shape[0] - 1)
        if first > last:
            continue
        span = embeddings[first - WINDOW_EMBEDDINGS + 1 : last + 1]
        out[i] = float(head(windows(span)).max())
    return out


class Verifier:
    """The last ``history_samples`` of the stream, as the cascade's frontend hears it (its
    noise floor added), after ``PREFIX_SAMPLES`` of the floor alone, and the models that verify
    a detection in them. Audio is heard at most ``AHEAD_SAMPLES`` past a detection before it is
    verified (the cascade frames at most 5,120 samples at a time)."""

    def __init__(
        self,
        embedding: SpeechEmbedding,
        head: VerifierHead,
        policy: VerifierPolicy,
        noise_floor_dbfs: float | None = None,
    ) -> None:
        self.embedding = embedding
        self.head = head
        self.policy = policy
        before = int(round(policy.before_s * SAMPLE_RATE_HZ))
        self.history_samples = WINDOW_SPAN + before + EMBEDDING_HOP + AHEAD_SAMPLES
        self._ring = np.zeros(self.history_samples, np.int16)
        self._prefix = floor_prefix(noise_floor_dbfs)
        self.reset()

    def reset(self) -> None:
        """A new stream: the history holds the floor alone."""
        self._ring[:] = 0
        self.heard_samples = -PREFIX_SAMPLES
        self.hear(self._prefix)

    def hear(self, pcm: npt.NDArray[np.int16]) -> None:
        """Keep ``pcm`` (the stream's next samples, at most ``AHEAD_SAMPLES`` before the next
        ``score``) in the history."""
        size, ring = pcm.shape[0], self._ring.shape[0]
        if size == 0:
            return
        if size >= ring:
            self._ring[:] = pcm[-ring:]
        else:
            self._ring[:-size] = self._ring[size:]
            self._ring[-size:] = pcm
        self.heard_samples += size

    def score(self, end_sample: int) -> float:
        """The head's best score on the windows ending from ``before_s`` before ``end_sample``
        (clipped to the audio heard) to it; 0 when none does."""
        end_sample = min(end_sample, self.heard_samples)
        first, last = windows_before(end_sample, self.policy.before_s)  # on the grid
        if first > last:
            return 0.0
        start = EMBEDDING_HOP * (first - WINDOW_EMBEDDINGS + 1)
        stop = window_end_sample(last)
        audio = self._audio(start, stop)
        return float(self.head(windows(self.embedding.of(audio))).max())

    def _audio(self, start: int, stop: int) -> npt.NDArray[np.int16]:
        """Samples ``[start, stop)`` of the grid (the prefix, then the stream) from the
        history; silence before it."""
        oldest = self.heard_samples + PREFIX_SAMPLES - self._ring.shape[0]
        out = np.zeros(stop - start, np.int16)
        begin = max(start, oldest, 0)
        if stop > begin:
            out[begin - start :] = self._ring[begin - oldest : stop - oldest]
        return out

    def accepts(self, end_sample: int) -> tuple[bool, float]:
        """Whether the detection ending at ``end_sample`` counts, and the head's score."""
        value = self.score(end_sample)
        return value >= self.policy.threshold, value
