"""``kws train --verifier``: a verifier (``kws.verifier``) for a bundle's cascade, trained on
the same synthetic speech as the cascade and never on real people.

1. Clips and streams in the bundle's keyword, seed and noise floor (``training.data.clips``,
   the training's recipe with its lead-in kept): the training voices for the head, the
   validation voices to choose the operating point, the test voices to report it. Workers
   embed what they make (``kws.verifier.SpeechEmbedding``) and the cascade's features of the
   held-out clips; only those come back.
2. The head: windows of 16 embeddings ending from 50 ms before to 300 ms after the keyword are
   positives; every window of the keyword-free clips and of the training stream (15% of its
   phrases confusable) negatives. Three heads from successive seeds, their logits averaged.
3. The operating point, on validation only: the cascade runs with the wake threshold lowered to
   ``VERIFIER_WAKE`` (the tiny model's gate loses people the verifier could keep: the probe in
   docs/RESULTS.md), every detect threshold of ``DETECTS``; each detection is verified as the
   runtime does. Of the (detect, verifier threshold) pairs within the false accepts per hour
   target on the stream that accept no more keyword-free clips than the bundle alone does, the
   one that misses the fewest keywords.
4. The test split: the bundle alone and with the verifier, the same figures.

The melspectrogram and embedding ONNX files come from openWakeWord 0.4.0's wheel (Google's
speech_embedding; Apache-2.0 as the package states; ``EMBEDDING_SOURCE``), checked by sha256,
and are written into the bundle. Its wake-word models (CC BY-NC-SA) are never used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.bundle import BUNDLE_FILE_NAMES, read_bundle, sha256_bytes, write_bundle
from kws.cascade import Cascade
from kws.errors import TrainingError
from kws.frontend.streaming import compute_features
from kws.loading import load_model
from kws.manifest import VERIFIER_FILE_NAMES, Bundle, thawed_json
from kws.noise_floor import add_floor
from kws.verifier import (
    EMBEDDING_DIM,
    EMBEDDING_HOP,
    EMBEDDING_SPAN,
    PREFIX_SAMPLES,
    SAMPLE_RATE_HZ,
    WINDOW_EMBEDDINGS,
    SpeechEmbedding,
    VerifierHead,
    best_scores,
    embedding_pieces,
    windows,
    with_prefix,
)
from training.data import clips
from training.data.dataset import phrase_lists, split_voices
from training.workers import worker_death_named

VERIFIER_WAKE = 0.3
DETECTS = (0.3, 0.5, 0.7, 0.85, 0.95, 0.98, 0.99, 0.995, 0.998)
VERIFIER_THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999)
BEFORE_S = 0.32
VERIFIER_STEPS = 5  # what ``add_verifier`` logs: three splits, the head, the choice
EVERY_DETECTION = -0.5  # a verifier threshold that every detection passes: the cascade alone
POSITIVE_SPAN_S = (-0.05, 0.3)  # a positive window ends this near the keyword's end
STREAM_CHUNK_S = 20.0
EMBEDDING_SOURCE = (
    "Google speech_embedding and openWakeWord's melspectrogram, ONNX files from the "
    "openwakeword 0.4.0 wheel (Apache-2.0 as the package states; its wake-word models, "
    "CC BY-NC-SA, are not used)"
)
# the files this was measured with (openwakeword 0.4.0); another build is refused
EMBEDDING_SHA256 = {
    "melspectrogram": "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
    "embedding": "ba754db3cd768a524c655ea90655ee5e6055a43b8dfd29366a11e93716ae9e51",
}
_OPENWAKEWORD_FILES = {"melspectrogram": "melspectrogram.onnx", "embedding": "embedding_model.onnx"}


@dataclass(frozen=True)
class VerifierSettings:
    """Clip counts per split (train; validation and test each), minutes of stream, the head."""

    train_positives: int = 2500
    train_negatives: int = 3500
    train_stream_min: float = 40.0
    held_positives: int = 500
    held_negatives: int = 700
    # 3 h: one hour decided too little (0 false accepts on a validation hour, 4 on the test
    # hour, for snowboy in docs/RESULTS.md); the stream is the cheap part (about a minute an hour)
    held_stream_min: float = 180.0
    epochs: int = 12
    units: int = 128
    # heads trained from seeds seed, seed + 1, ...; more than one ships their mean logit. One
    # head's draw moved the dev set's figures by 10-17 points (docs/RESULTS.md); three cost
    # about two minutes more and land near the members' average.
    heads: int = 3
    workers: int = max(1, min(2, os.cpu_count() or 1))


QUICK = VerifierSettings(100, 120, 2.0, 40, 60, 3.0, epochs=3, units=32, heads=2)


def embedding_files() -> dict[str, bytes]:
    """The melspectrogram and embedding ONNX files from the installed openwakeword 0.4.0.

    Raises:
        TrainingError: openwakeword is not installed, or its files are not the ones measured.
    """
    try:
        import openwakeword
    except ImportError as error:
        raise TrainingError(
            "the verifier's embedding comes from openwakeword 0.4.0's wheel: "
            "pip install 'kws[train]'"
        ) from error
    folder = Path(openwakeword.__file__).parent / "resources" / "models"
    files = {}
    for role, name in _OPENWAKEWORD_FILES.items():
        path = folder / name
        if not path.is_file():
            raise TrainingError(f"openwakeword has no {name} (version 0.4.0 ships it)")
        payload = path.read_bytes()
        if sha256_bytes(payload) != EMBEDDING_SHA256[role]:
            raise TrainingError(
                f"{path} is not the file kws was measured with (openwakeword 0.4.0)"
            )
        files[role] = payload
    return files


_EMBEDDING: SpeechEmbedding | None = None


def _start_worker(files: dict[str, bytes]) -> None:
    """A worker's own onnxruntime sessions (one thread each), made once as it starts."""
    global _EMBEDDING
    _EMBEDDING = SpeechEmbedding(files["melspectrogram"], files["embedding"])


def _embedding() -> SpeechEmbedding:
    assert _EMBEDDING is not None, "the worker was not started"
    return _EMBEDDING


@dataclass
class _Clip:
    embeddings: npt.NDArray[np.float16]  # of the clip with_prefix
    end_sample: int  # the keyword's end in the clip, -1 for none
    frames: npt.NDArray[np.uint16] | None  # the cascade's features, held-out splits only


def _make_clip(job: clips.ClipJob) -> _Clip:
    pcm, end, _, _ = clips.clip_audio(job)
    embeddings = _embedding().of(with_prefix(pcm, job.plan.noise_floor_dbfs))
    frames = compute_features(pcm) if job.split != "train" else None
    return _Clip(embeddings.astype(np.float16), end, frames)


def _embed(audio: npt.NDArray[np.int16]) -> npt.NDArray[np.float16]:
    return _embedding().of(audio).astype(np.float16)


@dataclass
class _Split:
    """One split's clips and stream, embedded (and, held out, the cascade's features)."""

    positives: list[_Clip]
    negatives: list[_Clip]
    stream_embeddings: npt.NDArray[np.float16]
    stream_frames: npt.NDArray[np.uint16] | None
    stream_hours: float


def _make_split(
    pool: ProcessPoolExecutor,
    plan: clips.SpeechPlan,
    split: str,
    counts: tuple[int, int],
    stream_min: float,
) -> _Split:
    made = {
        kind: list(
            pool.map(
                _make_clip,
                [clips.ClipJob(plan, split, kind, i, False) for i in range(count)],
                chunksize=8,
            )
        )
        for kind, count in zip(("pos", "neg"), counts, strict=True)
    }
    chunks = int(np.ceil(stream_min * 60 / STREAM_CHUNK_S))
    jobs = [clips.StreamJob(plan, split, i, STREAM_CHUNK_S) for i in range(chunks)]
    stream = add_floor(
        np.concatenate(list(pool.map(clips.make_stream_chunk, jobs))), plan.noise_floor_dbfs
    )
    audio = with_prefix(stream, plan.noise_floor_dbfs)
    # the stream's pieces as SpeechEmbedding.of takes them, spread over the workers
    pieces = [audio[start:stop] for _, _, start, stop in embedding_pieces(audio.shape[0])]
    embeddings = np.concatenate(list(pool.map(_embed, pieces)))
    frames = compute_features(stream) if split != "train" else None
    return _Split(made["pos"], made["neg"], embeddings, frames, stream.size / SAMPLE_RATE_HZ / 3600)


def _window_ends(count: int) -> npt.NDArray[np.int64]:
    """Where the windows of ``count`` embeddings end, in samples of the audio after the prefix."""
    last = np.arange(WINDOW_EMBEDDINGS - 1, count, dtype=np.int64)
    return EMBEDDING_HOP * last + EMBEDDING_SPAN - PREFIX_SAMPLES


def train_head(
    data: _Split, settings: VerifierSettings, seed: int
) -> dict[str, npt.NDArray[np.float32]]:
    """The head (``kws.verifier.VerifierHead``'s arrays) trained on the training split: one
    head, or ``settings.heads`` of them from successive seeds, stacked."""
    x, y, weight = _head_data(data)
    members = [_train_one_head(x, y, weight, settings, seed + i) for i in range(settings.heads)]
    if settings.heads == 1:
        return members[0]
    return {name: np.stack([m[name] for m in members]) for name in members[0]}


def _head_data(data: _Split) -> tuple[Any, Any, Any]:
    """Windows, labels and weights: keyword windows half the weight, keyword-free clips and
    the stream a quarter each."""
    low, high = (int(s * SAMPLE_RATE_HZ) for s in POSITIVE_SPAN_S)
    positives = []
    for clip in data.positives:
        w = windows(clip.embeddings.astype(np.float32))
        ends = _window_ends(clip.embeddings.shape[0])
        positives.append(w[(ends >= clip.end_sample + low) & (ends <= clip.end_sample + high)])
    pos = np.concatenate(positives)
    neg = np.concatenate([windows(c.embeddings.astype(np.float32)) for c in data.negatives])
    stream = windows(data.stream_embeddings.astype(np.float32))
    x = np.concatenate([pos, neg, stream])
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(stream))]).astype(np.float32)
    weight = np.concatenate(
        [
            np.full(len(pos), 0.5 * len(x) / max(1, len(pos))),
            np.full(len(neg), 0.25 * len(x) / max(1, len(neg))),
            np.full(len(stream), 0.25 * len(x) / max(1, len(stream))),
        ]
    ).astype(np.float32)
    return x, y, weight


def _train_one_head(
    x: Any, y: Any, weight: Any, settings: VerifierSettings, seed: int
) -> dict[str, npt.NDArray[np.float32]]:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf
    import tf_keras as keras

    tf.random.set_seed(seed)
    keras.utils.set_random_seed(seed)
    model = head_model(settings.units)
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit(x, y, sample_weight=weight, batch_size=512, epochs=settings.epochs, verbose=0)
    return head_arrays(model)


def head_model(units: int) -> Any:
    """The head as a Keras model (logits out), what ``kws.verifier.VerifierHead`` computes."""
    import tf_keras as keras

    layers = keras.layers
    return keras.Sequential(
        [
            layers.Input((WINDOW_EMBEDDINGS, EMBEDDING_DIM)),
            layers.Flatten(),
            layers.Dense(units),
            layers.LayerNormalization(),
            layers.ReLU(),
            layers.Dropout(0.3),
            layers.Dense(units),
            layers.LayerNormalization(),
            layers.ReLU(),
            layers.Dense(1),
        ]
    )


def head_arrays(model: Any) -> dict[str, npt.NDArray[np.float32]]:
    """The Keras head's weights as ``VerifierHead``'s arrays (``HEAD_ARRAYS``)."""
    import tf_keras as keras

    layers = keras.layers
    dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
    norms = [layer for layer in model.layers if isinstance(layer, layers.LayerNormalization)]
    arrays: dict[str, npt.NDArray[np.float32]] = {}
    for i in range(3):
        arrays[f"w{i}"], arrays[f"b{i}"] = dense[i].get_weights()
    for i in range(2):
        arrays[f"g{i}"], arrays[f"c{i}"] = norms[i].get_weights()
    return {name: value.astype(np.float32) for name, value in arrays.items()}


def head_bytes(arrays: dict[str, npt.NDArray[np.float32]]) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


class _Scorer:
    """Detection times of the bundle's cascade at a (wake, detect), and the verifier's scores
    of them, on one split; the models remember their scores across thresholds."""

    def __init__(self, bundle: Bundle, head: VerifierHead) -> None:
        from training import evaluate

        folder = bundle.folder
        assert folder is not None
        self.bundle, self.head = bundle, head
        memories: dict[str, dict[bytes, float]] = {"tiny": {}, "full": {}}
        self.models = {
            role: evaluate.Remembered(
                load_model(folder, bundle.models[role], bundle.feature_scale), memories[role]
            )
            for role in ("tiny", "full")
            if role in bundle.models
        }

    def cascade(self, wake: float, detect: float) -> Cascade:
        thresholds = replace(self.bundle.thresholds, wake=wake, detect=detect)
        return Cascade(
            self.bundle.keyword, self.models["full"], thresholds, tiny=self.models.get("tiny")
        )

    def end_samples(
        self, cascade: Cascade, frames: npt.NDArray[np.uint16], after_s: float
    ) -> list[int]:
        """Where the cascade's detections after ``after_s`` end, in samples (as the runtime
        asks its verifier)."""
        cascade.reset()
        found = cascade.process_features(frames)
        return [int(round(d.time_s * SAMPLE_RATE_HZ)) for d in found if d.time_s > after_s]

    def best(self, clips_of: list[_Clip], wake: float, detect: float) -> npt.NDArray[np.float64]:
        """Each clip's best verified score (-1: the cascade did not fire after the lead-in)."""
        cascade = self.cascade(wake, detect)
        out = np.full(len(clips_of), -1.0)
        for i, clip in enumerate(clips_of):
            assert clip.frames is not None
            ends = self.end_samples(cascade, clip.frames, clips.LEAD_IN_S)
            if ends:
                out[i] = best_scores(
                    self.head, clip.embeddings.astype(np.float32), ends, BEFORE_S
                ).max()
        return out

    def stream(self, split: _Split, wake: float, detect: float) -> npt.NDArray[np.float64]:
        """The verifier's score of each detection on the stream."""
        assert split.stream_frames is not None
        ends = self.end_samples(self.cascade(wake, detect), split.stream_frames, 0.0)
        return best_scores(self.head, split.stream_embeddings.astype(np.float32), ends, BEFORE_S)


def _figures(pos: Any, neg: Any, stream: Any, hours: float, v: float) -> dict[str, float]:
    return {
        "frr": round(float(np.mean(pos < v)), 4),
        "negatives_accepted": round(float(np.mean(neg >= v)), 4),
        "fa_per_hour": round(float(np.sum(stream >= v)) / hours, 3),
    }


def _scores(scorer: _Scorer, split: _Split, wake: float, detect: float) -> tuple[Any, Any, Any]:
    """The verifier's best score per keyword clip and per keyword-free clip, and per detection
    on the stream, with the cascade at (wake, detect)."""
    return (
        scorer.best(split.positives, wake, detect),
        scorer.best(split.negatives, wake, detect),
        scorer.stream(split, wake, detect),
    )


def _measure(
    scorer: _Scorer, split: _Split, wake: float, detect: float, v: float
) -> dict[str, float]:
    return _figures(*_scores(scorer, split, wake, detect), split.stream_hours, v)


def choose(scorer: _Scorer, val: _Split, target_fa_per_hour: float) -> dict[str, Any]:
    """The operating point on validation (see the module docstring)."""
    own = scorer.bundle.thresholds
    alone = _measure(scorer, val, own.wake, own.detect, EVERY_DETECTION)
    wake = min(own.wake, VERIFIER_WAKE)
    best: tuple[Any, ...] | None = None
    grid = []
    for detect in DETECTS:
        scores = _scores(scorer, val, wake, detect)
        for v in VERIFIER_THRESHOLDS:
            figures = _figures(*scores, val.stream_hours, v)
            grid.append({"detect": detect, "verifier": v, **figures})
            within = (
                figures["fa_per_hour"] <= target_fa_per_hour
                and figures["negatives_accepted"] <= alone["negatives_accepted"]
            )
            key = (figures["frr"], -v, -detect)
            if within and (best is None or key < best[0]):
                best = (key, detect, v, figures)
    if best is None:
        raise TrainingError(
            "no verifier threshold keeps the validation stream within "
            f"{target_fa_per_hour:g} false accepts per hour"
        )
    _, detect, v, figures = best
    return {
        "wake": wake,
        "detect": detect,
        "verifier_threshold": v,
        "validation": figures,
        "validation_alone": alone,
        "grid": grid,
    }


def make_data(
    bundle: Bundle,
    settings: VerifierSettings,
    seed: int,
    files: dict[str, bytes],
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, _Split]:
    """The verifier's clips and streams of each split for ``bundle``'s keyword, in the
    embeddings ``files`` make (``embedding_files``), as many as ``settings`` says."""
    started = time.monotonic()
    voices = split_voices(seed)
    pronunciations, confusables, _ = phrase_lists(bundle.keyword, seed)
    data: dict[str, _Split] = {}
    with ProcessPoolExecutor(
        settings.workers, initializer=_start_worker, initargs=(files,)
    ) as pool:
        for split in clips.SPLITS:
            plan = clips.SpeechPlan(
                bundle.keyword,
                tuple(voices[split]),
                pronunciations,
                confusables,
                seed,
                (),
                bundle.noise_floor_dbfs,
            )
            train = split == "train"
            counts = (
                (settings.train_positives, settings.train_negatives)
                if train
                else (settings.held_positives, settings.held_negatives)
            )
            minutes = settings.train_stream_min if train else settings.held_stream_min
            with worker_death_named(f"the verifier's {split} split", seed):
                data[split] = _make_split(pool, plan, split, counts, minutes)
            log(f"verifier data: {split} ({time.monotonic() - started:.0f} s)")
    return data


def operating_point(
    bundle: Bundle,
    arrays: dict[str, npt.NDArray[np.float32]],
    data: dict[str, _Split],
    target_fa_per_hour: float,
) -> tuple[dict[str, Any], dict[str, float], dict[str, float]]:
    """The head of ``arrays`` behind ``bundle``'s cascade: the operating point ``choose`` takes
    on validation, and the test split's figures without the verifier (at the bundle's own
    thresholds) and with it (at that point)."""
    scorer = _Scorer(bundle, VerifierHead(head_bytes(arrays)))
    chosen = choose(scorer, data["val"], target_fa_per_hour)
    own = bundle.thresholds
    test = data["test"]
    test_alone = _measure(scorer, test, own.wake, own.detect, EVERY_DETECTION)
    test_with = _measure(
        scorer, test, chosen["wake"], chosen["detect"], chosen["verifier_threshold"]
    )
    return chosen, test_alone, test_with


def add_verifier(
    bundle_dir: Path,
    out_dir: Path,
    quick: bool = False,
    seed: int | None = None,
    target_fa_per_hour: float = 0.5,
    log: Callable[[str], None] = lambda _: None,
    real_speech_dir: Path | None = None,
    settings: VerifierSettings | None = None,
) -> Path:
    """Train a verifier for the bundle in ``bundle_dir`` and write the bundle with it to
    ``out_dir`` (a new folder, an empty one or a kws bundle: ``write_bundle``'s rules).
    ``real_speech_dir``: recordings of people (``kws train --real-speech``), on which the
    finished bundle is measured for its report and card; nothing is chosen by them.
    ``settings``: the clip counts and head (default ``QUICK`` with ``quick``, else
    ``VerifierSettings()``).

    Raises:
        TrainingError: openwakeword missing, or no operating point within the target.
        BundleError: the bundle does not load, or ``out_dir`` is not a bundle's to replace.
    """
    from kws.bundle import check_bundle_destination

    started = time.monotonic()
    check_bundle_destination(out_dir)
    bundle = _without_verifier(read_bundle(bundle_dir), bundle_dir)
    if "tiny" not in bundle.models:
        raise TrainingError(f"{bundle_dir} has no tiny model: the verifier follows a cascade")
    training = thawed_json(bundle.training) if bundle.training else {}
    if seed is None:
        seed = int(training.get("seed", 0)) if isinstance(training.get("seed", 0), int) else 0
    if settings is None:
        settings = QUICK if quick else VerifierSettings()
    files = embedding_files()
    data = make_data(bundle, settings, seed, files, log)
    data_s = time.monotonic() - started
    arrays = train_head(data["train"], settings, seed)
    log(f"verifier head trained ({time.monotonic() - started:.0f} s)")
    chosen, test_alone, test_with = operating_point(bundle, arrays, data, target_fa_per_hour)
    log(f"verifier chosen and measured ({time.monotonic() - started:.0f} s)")
    log_entry = {
        "seed": seed,
        "quick": quick,
        "settings": settings.__dict__,
        "data_minutes": round(data_s / 60, 1),
        "minutes": round((time.monotonic() - started) / 60, 1),
        # every (detect, verifier threshold) on validation: why the rule chose what it did
        "validation_grid": chosen["grid"],
    }
    written = _write(
        bundle, bundle_dir, out_dir, arrays, files, chosen, test_alone, test_with, log_entry
    )
    if real_speech_dir is None:
        return written
    from kws.loading import load_cascade
    from training.realspeech import real_speech_figures

    figures = real_speech_figures(load_cascade(written), bundle.keyword, real_speech_dir)
    return _write(
        bundle,
        bundle_dir,
        out_dir,
        arrays,
        files,
        chosen | {"real_speech": figures},
        test_alone,
        test_with,
        log_entry,
    )


def _without_verifier(bundle: Bundle, bundle_dir: Path) -> Bundle:
    """The bundle as its cascade was before a verifier was added: a new verifier replaces an
    old one from the thresholds the cascade had alone (``Bundle.thresholds_without_verifier``),
    not from those chosen for the old verifier.

    Raises:
        TrainingError: a verifier bundle whose report does not say them.
    """
    thresholds = bundle.thresholds_without_verifier()
    if thresholds is None:
        raise TrainingError(
            f"{bundle_dir} has a verifier and its report does not say the thresholds the "
            "cascade had without it: add the verifier to the bundle it was made from"
        )
    return replace(bundle, thresholds=thresholds, verifier=None)


def _write(
    bundle: Bundle,
    bundle_dir: Path,
    out_dir: Path,
    arrays: dict[str, npt.NDArray[np.float32]],
    files: dict[str, bytes],
    chosen: dict[str, Any],
    test_alone: dict[str, float],
    test_with: dict[str, float],
    log_entry: dict[str, Any],
) -> Path:
    from training.card import render_card

    manifest = bundle.to_dict()
    manifest["thresholds"]["wake"] = chosen["wake"]
    manifest["thresholds"]["detect"] = chosen["detect"]
    names = VERIFIER_FILE_NAMES
    manifest["verifier"] = {
        "melspectrogram": {"file": names["melspectrogram"]},
        "embedding": {"file": names["embedding"]},
        "head": {"file": names["head"]},
        "threshold": chosen["verifier_threshold"],
        "before_s": BEFORE_S,
        "source": EMBEDDING_SOURCE,
    }
    manifest.pop("schema_version", None)
    report = bundle.report_dict() or {}
    report.pop("schema_version", None)
    report.pop("keyword", None)
    evaluation = report.setdefault("evaluation", {})
    evaluation["verifier"] = {
        "thresholds_before": {"wake": bundle.thresholds.wake, "detect": bundle.thresholds.detect},
        "chosen_on": "validation voices: clips and stream (synthetic)",
        **{k: v for k, v in chosen.items() if k != "grid"},
        "test_alone": test_alone,
        "test_with_verifier": test_with,
        "test_is": "test voices: clips (keyword and keyword-free) and stream (synthetic)",
    }
    report.setdefault("training", {})["verifier"] = log_entry
    payloads = {names[role]: files[role] for role in ("melspectrogram", "embedding")}
    payloads[names["head"]] = head_bytes(arrays)
    for spec in bundle.models.values():
        payloads[spec.file] = (bundle_dir / spec.file).read_bytes()
    for name in ("det.csv", "det.png"):
        if (bundle_dir / name).is_file():
            payloads[name] = (bundle_dir / name).read_bytes()
    payloads["CARD.md"] = render_card(manifest, report).encode()
    assert set(payloads) <= BUNDLE_FILE_NAMES
    return write_bundle(out_dir, manifest, payloads, report)
