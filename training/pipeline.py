"""``kws train``: from a phrase to a bundle of QAT INT8 tiny + full models with measured figures.

Steps: synthesize and cache the dataset; train each model in float, mine hard negatives from
keyword-free audio and retrain, fine-tune with quantization-aware training; export QAT and
post-training-quantized (PTQ) int8 models; choose thresholds on the validation split; measure
everything on the held-out test split (voices never used in training); write the bundle
atomically.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from kws import metrics
from kws.bundle import (
    check_bundle_destination,
    check_writable_folder,
    sha256_bytes,
    write_bundle,
)
from kws.cascade import Cascade, Detector
from kws.errors import BundleError, TrainingError
from kws.frontend import FEATURE_SCALE, FrontendConfig
from kws.frontend.config import SAMPLE_RATE_HZ
from kws.manifest import SCHEMA_VERSION, ModelSpec
from kws.model import TfliteModel
from kws.noise_floor import DEFAULT_DBFS as DEFAULT_FLOOR_DBFS
from kws.noise_floor import NoiseFloor
from kws.thresholds import Thresholds
from training import evaluate, selection
from training.card import render_card
from training.data import DataRecipe, Dataset, Split, build_dataset, festvox, kokoro, neural
from training.data.cache import load_cache
from training.data.clips import NEGATIVE_CLIPS_ARE
from training.export import (
    SCORE_LOGIT_RANGE,
    arena_estimate_bytes,
    convert_int8,
    describe,
    set_score_range,
)
from training.fit import (
    EpochSnapshots,
    FitSettings,
    dead,
    fit,
    float_copy_of_qat,
    make_windows,
    mine_hard_negatives,
    quantization_aware,
    to_input,
)
from training.models import (
    FullSpec,
    TinySpec,
    build_full,
    build_tiny,
    build_tiny_streaming,
    count_macs,
    keras,
)
from training.peers import openwakeword_figures
from training.workers import Job, run_side_by_side

MAX_KEYWORD_CHARS = 40
DETECT_SMOOTHING = 3  # full-model scores averaged for a detection (a one-stride spike is not)
COMPARISON_FA_PER_HOUR = (0.5, 1.0, 2.0, 5.0)
MAX_RESTARTS = 2  # new initialisations for a model that float training left dead
WAKE_KEEPS_ON_VALIDATION = 0.995  # of the full model's detections, before the margin step
CASCADE_DET_FA_PER_HOUR = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0)
MICROWAKEWORD_KEYWORDS = {
    "alexa": "alexa",
    "hey jarvis": "hey_jarvis",
    "hey mycroft": "hey_mycroft",
    "okay nabu": "okay_nabu",
}


@dataclass(frozen=True)
class TrainOptions:
    keyword: str
    out_dir: Path
    quick: bool = False
    seed: int = 0
    target_fa_per_hour: float = 0.5
    cache_dir: Path = Path(".cache/kws")
    recordings_dir: Path | None = None
    negatives_dir: Path | None = None
    speech_commands_dir: Path | None = None
    # Piper voice models (.onnx) to speak part of the training split; none by default: one
    # voice at 0.3 of the data did not help real people and cost minutes (docs/RESULTS.md)
    neural_voices: tuple[Path, ...] = ()
    # speakers made from Kokoro-82M's styles to say 30% of the training clips (0: none)
    kokoro_speakers: int = 0
    # share of the training clips in a loud scene, a crowd or music at -8 to 5 dB SNR (0: none;
    # docs/RESULTS.md: more keywords found under babble and music, more missed at 10-20 dB)
    loud_share: float = 0.0
    # real recordings, one folder per phrase, measured once the bundle is made (measurement only)
    real_speech_dir: Path | None = None
    # pink noise under every clip and stream, recorded in the bundle so the runtime adds it too
    # (kws.noise_floor; None: none)
    noise_floor_dbfs: float | None = DEFAULT_FLOOR_DBFS
    # a verifier on a speech embedding after the cascade (training.verifier), for devices
    # that run Python; its data and head add 15-25 minutes
    verifier: bool = False
    # how the full model is chosen among its candidates: "validation" or "voices"
    # (training.selection: Flite's and Festival's voices; validation where they are missing)
    choose_full: str = "validation"
    # full models trained from new initialisations, each with its QAT epochs as candidates
    # (None: selection.QUICK_FULL_STARTS with quick, else selection.FULL_STARTS)
    full_starts: int | None = None


def data_recipe(options: TrainOptions, keyword: str) -> DataRecipe:
    """The dataset recipe ``train`` builds for ``options`` (``keyword`` already checked)."""
    return DataRecipe(
        keyword=keyword,
        seed=options.seed,
        quick=options.quick,
        recordings_dir=options.recordings_dir,
        negatives_dir=options.negatives_dir,
        speech_commands_dir=options.speech_commands_dir,
        neural_voices=_neural_voices(options),
        noise_floor_dbfs=options.noise_floor_dbfs,
        loud_share=options.loud_share,
    )


def _neural_voices(options: TrainOptions) -> tuple[str, ...]:
    piper = tuple(neural.voice_id(path) for path in options.neural_voices)
    return piper + kokoro.speakers(options.kokoro_speakers)


def check_keyword(keyword: str) -> str:
    """Normalise a keyword phrase, or raise ``TrainingError`` saying what is wrong with it."""
    phrase = " ".join(keyword.strip().lower().split())
    if not phrase:
        raise TrainingError("the keyword is empty; give a phrase such as --keyword 'hey nova'")
    if len(phrase) > MAX_KEYWORD_CHARS:
        raise TrainingError(f"the keyword is {len(phrase)} characters; at most {MAX_KEYWORD_CHARS}")
    if not re.fullmatch(r"[a-z][a-z' -]*", phrase):
        raise TrainingError(f"the keyword {keyword!r} must be English letters, spaces, ' or -")
    from kws.synth import synthesize

    if synthesize(phrase).size < 0.15 * SAMPLE_RATE_HZ:
        raise TrainingError(f"the keyword {keyword!r} is too short to speak (under 0.15 s)")
    return phrase


def full_starts(options: TrainOptions) -> int:
    """How many full models ``options`` trains from new initialisations."""
    if options.full_starts is not None:
        return options.full_starts
    return selection.QUICK_FULL_STARTS if options.quick else selection.FULL_STARTS


def _fit_settings(options: TrainOptions) -> FitSettings:
    settings = FitSettings(seed=options.seed, full_starts=full_starts(options))
    if options.quick:
        return replace(settings, epochs=6, qat_epochs=1, stream_windows=1500, mined_per_round=300)
    return settings


def _train_one(
    build: Callable[[], keras.Model],
    window: int,
    dataset: Dataset,
    settings: FitSettings,
    tick: Callable[[], None],
) -> tuple[keras.Model, keras.Model, list[list[Any]], dict[str, Any]]:
    """Float training + hard-negative mining + QAT; returns the float model, the QAT model, its
    weights after each QAT epoch, and a log.

    A model that float training left dead (no unit of some layer ever on: one score for every
    window; one of two full-model starts of a snowboy training did so, docs/RESULTS.md) is
    trained again from a new initialisation, up to ``MAX_RESTARTS`` times."""
    rng = np.random.default_rng(settings.seed)
    x, y = make_windows(dataset.train, window, settings, rng)
    val = make_windows(dataset.val, window, settings, rng)
    callbacks = [_ProgressCallback(tick)]
    model, restarts = build(), 0
    fit(model, x, y, val, settings.epochs, settings, settings.learning_rate, callbacks)
    while dead(model, val[0]) and restarts < MAX_RESTARTS:
        model, restarts = build(), restarts + 1
        fit(model, x, y, val, settings.epochs, settings, settings.learning_rate, callbacks)
    mined_total = 0
    for _ in range(settings.mining_rounds):
        mined = mine_hard_negatives(
            model, dataset.train.stream_features, window, settings.mined_per_round
        )
        mined_total += len(mined)
        if len(mined):
            x = np.concatenate([x, mined])
            y = np.concatenate([y, np.zeros(len(mined), np.float32)])
        fit(
            model,
            x,
            y,
            val,
            _mining_epochs(settings),
            settings,
            settings.learning_rate / 3,
            callbacks,
            settings.negative_weight_after_mining,
        )
    qat = quantization_aware(model)
    snapshots = EpochSnapshots()
    fit(
        qat,
        x,
        y,
        val,
        settings.qat_epochs,
        settings,
        settings.learning_rate / 10,
        [snapshots, *callbacks],
        settings.negative_weight_after_mining if settings.mining_rounds else 1.0,
        keep_best=False,
    )
    log = {
        "restarts": restarts,
        "train_windows": int(len(y)),
        "positive_windows": int(y.sum()),
        "hard_negatives": mined_total,
    }
    return model, qat, snapshots.weights, log


def _mining_epochs(settings: FitSettings) -> int:
    return max(2, settings.epochs // 3)


class _ProgressCallback(keras.callbacks.Callback):  # type: ignore[misc]
    def __init__(self, tick: Callable[[], None]) -> None:
        super().__init__()
        self.tick = tick

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.tick()


def _full_representative(dataset: Dataset, window: int, seed: int) -> Any:
    x, _ = make_windows(
        dataset.train, window, FitSettings(stream_windows=200), np.random.default_rng(seed)
    )
    picks = np.random.default_rng(seed).choice(len(x), size=min(300, len(x)), replace=False)
    samples = to_input(x[picks])

    def generate() -> Any:
        for sample in samples:
            yield {"features": sample[None]}

    return generate


def _tiny_representative(streaming: keras.Model, spec: TinySpec, dataset: Dataset) -> Any:
    """Inputs the streaming model really sees: run it over positives and stream audio."""
    import tensorflow as tf

    # one graph for every step (called eagerly, each step cost about 13 ms here, 12 s a model)
    run = tf.function(lambda inputs: streaming(inputs, training=False), autograph=False)
    sequences = [*dataset.train.positives.features[:6], dataset.train.stream_features[:1500]]
    records = []
    for features in sequences:
        states = [np.zeros([int(d) for d in t.shape], np.float32) for t in streaming.inputs[1:]]
        for end in range(spec.stride_frames, features.shape[0] + 1, spec.stride_frames):
            chunk = to_input(features[None, end - spec.stride_frames : end])
            record = {"features": chunk}
            record.update({f"state_{i}": s for i, s in enumerate(states)})
            records.append(record)
            outputs = run([tf.constant(chunk), *(tf.constant(s) for s in states)])
            states = [o.numpy() for o in outputs[1:]]
    picks = np.random.default_rng(0).choice(
        len(records), size=min(400, len(records)), replace=False
    )

    def generate() -> Any:
        for index in picks:
            yield records[int(index)]

    return generate


def model_entry(
    role: str,
    content: bytes,
    spec: Any,
    keras_model: keras.Model,
    streaming: bool,
    architecture: str,
) -> dict[str, Any]:
    io = describe(content)
    macs = count_macs(keras_model)
    steps_per_second = 100.0 / spec.stride_frames
    return {
        "file": f"{role}.tflite",
        "architecture": architecture,
        "streaming": streaming,
        "stride_frames": spec.stride_frames,
        "window_frames": spec.stride_frames if streaming else spec.window_frames,
        "receptive_field_frames": spec.window_frames,
        **io,
        "score_activation": "sigmoid",  # the models output a logit (training/models.py)
        "macs_per_inference": macs,
        "macs_per_second": int(round(macs * steps_per_second)),
        "params": int(keras_model.count_params()),
        "arena_bytes": arena_estimate_bytes(content),
        # of the final bytes (score range set), so the entry is a bundle's as it is
        "sha256": sha256_bytes(content),
        "bytes": len(content),
    }


def _model_for(
    content: bytes, entry: dict[str, Any], reference_kernels: bool = True
) -> TfliteModel:
    """The exported model ``content`` as the runtime runs it, its entry checked as a bundle's."""
    return TfliteModel(
        content, ModelSpec.from_dict(entry["file"], entry), FEATURE_SCALE, reference_kernels
    )


@dataclass(frozen=True)
class _Role:
    name: str  # "tiny" or "full"
    spec: TinySpec | FullSpec
    architecture: str
    smoothing: int  # scores averaged for a decision
    build: Callable[[Any], keras.Model]


@dataclass(frozen=True)
class Candidate:
    qat_epochs: int  # QAT epochs behind it; 0: the float model (its int8 export is the PTQ model)
    content: bytes
    entry: dict[str, Any]
    val_mean_frr: float  # over COMPARISON_FA_PER_HOUR, on validation voices and audio


def _mean_frr(scores: evaluate.Scores) -> float:
    return float(np.mean([scores.frr_at(fa)["frr"] for fa in COMPARISON_FA_PER_HOUR]))


def _int8_candidates(
    role: _Role,
    float_model: keras.Model,
    qat: keras.Model,
    epoch_weights: list[list[Any]],
    export: Callable[[keras.Model], tuple[bytes, keras.Model]],
    val: Split,
    advance: Callable[[], None],
) -> list[Candidate]:
    """The int8 export of the float model (post-training quantization) and of the QAT model after
    each of its epochs, each scored on the validation split to rank them. Ranking runs LiteRT's
    XNNPACK kernels (3-4x faster than the reference kernels); they round a score by one step at
    times, which cannot reorder candidates that differ by whole clips. The figures of the models
    kept are measured again with the reference kernels."""
    exported = []
    for epochs in range(len(epoch_weights) + 1):
        model = float_model
        if epochs:
            qat.set_weights(epoch_weights[epochs - 1])
            model = float_copy_of_qat(qat, role.build(role.spec))
        content, keras_model = export(model)
        content = set_score_range(content, *SCORE_LOGIT_RANGE)
        entry = model_entry(
            role.name, content, role.spec, keras_model, role.name == "tiny", role.architecture
        )
        exported.append((epochs, content, entry))
        advance()

    def rank(epochs: int, content: bytes, entry: dict[str, Any]) -> Candidate:
        model = _model_for(content, entry, reference_kernels=False)
        scores = evaluate.model_scores(
            model, val.positives, val.stream_features, val.stream_hours, role.smoothing
        )
        advance()
        return Candidate(epochs, content, entry, _mean_frr(scores))

    return [rank(*item) for item in exported]


def choose_qat(candidates: list[Candidate]) -> Candidate:
    """The QAT epoch whose int8 model misses least on validation (mean FRR from 0.5 to 5 false
    accepts per hour), the latest on a tie. Zero epochs is a candidate: where fine-tuning made the
    int8 model worse on validation, the shipped model is the post-training-quantized one, and the
    manifest says so (``qat_epochs_kept``)."""
    return min(candidates, key=lambda c: (c.val_mean_frr, -c.qat_epochs))


_ROLES = {
    "tiny": _Role("tiny", TinySpec(), "tiny streaming DS-CNN (external state)", 1, build_tiny),
    # the full model decides on the mean of its last DETECT_SMOOTHING scores, as the cascade
    "full": _Role("full", FullSpec(), "DS-CNN over time", DETECT_SMOOTHING, build_full),
}


@dataclass(frozen=True)
class TrainJob:
    role: str  # "tiny" or "full"
    index: int  # 0 for the tiny model, 1.. for the full model's initialisations
    recipe: DataRecipe
    # the file the parent wrote or read: a worker must not hash the code and the texts again,
    # which an install in the same environment meanwhile changes (the corpus reads packages'
    # metadata), and look for another file
    cache_path: Path
    settings: FitSettings


@dataclass(frozen=True)
class _Trained:
    candidates: list[Candidate]
    log: dict[str, Any]


def _ticks(settings: FitSettings) -> int:
    """Progress steps of one ``train_and_rank``: its epochs, then each export and its ranking."""
    epochs = settings.epochs + settings.mining_rounds * _mining_epochs(settings)
    return epochs + settings.qat_epochs + 2 * (settings.qat_epochs + 1)


def train_and_rank(job: TrainJob, tick: Callable[[], None]) -> _Trained:
    """One training, in a process of its own (``training.workers``): train the model, export
    its int8 candidates and rank them on validation. The dataset comes from the feature cache
    the parent wrote; each job has its own seed (the full model's initialisations differ)."""
    dataset = load_cache(job.cache_path, job.recipe)
    if dataset is None:  # not three generations at once: the parent wrote it moments ago
        raise TrainingError(
            f"the feature cache {job.cache_path} went missing or unreadable during training "
            "(deleted?); run kws train again"
        )
    seed = np.random.SeedSequence([job.settings.seed, job.index]).generate_state(1)[0]
    keras.utils.set_random_seed(int(seed))
    role = _ROLES[job.role]
    spec = role.spec
    float_model, qat, epochs, log = _train_one(
        partial(role.build, spec), spec.window_frames, dataset, job.settings, tick
    )
    if isinstance(spec, TinySpec):
        tiny_spec = spec

        def export(model: keras.Model) -> tuple[bytes, keras.Model]:
            streaming = build_tiny_streaming(tiny_spec, model)
            representative = _tiny_representative(streaming, tiny_spec, dataset)
            return convert_int8(streaming, representative), streaming

    else:
        representative = _full_representative(dataset, spec.window_frames, job.settings.seed)

        def export(model: keras.Model) -> tuple[bytes, keras.Model]:
            return convert_int8(model, representative), model

    candidates = _int8_candidates(role, float_model, qat, epochs, export, dataset.val, tick)
    return _Trained(candidates, log)


@dataclass(frozen=True)
class _Kept:
    """Stage 2's result: every int8 candidate by role, the one kept (the QAT epoch, or zero
    epochs: the PTQ export), and the PTQ export beside it (keys (role, "qat" | "ptq"))."""

    candidates: dict[str, list[Candidate]]
    chosen: dict[str, Candidate]
    picked: dict[tuple[str, str], Candidate]
    logs: dict[str, dict[str, Any]]  # by role: what its training did

    def model(self, key: tuple[str, str], memory: dict[bytes, float] | None = None) -> Detector:
        """A fresh interpreter of one picked model (reference kernels), remembering its scores
        in ``memory`` if given (exact: see ``evaluate.Remembered``)."""
        model = _model_for(self.picked[key].content, self.picked[key].entry)
        return model if memory is None else evaluate.Remembered(model, memory)


@dataclass(frozen=True)
class _Measured:
    """Stage 3's result: the picked models on validation (operating points) and the held-out
    split (figures, and their test scores by name), and the peers' own models beside them
    (microWakeWord's on the same features, openWakeWord's on the same audio)."""

    figures: dict[str, Any]
    test_scores: dict[str, evaluate.Scores]
    peer: dict[str, Any]
    openwakeword: dict[str, Any]


@dataclass(frozen=True)
class _Operating:
    """Stage 4's result: the shipped thresholds, chosen on validation, and how."""

    thresholds: Thresholds
    full_alone_detect: float
    steps: list[dict[str, Any]]


@dataclass(frozen=True)
class _CascadeFigures:
    """Stage 5's result: the shipped cascade on the held-out split, its DET curve, and the full
    model alone at the same detect threshold."""

    shipped: dict[str, float]
    curve: list[dict[str, float]]
    full_only: dict[str, float]


class _Clock:
    """Seconds per stage, for the report."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.stage_seconds: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        elapsed = time.monotonic() - self.started - sum(self.stage_seconds.values())
        self.stage_seconds[stage] = round(elapsed, 1)


def train(options: TrainOptions, progress: Any = None) -> Path:
    """Run the whole pipeline and write the bundle; returns its path. See the module docstring.

    Stages, each a function with a small result: build the data, train and rank the int8
    candidates (``_train_candidates``), measure the kept ones (``_measure_kept``), choose the
    operating point on validation (``_choose_operating_point``), measure the cascade on the
    held-out split (``_measure_cascade``), then the report and the bundle.
    """
    clock = _Clock()
    # before any work: a destination that is the user's, or that cannot be written, is refused now
    check_bundle_destination(options.out_dir)
    check_writable_folder(options.cache_dir)
    if options.real_speech_dir is not None:
        from training.realspeech import phrase_folders

        phrase_folders(options.real_speech_dir)  # a wrong folder now, not after the training
    selection.check_full_starts(full_starts(options), "full_starts")
    keyword = check_keyword(options.keyword)
    recipe = data_recipe(options, keyword)
    dataset = build_dataset(recipe, options.cache_dir, progress)
    clock.lap("data")
    choose_full = _full_chooser(options, keyword, dataset, progress)
    settings = _fit_settings(options)
    kept = _train_candidates(recipe, dataset, settings, progress, choose_full)
    clock.lap("train_and_rank_int8")
    # steps: at most 8 measurements (set once known), 3 more
    task = progress.add_task("evaluate", total=11) if progress else None
    advance = (lambda: progress.advance(task)) if progress else (lambda: None)
    # what the shipped pair scores is remembered for the threshold search and the test runs of
    # the cascade, which replay the same audio (exact: see evaluate.Remembered)
    memories: dict[str, dict[bytes, float]] = {"tiny": {}, "full": {}}
    target = options.target_fa_per_hour
    measured = _measure_kept(kept, dataset, keyword, target, memories, advance)
    if progress:
        progress.update(task, total=2 * len(_measured_keys(kept)) + 3)
    clock.lap("measure_kept_models")

    def shipped_pair() -> tuple[Detector, Detector]:
        """The shipped pair, with interpreters of their own (the two test jobs run in
        parallel), remembering what they scored."""
        return (
            kept.model(("tiny", "qat"), memories["tiny"]),
            kept.model(("full", "qat"), memories["full"]),
        )

    operating = _choose_operating_point(shipped_pair, keyword, dataset.val, target, measured)
    advance()
    clock.lap("choose_thresholds")
    cascade = _measure_cascade(shipped_pair, keyword, operating.thresholds, dataset.test, measured)
    advance()
    clock.lap("measure_cascade")
    evaluation = _evaluation(options, keyword, dataset, kept, measured, operating, cascade)
    curves = evaluate.det_files(
        {name: s.det() for name, s in measured.test_scores.items() if name.endswith("qat")}
        | {"cascade": cascade.curve}
        | (
            {"microWakeWord": measured.peer.pop("_scores").det()}
            if "_scores" in measured.peer
            else {}
        ),
        target,
    )
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "keyword": keyword,
        "frontend": FrontendConfig().to_dict(),
        "frontend_hash": FrontendConfig().hash(),
        "feature_scale": FEATURE_SCALE,
        "models": {role: kept.picked[(role, "qat")].entry for role in ("tiny", "full")},
        "thresholds": operating.thresholds.__dict__,
        **(
            {"noise_floor_dbfs": options.noise_floor_dbfs}
            if options.noise_floor_dbfs is not None
            else {}
        ),
    }
    report = {
        "evaluation": evaluation,
        "training": _training_log(options, keyword, dataset, kept, clock),
    }
    files = {f"{role}.tflite": kept.picked[(role, "qat")].content for role in ("tiny", "full")}
    files |= curves
    advance()
    written = _write_or_keep(options, manifest, report, files)
    if not options.verifier:
        return written
    from training.verifier import VERIFIER_STEPS, add_verifier

    step = progress.add_task("verifier", total=VERIFIER_STEPS) if progress else None
    return add_verifier(
        written,
        written,
        quick=options.quick,
        seed=options.seed,
        target_fa_per_hour=target,
        log=(lambda _: progress.advance(step)) if progress else (lambda _: None),
        real_speech_dir=options.real_speech_dir,
    )


def _train_candidates(
    recipe: DataRecipe,
    dataset: Dataset,
    settings: FitSettings,
    progress: Any,
    choose_full: Callable[
        [Candidate, list[list[Candidate]]], tuple[int, Candidate, dict[str, Any]]
    ],
) -> _Kept:
    """Train the tiny model and the full model from each initialisation side by side, each
    process exporting and ranking its int8 candidates; keep the best tiny model by validation
    and the full model ``choose_full`` picks (``_full_by_validation``, ``_full_by_voices``)."""
    assert dataset.cache_path is not None  # build_dataset stores what it builds
    starts = settings.full_starts
    trainings = [TrainJob("tiny", 0, recipe, dataset.cache_path, settings)] + [
        TrainJob("full", index + 1, recipe, dataset.cache_path, settings) for index in range(starts)
    ]
    labels = ["train tiny"] + [
        "train full" if starts == 1 else f"train full ({index + 1} of {starts})"
        for index in range(starts)
    ]
    trained = run_side_by_side(
        train_and_rank,
        [Job(label, _ticks(settings), job) for label, job in zip(labels, trainings, strict=True)],
        progress,
    )
    candidates = {"tiny": trained[0].candidates}
    by_start = [run.candidates for run in trained[1:]]
    tiny = choose_qat(candidates["tiny"])
    start_kept, full, selection_log = choose_full(tiny, by_start)
    candidates["full"] = by_start[start_kept]
    full_log = {
        **trained[1 + start_kept].log,
        "starts": starts,
        "start_kept": start_kept + 1,
        "val_mean_frr_0.5_to_5_fa_per_hour_by_start": [
            round(choose_qat(found).val_mean_frr, 4) for found in by_start
        ],
        "selection": {
            "kept": {"start": start_kept + 1, "qat_epochs": full.qat_epochs},
            **selection_log,
        },
    }
    chosen = {"tiny": tiny, "full": full}
    picked = {
        (role, kind): candidate
        for role, found in candidates.items()
        for kind, candidate in (("qat", chosen[role]), ("ptq", found[0]))
    }
    return _Kept(candidates, chosen, picked, {"tiny": trained[0].log, "full": full_log})


def _full_chooser(
    options: TrainOptions, keyword: str, dataset: Dataset, progress: Any
) -> Callable[[Candidate, list[list[Candidate]]], tuple[int, Candidate, dict[str, Any]]]:
    """How this training keeps its full model. The voices' clips are made in a thread while the
    models train (the voices run as programs; the training runs in other processes)."""
    if options.choose_full != "voices":
        return lambda _tiny, by_start: (*_full_by_validation(by_start), {"by": "validation"})
    if not festvox.installed_voices():
        why = f"the voices are not installed (make setup-voices: {festvox.PACKAGES})"
        return lambda _tiny, by_start: (
            *_full_by_validation(by_start),
            {"by": "validation", "why": why},
        )
    count = selection.QUICK_CLIPS if options.quick else selection.CLIPS
    made: dict[str, selection.VoiceClips | str] = {}

    def make() -> None:
        try:
            clips = selection.voice_clips(keyword, count, options.seed)
        except Exception as error:  # the models will be trained: keep them, by validation
            made["clips"] = f"the voices failed: {error}"
        else:
            made["clips"] = clips if clips is not None else "no voice found"

    # a daemon: a training stopped early does not wait for the voices
    thread = threading.Thread(target=make, name="kws-voice-clips", daemon=True)
    thread.start()

    def clips() -> selection.VoiceClips | str:
        thread.join()
        return made["clips"]

    return partial(
        _full_by_voices,
        keyword,
        dataset,
        options.target_fa_per_hour,
        options.noise_floor_dbfs,
        clips,
        progress,
    )


def _full_by_validation(
    by_start: list[list[Candidate]],
) -> tuple[int, Candidate]:
    """The rule without the voices: each start's best QAT epoch on validation, then the start
    whose best misses least. Another initialisation moves the far tail more than anything else
    here (two for one hey_jarvis dataset: mean FRR from 0.5 to 5 FA/h of 23% and 36% on test)."""
    best_by_start = [choose_qat(found) for found in by_start]
    start = min(range(len(by_start)), key=lambda i: best_by_start[i].val_mean_frr)
    return start, best_by_start[start]


@dataclass(frozen=True)
class JudgeJob:
    """Full candidates for one process to judge on the voices (``judge_on_voices``)."""

    recipe: DataRecipe
    cache_path: Path
    keyword: str
    target: float
    floor_dbfs: float | None
    tiny: Candidate
    candidates: list[tuple[int, Candidate]]  # (start, from 0; the candidate)
    clips: selection.VoiceClips


def judge_on_voices(job: JudgeJob, tick: Callable[[], None]) -> list[selection.Judged]:
    """In a process of its own (``training.workers``; the threshold search is Python, so
    threads would share one core): each candidate at the thresholds it would ship with, beside
    the kept tiny model (``thresholds_on_validation``; XNNPACK kernels, scores remembered), then
    its misses on the voices' clips. Validation comes from the feature cache."""
    dataset = load_cache(job.cache_path, job.recipe)
    if dataset is None:
        raise TrainingError(f"the feature cache {job.cache_path} went missing during training")
    val = dataset.val
    floor = NoiseFloor(job.floor_dbfs) if job.floor_dbfs is not None else None
    # one tiny model behind every candidate, its scores remembered (each run resets it)
    tiny = evaluate.Remembered(_model_for(job.tiny.content, job.tiny.entry, False))
    judged = []
    for start, found in job.candidates:
        full = evaluate.Remembered(_model_for(found.content, found.entry, False))
        alone = evaluate.model_scores(
            full, val.positives, val.stream_features, val.stream_hours, DETECT_SMOOTHING
        )
        detect = max(0.5, alone.operating_point(job.target)["threshold"])
        thresholds, _ = thresholds_on_validation(tiny, full, job.keyword, val, job.target, detect)
        cascade = Cascade(job.keyword, full, thresholds, tiny=tiny, noise_floor=floor)
        clean, noisy = selection.missed(cascade, job.clips)
        judged.append(
            selection.Judged(
                start,
                found.qat_epochs,
                found.val_mean_frr,
                thresholds.wake,
                thresholds.detect,
                clean,
                noisy,
            )
        )
        tick()
    return judged


def _full_by_voices(
    keyword: str,
    dataset: Dataset,
    target: float,
    floor_dbfs: float | None,
    clips: Callable[[], selection.VoiceClips | str],
    progress: Any,
    tiny: Candidate,
    by_start: list[list[Candidate]],
) -> tuple[int, Candidate, dict[str, Any]]:
    """Every full candidate (each start, each QAT epoch) judged on the keyword said by other
    engines' voices at the thresholds it would ship with (``judge_on_voices``, the candidates
    shared among one process a core); of those within one standard error of the fewest misses,
    the best on validation is kept (``selection.best``). Without the voices (``clips`` says
    why), ``_full_by_validation``."""
    start, candidate = _full_by_validation(by_start)
    by_validation = {"start": start + 1, "qat_epochs": candidate.qat_epochs}
    voice_clips = clips()
    if isinstance(voice_clips, str):
        return start, candidate, {"by": "validation", "why": voice_clips}
    assert dataset.cache_path is not None  # build_dataset stores what it builds
    started = time.monotonic()
    flat = [(index, found) for index, run in enumerate(by_start) for found in run]
    shares = min(len(flat), os.cpu_count() or 1)
    jobs = [
        JudgeJob(
            dataset.recipe,
            dataset.cache_path,
            keyword,
            target,
            floor_dbfs,
            tiny,
            flat[share::shares],
            voice_clips,
        )
        for share in range(shares)
    ]
    labels = [f"choose full model ({i + 1} of {shares})" for i in range(shares)]
    done = run_side_by_side(
        judge_on_voices,
        [Job(label, len(job.candidates), job) for label, job in zip(labels, jobs, strict=True)],
        progress,
    )
    judged = [done[i % shares][i // shares] for i in range(len(flat))]
    kept = selection.best(judged, len(voice_clips.clean))
    return (
        flat[kept][0],
        flat[kept][1],
        {
            "by": "misses on other engines' voices at each candidate's own thresholds",
            "voices": [voice[len(festvox.VOICE_PREFIX) :] for voice in voice_clips.voices],
            "voice_licence": festvox.LICENCE,
            "clips": len(voice_clips.clean),
            "snr_db": selection.SNR_DB,
            "margin": round(selection.margin(judged, len(voice_clips.clean)), 1),
            "validation_would_keep": by_validation,
            "seconds": round(time.monotonic() - started, 1),
            "candidates": [
                {
                    "start": row.start + 1,
                    "qat_epochs": row.qat_epochs,
                    "val_mean_frr": round(row.val_mean_frr, 4),
                    "wake": row.wake,
                    "detect": row.detect,
                    "missed_clean": row.missed_clean,
                    "missed_noisy": row.missed_noisy,
                }
                for row in judged
            ],
        },
    )


def _measured_keys(kept: _Kept) -> list[tuple[str, str]]:
    """The picked models to measure: a PTQ export is the kept model itself when QAT kept no
    epoch, and is measured once."""
    return [
        key
        for key in kept.picked
        if not (key[1] == "ptq" and kept.picked[key] is kept.chosen[key[0]])
    ]


def _measure_kept(
    kept: _Kept,
    dataset: Dataset,
    keyword: str,
    target: float,
    memories: dict[str, dict[bytes, float]],
    advance: Callable[[], None],
) -> _Measured:
    """The kept models measured with the reference kernels (they round like TFLM): on
    validation for the operating points, on the held-out split for the figures; microWakeWord's
    model on the same held-out audio alongside."""
    val, test = dataset.val, dataset.test
    measured = _measured_keys(kept)

    def measure(key: tuple[str, str], split: Split) -> evaluate.Scores:
        scores = evaluate.model_scores(
            kept.model(key, memories[key[0]] if key[1] == "qat" else None),
            split.positives,
            split.stream_features,
            split.stream_hours,
            _ROLES[key[0]].smoothing,
            split.negatives if split is test else None,
        )
        advance()
        return scores

    # openWakeWord's model is the longest job (minutes, for its keywords only): started first
    jobs: list[Callable[[], Any]] = [partial(openwakeword_figures, keyword, test, target)]
    jobs += [partial(measure, key, split) for key in measured for split in (val, test)]
    jobs.append(partial(_microwakeword_figures, keyword, dataset, target))
    openwakeword, *results, peer = evaluate.in_parallel(jobs)
    val_scores = dict(zip(measured, results[0::2], strict=True))
    test_scores_by_key = dict(zip(measured, results[1::2], strict=True))
    figures: dict[str, Any] = {}
    test_scores: dict[str, evaluate.Scores] = {}
    for key in kept.picked:
        role, kind = key
        source = key if key in measured else (role, "qat")  # QAT kept no epoch: the same model
        scores = test_scores_by_key[source]
        test_scores[f"{role} {kind}"] = scores
        operating = val_scores[source].operating_point(target)
        figures[f"{role}_{kind}"] = {
            "val_operating_point": operating,
            "test": evaluate.summarize(scores, target),
            "test_at_val_operating_point": {
                "threshold": operating["threshold"],
                "frr": round(scores.frr(operating["threshold"]), 4),
                "fa_per_hour": round(scores.fa_per_hour(operating["threshold"]), 3),
                "negative_clips_accepted": round(
                    scores.negatives_accepted(operating["threshold"]) or 0.0, 4
                ),
            },
            "test_mean_frr_at_0.5_0.7_0.9": round(
                float(np.mean([scores.frr(t) for t in (0.5, 0.7, 0.9)])), 4
            ),
            "test_mean_frr_at_0.5_1_2_5_fa_per_hour": round(_mean_frr(scores), 4),
        }
    return _Measured(figures, test_scores, peer, openwakeword)


def _choose_operating_point(
    shipped_pair: Callable[[], tuple[Detector, Detector]],
    keyword: str,
    val: Split,
    target: float,
    measured: _Measured,
) -> _Operating:
    """Thresholds on validation audio (``thresholds_on_validation``), bounded by the kept full
    model's own threshold for the target."""
    full_alone_detect = max(0.5, measured.figures["full_qat"]["val_operating_point"]["threshold"])
    thresholds, steps = thresholds_on_validation(
        *shipped_pair(), keyword, val, target, full_alone_detect
    )
    return _Operating(thresholds, full_alone_detect, steps)


def thresholds_on_validation(
    tiny: Detector,
    full: Detector,
    keyword: str,
    val: Split,
    target: float,
    full_alone_detect: float,
) -> tuple[Thresholds, list[dict[str, float]]]:
    """The full model's own threshold for the target (``full_alone_detect``) bounds the detect
    threshold; wake and detect are then chosen together so the cascade meets the target and
    keeps 99.5% of the full model's detections (then a wake step lower, for held-out voices).
    Returns the thresholds and the steps taken."""
    base = Thresholds(
        wake=0.5,
        detect=full_alone_detect,
        smoothing_frames=2,
        wake_window_s=0.6,
        preroll_s=1.5,
        refractory_s=metrics.REFRACTORY_S,
        detect_smoothing=DETECT_SMOOTHING,
    )
    return evaluate.choose_thresholds(
        tiny,
        full,
        keyword,
        base,
        val.positives,
        val.stream_features,
        val.stream_hours,
        target,
        keep_recall=WAKE_KEEPS_ON_VALIDATION,
    )


def _measure_cascade(
    shipped_pair: Callable[[], tuple[Detector, Detector]],
    keyword: str,
    thresholds: Thresholds,
    test: Split,
    measured: _Measured,
) -> _CascadeFigures:
    """The shipped cascade on the held-out split, its DET curve (at the detect thresholds
    where the full model alone crosses ``CASCADE_DET_FA_PER_HOUR`` on the test stream, and the
    shipped one), and the full model alone at the shipped thresholds; in parallel."""

    def cascade_on_test() -> tuple[dict[str, float], list[dict[str, float]]]:
        tiny, full = shipped_pair()

        def cascade(detect: float) -> Cascade:
            return Cascade(keyword, full, replace(thresholds, detect=detect), tiny=tiny)

        shipped = evaluate.cascade_run(
            partial(cascade, thresholds.detect),
            test.positives,
            test.stream_features,
            test.stream_hours,
            test.negatives,
        )
        full_scores = measured.test_scores["full qat"]
        curve = evaluate.cascade_det(
            cascade,
            test.positives,
            test.stream_features,
            test.stream_hours,
            [thresholds.detect] + [full_scores.threshold_for(fa) for fa in CASCADE_DET_FA_PER_HOUR],
        )
        return shipped, curve

    def full_only_on_test() -> dict[str, float]:
        tiny, full = shipped_pair()
        return evaluate.cascade_run(
            lambda: Cascade(keyword, full, thresholds, tiny=tiny, full_only=True),
            test.positives,
            test.stream_features,
            test.stream_hours,
            test.negatives,
        )

    runs: list[Callable[[], Any]] = [cascade_on_test, full_only_on_test]
    (shipped, curve), full_only = evaluate.in_parallel(runs)
    return _CascadeFigures(shipped, curve, full_only)


def _evaluation(
    options: TrainOptions,
    keyword: str,
    dataset: Dataset,
    kept: _Kept,
    measured: _Measured,
    operating: _Operating,
    cascade: _CascadeFigures,
) -> dict[str, Any]:
    """The report's ``evaluation``: what the bundle was measured to do, and on what."""
    test, val, target = dataset.test, dataset.val, options.target_fa_per_hour
    figures = measured.figures
    evaluation: dict[str, Any] = {
        "target_fa_per_hour": target,
        "test_split": {
            "positives": len(test.positives.features),
            "positives_snr_db": "half at 10 dB, half at 20 dB",
            "negative_clips": len(test.negatives.features),
            "negative_clips_are": NEGATIVE_CLIPS_ARE,
            "stream_hours": round(test.stream_hours, 3),
            "stream_is": "ordinary speech and pauses over noise (no confusables)",
            "voices": sorted(set(test.positives.voices))[:12] + ["..."],
        },
        "models": figures,
        "threshold_choice": {
            "on": f"validation voices and {val.stream_hours:.1f} h of validation stream",
            "full_alone_detect": operating.full_alone_detect,
            "wake_keeps_of_full_detections": WAKE_KEEPS_ON_VALIDATION,
            "steps": operating.steps,
        },
        "cascade_at_shipped_thresholds": {k: round(v, 4) for k, v in cascade.shipped.items()},
        "full_only_at_shipped_thresholds": {k: round(v, 4) for k, v in cascade.full_only.items()},
        "cascade_det": [{k: round(v, 6) for k, v in row.items()} for row in cascade.curve],
        "qat_vs_ptq": {
            role: {
                "qat_frr": figures[f"{role}_qat"]["test"]["frr_at_target"],
                "ptq_frr": figures[f"{role}_ptq"]["test"]["frr_at_target"],
                # one false accept decides the 0.5 FA/h point on 2 h; the mean over four points
                # of the DET curve is the steadier comparison
                "qat_mean_frr_0.5_to_5_fa_per_hour": figures[f"{role}_qat"][
                    "test_mean_frr_at_0.5_1_2_5_fa_per_hour"
                ],
                "ptq_mean_frr_0.5_to_5_fa_per_hour": figures[f"{role}_ptq"][
                    "test_mean_frr_at_0.5_1_2_5_fa_per_hour"
                ],
                "qat_epochs_trained": len(kept.candidates[role]) - 1,
                "qat_epochs_kept": kept.chosen[role].qat_epochs,
                "val_mean_frr_0.5_to_5_fa_per_hour_by_qat_epochs": [
                    round(c.val_mean_frr, 4) for c in kept.candidates[role]
                ],
            }
            for role in ("tiny", "full")
        },
        "microwakeword": measured.peer,
        "openwakeword": measured.openwakeword,
    }
    if options.real_speech_dir is not None:
        evaluation["real_speech"] = _real_speech_figures(
            options.real_speech_dir,
            keyword,
            {key: candidate.content for key, candidate in kept.picked.items()},
            {key: candidate.entry for key, candidate in kept.picked.items()},
            operating.thresholds,
            None if options.noise_floor_dbfs is None else NoiseFloor(options.noise_floor_dbfs),
        )
    return evaluation


def _training_log(
    options: TrainOptions, keyword: str, dataset: Dataset, kept: _Kept, clock: _Clock
) -> dict[str, Any]:
    """The report's ``training``: the command, the data, what each training did, and time."""
    return {
        "command": f"kws train --keyword {keyword!r}"
        + (" --quick" if options.quick else "")
        + f" --seed {options.seed}"
        + "".join(f" --piper-voice {str(p)!r}" for p in options.neural_voices)
        + (f" --kokoro-speakers {options.kokoro_speakers}" if options.kokoro_speakers else "")
        + (f" --loud-scenes {options.loud_share:g}" if options.loud_share else "")
        + (" --choose-full voices" if options.choose_full == "voices" else "")
        + (f" --full-starts {options.full_starts}" if options.full_starts is not None else "")
        + _floor_option(options.noise_floor_dbfs)
        + (" --verifier" if options.verifier else ""),
        "noise_floor_dbfs": options.noise_floor_dbfs,
        "data": dataset.stats,
        "tiny": kept.logs["tiny"],
        "full": kept.logs["full"],
        "quantization": "QAT (tensorflow-model-optimization; score output not fake-quantized), "
        "then full-int8 conversion calibrated on representative data, score range fixed; "
        "the QAT epoch kept is the one whose int8 model misses least on validation "
        "(0 = the post-training-quantized model; ranked with LiteRT's XNNPACK kernels, "
        "every figure of a kept model measured with the reference kernels)",
        "wall_time_s": round(time.monotonic() - clock.started, 1),
        "stage_seconds": clock.stage_seconds,
    }


def _floor_option(dbfs: float | None) -> str:
    """The ``--noise-floor`` a training command was given, where it is not the default."""
    if dbfs == DEFAULT_FLOOR_DBFS:
        return ""
    return " --noise-floor off" if dbfs is None else f" --noise-floor {dbfs:g}"


def _write_or_keep(
    options: TrainOptions,
    manifest: dict[str, Any],
    report: dict[str, Any],
    files: dict[str, bytes],
) -> Path:
    """Write the bundle (its card rendered from the manifest and report) to ``--out``; should
    that fail after all (the disk filled, the mount went read-only), keep it under the cache
    folder and say where, so the training is not lost.
    """
    files = files | {"CARD.md": render_card(manifest, report).encode()}
    try:
        return write_bundle(options.out_dir, manifest, files, report)
    except BundleError as error:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        kept = options.cache_dir / "unsaved_bundles" / f"{Path(options.out_dir).name}-{stamp}"
        try:
            write_bundle(kept, manifest, files, report)
        except BundleError:
            raise error from None
        raise TrainingError(f"{error}; the finished bundle is kept at {kept}") from error


def _real_speech_figures(
    data_dir: Path,
    keyword: str,
    contents: dict[tuple[str, str], bytes],
    entries: dict[tuple[str, str], dict[str, Any]],
    thresholds: Thresholds,
    floor: NoiseFloor | None,
) -> dict[str, Any]:
    """The shipped cascade on real recordings (``kws bench realspeech``'s protocol, without its
    stream): measured after every choice is made, never used for one."""
    from training.realspeech import real_speech_figures

    tiny = _model_for(contents[("tiny", "qat")], entries[("tiny", "qat")])
    full = _model_for(contents[("full", "qat")], entries[("full", "qat")])
    cascade = Cascade(keyword, full, thresholds, tiny=tiny, noise_floor=floor)
    figures = real_speech_figures(cascade, keyword, data_dir)
    figures["note"] = "measurement only: no model, threshold or setting was chosen by it"
    return figures


def _microwakeword_figures(keyword: str, dataset: Dataset, target: float) -> dict[str, Any]:
    """microWakeWord's own model on the same held-out features (our frontend is bit-exact with
    its TFLM frontend), scored with its sliding-window average."""
    name = MICROWAKEWORD_KEYWORDS.get(keyword)
    if name is None:
        return {"available": False}
    try:
        import pymicro_wakeword
    except ImportError:
        return {"available": False, "reason": "pip pymicro-wakeword not installed"}
    from kws.mww import load_microwakeword

    config = Path(pymicro_wakeword.__file__).parent / "models" / f"{name}.json"
    cascade = load_microwakeword(config, reference_kernels=True)
    model = cascade.full
    assert isinstance(model, TfliteModel)
    window = cascade.thresholds.smoothing_frames
    test = dataset.test
    scores = evaluate.model_scores(
        model, test.positives, test.stream_features, test.stream_hours, window, test.negatives
    )
    cutoff = cascade.thresholds.detect
    return {
        "available": True,
        "model": f"pymicro-wakeword {name}",
        "test": evaluate.summarize(scores, target),
        "at_its_cutoff": {
            "cutoff": cutoff,
            "frr": round(scores.frr(cutoff), 4),
            "fa_per_hour": round(scores.fa_per_hour(cutoff), 3),
            "negative_clips_accepted": round(scores.negatives_accepted(cutoff) or 0.0, 4),
        },
        "_scores": scores,
    }
