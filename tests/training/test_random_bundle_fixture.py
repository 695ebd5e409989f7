"""The committed random-weight bundle (``tests/fixtures/random_bundle``) that the runtime's tests
load without TensorFlow is still what today's export makes: the same manifest fields, models
with the same tensors and quantization layout (not the same bytes: the weights are random and
the converter's output may differ between TensorFlow releases). And a float model, which only
TensorFlow can make here, is refused by the runtime."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from kws.bundle import read_bundle
from kws.errors import BundleError
from kws.model import TfliteModel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))
from make_random_bundle import random_bundle_contents  # noqa: E402

VARYING = {"sha256", "bytes", "scale", "zero_point", "macs"}  # per export, not per format


def _shape(value: Any) -> Any:
    """``value`` without the fields that vary between two exports of the same format."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items()) if k not in VARYING}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__ if isinstance(value, float) else value


@pytest.mark.slow
def test_the_committed_fixture_has_the_shape_of_todays_export() -> None:
    manifest, files = random_bundle_contents()
    committed = json.loads((FIXTURES / "random_bundle" / "manifest.json").read_text())
    today = json.loads(json.dumps(manifest))
    assert _shape(committed["models"]) == _shape(today["models"])
    assert set(today) <= set(committed)
    assert sorted(files) == sorted(p.name for p in (FIXTURES / "random_bundle").glob("*.tflite"))


def test_float_model_is_refused(random_bundle: Path) -> None:
    import tensorflow as tf

    from training.models import FullSpec, build_full

    content = tf.lite.TFLiteConverter.from_keras_model(build_full(FullSpec())).convert()
    bundle = read_bundle(random_bundle)
    with pytest.raises(BundleError, match="int8"):
        TfliteModel(content, bundle.models["full"], bundle.feature_scale)
