"""Architectures: a streaming tiny detector and a non-streaming full confirmer, in tf_keras.

Both treat the 40 mel channels as convolution channels and convolve over time only (the
MixedNet / DS-CNN-over-time family microWakeWord uses): input ``[batch, frames, 1, 40]``.

The tiny model is trained non-streaming on windows exactly one receptive field long; its
streaming twin (``build_tiny_streaming``) shares the weights and consumes ``stride_frames``
new frames per call, carrying each dilated depthwise layer's recent inputs as external state
tensors (kws_streaming's external-state mode: works in any interpreter).

Both end in a logit, not a sigmoid. An int8 sigmoid output has a fixed scale of 1/256, so every
score above 0.996 reads the same and no threshold can tell a confident keyword from a confident
false alarm. The exported logit gets a fixed int8 range of -8..+24 (``training.export.
set_score_range``: steps of 0.125), and the runtime applies the sigmoid in float (the manifest
says ``"score_activation": "sigmoid"``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tf_keras as keras  # noqa: E402

__all__ = [
    "FullSpec",
    "TinySpec",
    "build_full",
    "build_tiny",
    "build_tiny_streaming",
    "count_macs",
    "keras",
]

N_CHANNELS = 40


@dataclass(frozen=True)
class TinySpec:
    """Streaming tiny model: a strided input conv, dilated depthwise-separable blocks, and a
    final temporal depthwise conv spanning the rest of the receptive field."""

    stride_frames: int = 3
    stem_filters: int = 24
    block_filters: tuple[int, ...] = (32, 32)
    block_kernel: int = 5
    block_dilations: tuple[int, ...] = (1, 2)
    head_kernel: int = 20

    @property
    def state_steps(self) -> tuple[int, ...]:
        """Past steps each stateful layer needs: blocks, then the head."""
        blocks = tuple((self.block_kernel - 1) * d for d in self.block_dilations)
        return blocks + (self.head_kernel - 1,)

    @property
    def receptive_steps(self) -> int:
        return 1 + sum(self.state_steps)

    @property
    def window_frames(self) -> int:
        """Frames the non-streaming model sees: one receptive field."""
        return self.receptive_steps * self.stride_frames


@dataclass(frozen=True)
class FullSpec:
    """Full model: DS-CNN over time on a fixed window, global average pooling, one logit."""

    window_frames: int = 150
    stride_frames: int = 3
    stem_filters: int = 48
    stem_kernel: int = 3
    stem_stride: int = 3  # one step per 30 ms, like the tiny model: halves the MACs of stride 2
    # (64, 64, 96, 96) was tried with a 64-filter stem: 1.0 M MACs, about 25 ms per inference on
    # the smartwatch's Cortex-M4F, over the 20 ms response bar (firmware_sim); this size takes
    # about 15 ms. (64, 64, 80, 80) (788k MACs, 18.8 ms) with --loud-scenes found no more of the
    # sww benchmark's keywords at as many false accepts (docs/RESULTS.md, twenty-ninth session)
    block_filters: tuple[int, ...] = (48, 48, 64, 64)
    block_strides: tuple[int, ...] = (1, 2, 1, 2)
    block_kernel: int = 5


def _tiny_layers(spec: TinySpec) -> dict[str, keras.layers.Layer]:
    """The tiny model's layers by name, fresh; both the trained graph and its streaming twin
    are wired from these, so the two cannot drift apart."""
    layers: dict[str, keras.layers.Layer] = {
        "stem": keras.layers.Conv2D(
            spec.stem_filters,
            (spec.stride_frames, 1),
            strides=(spec.stride_frames, 1),
            activation="relu",
            name="stem",
        )
    }
    for index, (filters, dilation) in enumerate(
        zip(spec.block_filters, spec.block_dilations, strict=True)
    ):
        layers[f"dw{index}"] = keras.layers.DepthwiseConv2D(
            (spec.block_kernel, 1), dilation_rate=(dilation, 1), name=f"dw{index}"
        )
        layers[f"pw{index}"] = keras.layers.Conv2D(filters, 1, activation="relu", name=f"pw{index}")
    layers["head"] = keras.layers.DepthwiseConv2D(
        (spec.head_kernel, 1), activation="relu", name="head"
    )
    layers["flatten"] = keras.layers.Flatten(name="flatten")
    layers["score"] = keras.layers.Dense(1, name="score")  # a logit: see the module docstring
    return layers


def build_tiny(spec: TinySpec) -> keras.Model:
    """Non-streaming tiny model over ``spec.window_frames`` frames -> keyword logit."""
    inputs = keras.Input((spec.window_frames, 1, N_CHANNELS), name="features")
    x = inputs
    for layer in _tiny_layers(spec).values():  # insertion order is the graph order
        x = layer(x)
    return keras.Model(inputs, x, name="tiny")


def build_tiny_streaming(spec: TinySpec, trained: keras.Model) -> keras.Model:
    """The streaming twin of a trained tiny model: inputs ``features [1, stride, 1, 40]`` and
    one state per stateful layer; outputs the score then each new state. Weights are copied.

    Each stateful layer (the dilated depthwise convolutions and the head) sees its carried
    history concatenated in front of its new step; the history minus its oldest step is the
    next state."""
    layers = _tiny_layers(spec)
    features = keras.Input((spec.stride_frames, 1, N_CHANNELS), batch_size=1, name="features")
    x = layers["stem"](features)
    states_in = []
    states_out = []
    stateful = [f"dw{i}" for i in range(len(spec.block_filters))] + ["head"]
    for index, (name, steps) in enumerate(zip(stateful, spec.state_steps, strict=True)):
        state = keras.Input((steps, 1, int(x.shape[-1])), batch_size=1, name=f"state_{index}")
        states_in.append(state)
        buffer = keras.layers.Concatenate(axis=1, name=f"buffer_{index}")([state, x])
        states_out.append(
            keras.layers.Cropping2D(((1, 0), (0, 0)), name=f"next_state_{index}")(buffer)
        )
        x = layers[name](buffer)
        if name != "head":
            x = layers[f"pw{index}"](x)
    score = layers["score"](layers["flatten"](x))
    model = keras.Model([features, *states_in], [score, *states_out], name="tiny_streaming")
    for name, layer in layers.items():
        if layer.weights:
            layer.set_weights(trained.get_layer(name).get_weights())
    return model


def build_full(spec: FullSpec) -> keras.Model:
    """Full model over ``spec.window_frames`` frames -> keyword logit."""
    inputs = keras.Input((spec.window_frames, 1, N_CHANNELS), name="features")
    x = keras.layers.Conv2D(
        spec.stem_filters,
        (spec.stem_kernel, 1),
        strides=(spec.stem_stride, 1),
        activation="relu",
        name="stem",
    )(inputs)
    for index, (filters, stride) in enumerate(
        zip(spec.block_filters, spec.block_strides, strict=True)
    ):
        # strides (s, s), not (s, 1): the width is 1, so "same" padding gives the same output,
        # and TensorFlow's CPU depthwise kernel without oneDNN (off by default on CPUs without
        # AVX-512) takes only equal strides
        x = keras.layers.DepthwiseConv2D(
            (spec.block_kernel, 1), strides=(stride, stride), padding="same", name=f"dw{index}"
        )(x)
        x = keras.layers.ReLU(name=f"dw_relu{index}")(x)
        x = keras.layers.Conv2D(filters, 1, activation="relu", name=f"pw{index}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(1, name="score")(x)  # a logit
    return keras.Model(inputs, outputs, name="full")


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates of one inference (convolutions and dense layers)."""
    total = 0
    for layer in model.layers:
        inner = getattr(layer, "layer", layer)  # QAT wrappers hold the real layer
        if isinstance(inner, keras.layers.DepthwiseConv2D):
            out = layer.output_shape
            kh, kw = inner.kernel_size
            total += int(out[1] * out[2] * out[3] * kh * kw)
        elif isinstance(inner, keras.layers.Conv2D):
            out = layer.output_shape
            kh, kw = inner.kernel_size
            in_channels = int(inner.input_shape[-1])
            total += int(out[1] * out[2] * out[3] * kh * kw * in_channels)
        elif isinstance(inner, keras.layers.Dense):
            total += int(inner.input_shape[-1]) * int(inner.units)
    return total
