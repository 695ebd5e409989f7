"""openWakeWord 0.4.0's own models on a training's held-out audio, beside kws's and microWakeWord's.

openWakeWord runs its own frontend (an ONNX melspectrogram and Google's speech embedding), so it
is scored on the test split's audio (kept for peers: ``Split.stream_pcm``, ``ClipSet.pcm``), not
on kws features. Its models are CC BY-NC-SA 4.0: measured here, never shipped or trained from.

Scored in batch, one clip or one piece of the stream at a time: the melspectrogram and the
embeddings of the whole piece, then the wake-word model on every window of 16 embeddings, which
gives a score every 80 ms, as its streaming ``predict`` does (close to it, not identical: the
streaming melspectrogram is computed chunk by chunk). Each keyword clip is heard after one
second of its own room tone (as ``kws bench realspeech`` plays recordings) and only the scores
after it count.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from kws.frontend.config import HOP_S, SAMPLE_RATE_HZ
from training.realspeech import LEAD_IN_S, room_tone_lead_in

if TYPE_CHECKING:  # `kws bench realspeech` imports this module: no dataset code (scipy) at start
    from training.data import ClipSet, Split

OPENWAKEWORD_THRESHOLD = 0.5  # its README's default
OPENWAKEWORD_FRAME_SAMPLES = 1280  # 80 ms: one score per this many samples
OPENWAKEWORD_FRAME_HOPS = round(OPENWAKEWORD_FRAME_SAMPLES / SAMPLE_RATE_HZ / HOP_S)  # 8
_EMBEDDINGS_PER_WINDOW = 16  # what its wake-word models take
_MEL_FRAMES_PER_EMBEDDING = 76
_MEL_HOP_SAMPLES = 160  # its melspectrogram: a frame every 10 ms
_PIECE_S = 60.0  # the stream is embedded a minute at a time, with the context before it
# Its embedding model costs about 2 CPU s per minute of audio here (ten times kws's cascade):
# the first hour of the test stream gives its false accepts per hour, all clips its misses.
STREAM_HOURS = 1.0


def openwakeword_model(keyword: str) -> str | None:
    """The path of openWakeWord's own model for ``keyword``, or None (not installed, or no model
    for that phrase)."""
    try:
        import openwakeword
    except ImportError:
        return None
    entry = openwakeword.models.get(keyword.replace(" ", "_"))
    return None if entry is None else str(entry["model_path"])


class OpenWakeWordScorer:
    """openWakeWord's score every 80 ms over a whole piece of audio."""

    def __init__(self, model_path: str) -> None:
        import onnxruntime
        from openwakeword.utils import AudioFeatures

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._features = AudioFeatures(ncpu=1)
        self._model = onnxruntime.InferenceSession(model_path, sess_options=options)
        self._input = self._model.get_inputs()[0].name
        self.name = Path(model_path).stem

    def scores(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
        """One score for each 80 ms of ``pcm`` after the first 16 embeddings' worth (about
        2 s): score ``i`` is heard at the end of embedding ``i + 15``."""
        if pcm.size < (_MEL_FRAMES_PER_EMBEDDING + 8 * _EMBEDDINGS_PER_WINDOW) * _MEL_HOP_SAMPLES:
            return np.zeros(0, np.float64)
        embeddings = self._features._get_embeddings(pcm)
        windows = np.lib.stride_tricks.sliding_window_view(
            embeddings, _EMBEDDINGS_PER_WINDOW, axis=0
        ).transpose(0, 2, 1)
        run, name = self._model.run, self._input
        batches = windows.astype(np.float32)[:, None]  # its models take one window at a time
        return np.array([float(run(None, {name: b})[0][0, 0]) for b in batches], np.float64)

    def clip_best(self, pcm: npt.NDArray[np.int16]) -> float:
        """The best score after a second of the clip's own room tone."""
        tone = np.round(room_tone_lead_in(pcm) * 32768.0).astype(np.int16)  # exact: from int16
        heard = np.concatenate([tone, pcm])
        scores = self.scores(heard)
        first = self._first_after(LEAD_IN_S, heard.size, scores.size)
        return float(scores[first:].max(initial=0.0))

    def stream(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
        """Scores over a long stream, a minute at a time; the first ~2 s, before its first
        full window, score 0 (as its streaming model, which starts from blank buffers)."""
        frame = OPENWAKEWORD_FRAME_SAMPLES
        piece = int(_PIECE_S * SAMPLE_RATE_HZ) // frame * frame
        context = 3 * SAMPLE_RATE_HZ  # longer than one window of embeddings
        out: list[npt.NDArray[np.float64]] = []
        for start in range(0, pcm.size, piece):
            begin = max(0, start - context)
            scores = self.scores(pcm[begin : start + piece])
            # keep the scores heard inside this piece: one per 80 ms from its start
            wanted = min(piece, pcm.size - start) // frame
            have = scores[-wanted:] if scores.size >= wanted else scores
            out.append(np.concatenate([np.zeros(wanted - have.size), have]))
        return np.concatenate(out) if out else np.zeros(0, np.float64)

    @staticmethod
    def _first_after(seconds: float, samples: int, count: int) -> int:
        """The index of the first score heard after ``seconds`` of ``samples`` that gave
        ``count`` scores (the last score is heard at the end)."""
        frames = samples // OPENWAKEWORD_FRAME_SAMPLES
        after = int(np.ceil(seconds * SAMPLE_RATE_HZ / OPENWAKEWORD_FRAME_SAMPLES))
        return max(0, after - (frames - count))


def openwakeword_figures(keyword: str, test: Split, target: float) -> dict[str, Any]:
    """openWakeWord's own model for ``keyword`` on the test split's audio: FRR and false
    accepts per hour at its threshold, and its DET point at ``target``."""
    # here, not at the top: it brings TensorFlow, and `kws bench realspeech` imports this module
    from training import evaluate

    path = openwakeword_model(keyword)
    if path is None:
        return {"available": False}
    if test.stream_pcm is None or test.positives.pcm is None:
        return {"available": False, "reason": "the test split kept no audio"}
    scorer = OpenWakeWordScorer(path)

    def best(clips: ClipSet | None) -> npt.NDArray[np.float64] | None:
        if clips is None or clips.pcm is None:
            return None
        return np.array([scorer.clip_best(pcm) for pcm in clips.pcm], dtype=np.float64)

    positive_max = best(test.positives)
    assert positive_max is not None
    hours = min(STREAM_HOURS, test.stream_hours)
    stream = test.stream_pcm[: int(hours * 3600 * SAMPLE_RATE_HZ)]
    scores = evaluate.Scores(
        positive_max,
        scorer.stream(stream),
        stream.size / SAMPLE_RATE_HZ / 3600,
        OPENWAKEWORD_FRAME_HOPS,
        best(test.negatives),
    )
    return {
        "available": True,
        "model": f"openWakeWord 0.4.0 {scorer.name}",
        "licence": "CC BY-NC-SA 4.0 (measured only)",
        "stream_hours": round(stream.size / SAMPLE_RATE_HZ / 3600, 3),
        "scoring": "batch over each clip and each minute of stream (close to, not identical "
        "with, its streaming predict)",
        "test": evaluate.summarize(scores, target),
        "at_its_threshold": {
            "threshold": OPENWAKEWORD_THRESHOLD,
            "frr": round(scores.frr(OPENWAKEWORD_THRESHOLD), 4),
            "fa_per_hour": round(scores.fa_per_hour(OPENWAKEWORD_THRESHOLD), 3),
            "negative_clips_accepted": round(
                scores.negatives_accepted(OPENWAKEWORD_THRESHOLD) or 0.0, 4
            ),
        },
    }
