"""Streaming parity: the tiny model's streaming twin equals the non-streaming model it was built
from (float, exactly) and its int8 TFLite export stays within quantization tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from training.export import convert_int8, describe
from training.models import (
    FullSpec,
    TinySpec,
    build_full,
    build_tiny,
    build_tiny_streaming,
    count_macs,
)


@pytest.fixture(scope="module")
def models():  # type: ignore[no-untyped-def]
    from training.models import keras

    keras.utils.set_random_seed(0)
    spec = TinySpec()
    tiny = build_tiny(spec)
    rng = np.random.default_rng(0)
    # non-trivial weights: scale the random init so activations are not all zero
    tiny.set_weights([w * 3 if w.ndim > 1 else w + 0.05 for w in tiny.get_weights()])
    return spec, tiny, build_tiny_streaming(spec, tiny), rng


def _stream(streaming, spec: TinySpec, frames: np.ndarray) -> list[float]:  # type: ignore[no-untyped-def]
    states = [np.zeros([int(d) for d in t.shape], np.float32) for t in streaming.inputs[1:]]
    scores = []
    for end in range(spec.stride_frames, frames.shape[0] + 1, spec.stride_frames):
        outputs = streaming(
            [frames[None, end - spec.stride_frames : end, None, :], *states], training=False
        )
        scores.append(float(outputs[0].numpy()[0, 0]))
        states = [o.numpy() for o in outputs[1:]]
    return scores


def test_streaming_equals_non_streaming_in_float(models) -> None:  # type: ignore[no-untyped-def]
    spec, tiny, streaming, rng = models
    frames = rng.uniform(0, 25, (spec.window_frames + 60, 40)).astype(np.float32)
    streamed = _stream(streaming, spec, frames)
    for offset in range(0, 61, spec.stride_frames):
        window = frames[None, offset : offset + spec.window_frames, None, :]
        expected = float(tiny(window, training=False).numpy()[0, 0])
        step = (offset + spec.window_frames) // spec.stride_frames - 1
        # float32 sums in another order (oneDNN or not): equal to a few ulps, not bit for bit
        assert streamed[step] == pytest.approx(expected, rel=1e-5, abs=1e-5)


def test_int8_streaming_export_tracks_float(models) -> None:  # type: ignore[no-untyped-def]
    from kws.bundle import sha256_bytes
    from kws.manifest import ModelSpec
    from kws.model import TfliteModel

    spec, tiny, streaming, rng = models
    sequences = [rng.uniform(0, 25, (120, 40)).astype(np.float32) for _ in range(3)]

    def representative():  # type: ignore[no-untyped-def]
        for frames in sequences:
            states = [np.zeros([int(d) for d in t.shape], np.float32) for t in streaming.inputs[1:]]
            for end in range(3, frames.shape[0] + 1, 3):
                chunk = frames[None, end - 3 : end, None, :]
                yield {"features": chunk, **{f"state_{i}": s for i, s in enumerate(states)}}
                states = [o.numpy() for o in streaming([chunk, *states], training=False)[1:]]

    content = convert_int8(streaming, representative)
    io = describe(content)
    spec_entry = {
        "file": "tiny.tflite",
        "streaming": True,
        "stride_frames": 3,
        "window_frames": 3,
        "score_activation": "sigmoid",
        "sha256": sha256_bytes(content),
        **io,
    }
    model = TfliteModel(content, ModelSpec.from_dict("tiny", spec_entry), 1.0, True)
    frames = sequences[0]
    float_scores = _stream(streaming, spec, frames)
    int8_scores = [
        model.step(np.round(frames[e - 3 : e]).astype(np.uint16)) for e in range(3, 121, 3)
    ]
    rounded = 1.0 / (1.0 + np.exp(-np.array(_stream(streaming, spec, np.round(frames)))))
    assert len(int8_scores) == len(float_scores)
    errors = np.abs(np.array(int8_scores) - rounded)
    # seven quantized layers on untrained weights, compared as probabilities (the model outputs
    # a logit, the runtime applies the sigmoid): a few hundredths at most
    assert errors.mean() < 0.03 and np.percentile(errors, 90) < 0.06


def test_macs_and_budget() -> None:
    spec = TinySpec()
    tiny = build_tiny_streaming(spec, build_tiny(spec))
    full = build_full(FullSpec())
    assert count_macs(tiny) * 100 / spec.stride_frames < 300_000  # a few hundred K MACs per second
    assert count_macs(full) < 1_000_000
    assert tiny.count_params() < 20_000 and full.count_params() < 100_000
