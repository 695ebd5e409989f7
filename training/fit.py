"""Training windows, float training, hard-negative mining and quantization-aware training.

A positive window ends between the keyword's last frame and a few frames after it (the
detector should fire as the keyword completes); windows of the same clip ending well before
the keyword end are negatives (a partial keyword must not fire), as are windows from keyword-
free clips and from the long negative stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kws.frontend import FEATURE_SCALE
from training.data import Split
from training.models import keras

POSITIVE_LATE_FRAMES = 8  # positive windows end up to this many frames after the keyword
PARTIAL_BEFORE_FRAMES = 35  # windows ending this far before the keyword end are negatives
MINED_MIN_LOGIT = -3.0  # mined windows score above this (a probability of about 0.05)
DEAD_SCORE_SPREAD = 1e-4  # logits over validation windows spread less than this: dead


@dataclass(frozen=True)
class FitSettings:
    epochs: int = 18
    qat_epochs: int = 4
    batch_size: int = 128
    learning_rate: float = 3e-3
    windows_per_positive: int = 4
    stream_windows: int = 20000
    mining_rounds: int = 2
    mined_per_round: int = 4000
    # After mining, a keyword-free window counts this much more than in a balanced loss: the
    # operating point sits in the far tail of the negative scores (0.5 false accepts per hour is
    # one window in ~240,000), so the tail is what the later epochs must push down.
    negative_weight_after_mining: float = 2.0
    full_starts: int = 2  # full models from new initialisations (kws train: selection.FULL_STARTS)
    # SpecAugment-style masks on every training window (not on validation): a model that cannot
    # lean on one band or one instant of one synthetic voice has to learn more of the word.
    time_masks: int = 2
    time_mask_frames: int = 5
    channel_masks: int = 2
    channel_mask_width: int = 5
    seed: int = 0


def window_at(
    features: npt.NDArray[np.uint16], end_frame: int, length: int
) -> npt.NDArray[np.uint16]:
    """``length`` frames ending at ``end_frame`` (inclusive), padded at the start by repeating the
    first frame (quiet lead-in looks like that after noise reduction)."""
    start = end_frame + 1 - length
    piece = features[max(0, start) : end_frame + 1]
    if start < 0:
        piece = np.concatenate([np.repeat(features[:1], -start, axis=0), piece])
    return piece


def to_input(windows: npt.NDArray[np.uint16]) -> npt.NDArray[np.float32]:
    """uint16 windows [n, frames, 40] -> model input [n, frames, 1, 40] float features."""
    return (windows.astype(np.float32) * FEATURE_SCALE)[:, :, None, :]


def make_windows(
    split: Split, length: int, settings: FitSettings, rng: np.random.Generator
) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.float32]]:
    """Labelled windows of ``length`` frames from one split."""
    windows: list[npt.NDArray[np.uint16]] = []
    labels: list[float] = []
    positives = split.positives
    for features, end in zip(positives.features, positives.keyword_end_frames, strict=True):
        last = features.shape[0] - 1
        for _ in range(settings.windows_per_positive):
            windows.append(
                window_at(
                    features,
                    min(last, int(end) + int(rng.integers(0, POSITIVE_LATE_FRAMES))),
                    length,
                )
            )
            labels.append(1.0)
        early = int(end) - PARTIAL_BEFORE_FRAMES - int(rng.integers(0, 40))
        if early > 10:
            windows.append(window_at(features, early, length))
            labels.append(0.0)
    for features in split.negatives.features:
        for _ in range(2):
            windows.append(
                window_at(features, int(rng.integers(length // 2, features.shape[0])), length)
            )
            labels.append(0.0)
    stream = split.stream_features
    if stream.shape[0] > length:
        for end in rng.integers(length - 1, stream.shape[0], size=settings.stream_windows):
            windows.append(stream[end + 1 - length : end + 1])
            labels.append(0.0)
    return np.stack(windows), np.array(labels, dtype=np.float32)


def fit(
    model: keras.Model,
    x: npt.NDArray[np.uint16],
    y: npt.NDArray[np.float32],
    val: tuple[npt.NDArray[np.uint16], npt.NDArray[np.float32]],
    epochs: int,
    settings: FitSettings,
    learning_rate: float,
    callbacks: list[keras.callbacks.Callback] | None = None,
    negative_weight: float = 1.0,
    keep_best: bool = True,
) -> keras.Model:
    """Train on logits with class-balanced weights (keyword-free windows scaled by
    ``negative_weight``) and, with ``keep_best``, keep the epoch with the best validation loss
    (QAT passes ``False`` and chooses among its epochs on the int8 models instead)."""
    positive_share = float(y.mean()) if y.size else 0.5
    weights = np.where(
        y > 0.5,
        0.5 / max(1e-3, positive_share),
        negative_weight * 0.5 / max(1e-3, 1 - positive_share),
    ).astype(np.float32)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.AUC(name="auc", from_logits=True)],
    )
    restore = [_RestoreBest()] if keep_best else []
    shuffle = np.random.default_rng([settings.seed, len(y), epochs])
    model.fit(
        Batches(x, y, settings.batch_size, weights, shuffle, settings),
        epochs=epochs,
        verbose=0,
        validation_data=Batches(*val, 4 * settings.batch_size),
        shuffle=False,  # Batches shuffles the windows every epoch
        callbacks=[*restore, *(callbacks or [])],
    )
    for best in restore:
        best.apply(model)
    return model


def _spans(count: int, length: int, widest: int, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """One span per row of ``length`` positions, 0 to ``widest`` long, at a random start."""
    width = rng.integers(0, widest + 1, size=count)
    start = rng.integers(0, length, size=count)
    positions = np.arange(length)
    return (positions >= start[:, None]) & (positions < (start + width)[:, None])


def mask_features(
    inputs: npt.NDArray[np.float32], settings: FitSettings, rng: np.random.Generator
) -> None:
    """Zero random frames and random channels of model input [n, frames, 1, 40] in place."""
    count, frames, channels = inputs.shape[0], inputs.shape[1], inputs.shape[3]
    for _ in range(settings.time_masks):
        inputs *= ~_spans(count, frames, settings.time_mask_frames, rng)[:, :, None, None]
    for _ in range(settings.channel_masks):
        inputs *= ~_spans(count, channels, settings.channel_mask_width, rng)[:, None, None, :]


class Batches(keras.utils.Sequence):  # type: ignore[misc]
    """Windows in batches, made model input as they are drawn. Fitting on arrays would hold a
    float copy of every window (1.2 GB for the full model's training set) and TensorFlow kept
    another for each call to ``fit``: a process training the full model grew to 9.6 GB."""

    def __init__(
        self,
        x: npt.NDArray[np.uint16],
        y: npt.NDArray[np.float32],
        batch_size: int,
        weights: npt.NDArray[np.float32] | None = None,
        shuffle: np.random.Generator | None = None,
        masks: FitSettings | None = None,
    ) -> None:
        super().__init__()
        self.x, self.y, self.weights = x, y, weights
        self.masks = masks
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.order = np.arange(len(y))
        self.on_epoch_end()

    def __len__(self) -> int:
        return -(-len(self.y) // self.batch_size)

    def __getitem__(self, index: int) -> tuple[npt.NDArray[np.float32], ...]:
        picked = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        inputs = to_input(self.x[picked])
        if self.masks is not None and self.shuffle is not None:
            mask_features(inputs, self.masks, self.shuffle)
        batch = (inputs, self.y[picked])
        return batch if self.weights is None else (*batch, self.weights[picked])

    def on_epoch_end(self) -> None:
        if self.shuffle is not None:
            self.shuffle.shuffle(self.order)


class EpochSnapshots(keras.callbacks.Callback):  # type: ignore[misc]
    """The model's weights at the end of every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.weights: list[list[npt.NDArray[np.float32]]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.weights.append(self.model.get_weights())


class _RestoreBest(keras.callbacks.Callback):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.best_loss = np.inf
        self.best_weights: list[npt.NDArray[np.float32]] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        loss = (logs or {}).get("val_loss", np.inf)
        if loss < self.best_loss:
            self.best_loss = loss
            self.best_weights = self.model.get_weights()

    def apply(self, model: keras.Model) -> None:
        if self.best_weights is not None:
            model.set_weights(self.best_weights)


def dead(model: keras.Model, windows: npt.NDArray[np.uint16]) -> bool:
    """One score for every window (every k-th of ``windows``, k the number of whole 512s in
    them: 512 to 1,023 windows, or all of fewer): no unit of some layer is ever on."""
    scores = model.predict_on_batch(to_input(windows[:: max(1, len(windows) // 512)]))
    return float(np.ptp(scores)) < DEAD_SCORE_SPREAD


def mine_hard_negatives(
    model: keras.Model, stream: npt.NDArray[np.uint16], length: int, count: int, stride: int = 3
) -> npt.NDArray[np.uint16]:
    """The ``count`` keyword-free windows the model scores highest: its false accepts."""
    ends = np.arange(length - 1, stream.shape[0], stride)
    if ends.size == 0:
        return np.zeros((0, length, stream.shape[1]), np.uint16)
    scores = np.empty(ends.size, np.float32)
    batch = 512
    for start in range(0, ends.size, batch):
        chunk = ends[start : start + batch]
        windows = np.stack([stream[e + 1 - length : e + 1] for e in chunk])
        # predict_on_batch: predict() builds a dataset per call, and the process grew with them
        scores[start : start + batch] = model.predict_on_batch(to_input(windows))[:, 0]
    top = np.argsort(scores)[::-1][:count]
    top = top[scores[top] > MINED_MIN_LOGIT]
    return (
        np.stack([stream[e + 1 - length : e + 1] for e in ends[top]])
        if top.size
        else np.zeros((0, length, stream.shape[1]), np.uint16)
    )


def quantization_aware(model: keras.Model) -> keras.Model:
    """Wrap a trained float model for QAT: fake-quantized weights and activations, except the
    score (a logit), whose weights are quantized but whose output is not. A fake-quantized output
    learns a moving-average range (one ended at +7 logits) and passes no gradient beyond it, so
    the far tail where the thresholds sit would not be trained; the exported model gets a fixed
    output range instead (``training.export.set_score_range``)."""
    import tensorflow_model_optimization as tfmot
    from tensorflow_model_optimization.python.core.quantization.keras.default_8bit import (
        default_8bit_quantize_registry as registry,
    )

    quantize = tfmot.quantization.keras
    score_config = registry.Default8BitQuantizeConfig(["kernel"], [], False)

    def annotate(layer: keras.layers.Layer) -> keras.layers.Layer:
        if layer.name == "score":
            return quantize.quantize_annotate_layer(layer, score_config)
        return layer

    annotated = quantize.quantize_annotate_model(
        keras.models.clone_model(model, clone_function=annotate)
    )
    annotated.set_weights(model.get_weights())
    with quantize.quantize_scope({"Default8BitQuantizeConfig": registry.Default8BitQuantizeConfig}):
        return quantize.quantize_apply(annotated)


def float_copy_of_qat(qat_model: keras.Model, template: keras.Model) -> keras.Model:
    """A plain float model with the QAT-trained kernels and biases. Both QAT exports are made
    from it, activations calibrated by the converter on representative data (the score's output
    is not fake-quantized during QAT, and the tiny model's streaming twin is a different graph)."""
    for layer in template.layers:
        if not layer.weights:
            continue
        wrapper = qat_model.get_layer(f"quant_{layer.name}")
        by_suffix = {w.name.split("/")[-1]: w for w in wrapper.weights if "quant_" not in w.name}
        names = [w.name.split("/")[-1] for w in layer.weights]
        layer.set_weights([keras.backend.get_value(by_suffix[name]) for name in names])
    return template
