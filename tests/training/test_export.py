"""The score tensor's int8 range is rewritten to a fixed logit range after conversion; the
rewritten model must give the same logits as the converter's own (to within one output step)
and clamp at the new range's ends."""

from __future__ import annotations

import numpy as np
import pytest

from kws.bundle import sha256_bytes
from kws.manifest import ModelSpec
from kws.model import TfliteModel
from training.export import SCORE_LOGIT_RANGE, convert_int8, describe, set_score_range
from training.fit import to_input
from training.models import FullSpec, build_full, keras


def _runner(content: bytes) -> TfliteModel:
    spec = {"file": "full.tflite", "streaming": False, "stride_frames": 3, "window_frames": 150}
    entry = {**spec, **describe(content), "sha256": sha256_bytes(content)}
    return TfliteModel(content, ModelSpec.from_dict("full", entry), 0.0390625, True)


def test_rewritten_score_range_keeps_the_logits() -> None:
    keras.utils.set_random_seed(0)
    model = build_full(FullSpec())
    rng = np.random.default_rng(0)
    windows = rng.integers(0, 700, (40, 150, 40)).astype(np.uint16)
    score = model.get_layer("score")
    kernel, bias = score.get_weights()
    logits = model.predict(to_input(windows), verbose=0)[:, 0]
    kernel = kernel * (8.0 / logits.std())  # logits spread over about +-16
    score.set_weights([kernel, bias * 0])
    score.set_weights([kernel, -np.atleast_1d(model.predict(to_input(windows), verbose=0).mean())])

    def representative():  # type: ignore[no-untyped-def]
        for window in windows[:20]:
            yield {"features": to_input(window[None])}

    content = convert_int8(model, representative)
    low, high = SCORE_LOGIT_RANGE
    wide = set_score_range(content, low, high)
    output = describe(wide)["outputs"][0]
    assert output["scale"] == pytest.approx((high - low) / 255)
    ends = (np.array([-128, 127]) - output["zero_point"]) * output["scale"]
    np.testing.assert_allclose(ends, [low, high], atol=output["scale"])

    before, after = _runner(content), _runner(wide)
    converted = describe(content)["outputs"][0]
    step = max(converted["scale"], output["scale"])
    old_low, old_high = (np.array([-128, 127]) - converted["zero_point"]) * converted["scale"]
    old = np.array([before.step(w) for w in windows])
    new = np.array([after.step(w) for w in windows])
    # compare where neither range clamps
    inside = (old > max(low, old_low) + step) & (old < min(high, old_high) - step)
    assert inside.sum() >= 20
    np.testing.assert_allclose(new[inside], old[inside], atol=step)
    assert new.max() <= high + output["scale"] and new.min() >= low - output["scale"]
    assert new.max() > old_high  # logits the converter's range clamped now get through
