"""The tiny model's native step (``kws.int8_step``): LiteRT's XNNPACK scores and states bit for
bit, used only where it agrees, and never for what it does not run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kws.bundle import read_bundle
from kws.defaults import SHIPPED_MODELS_DIR
from kws.frontend import compute_features
from kws.int8_step import Int8Step, agrees_with
from kws.loading import load_model
from kws.model import TfliteModel

SHIPPED = sorted(p for p in SHIPPED_MODELS_DIR.iterdir() if (p / "manifest.json").is_file())


def _models(bundle_dir: Path, role: str, **options: bool) -> tuple[TfliteModel, TfliteModel]:
    """The bundle's model as the runtime loads it, and LiteRT alone (XNNPACK, in place)."""
    bundle = read_bundle(bundle_dir)
    spec = bundle.models[role]
    content = (bundle_dir / spec.file).read_bytes()
    return (
        TfliteModel(content, spec, bundle.feature_scale, **options),
        TfliteModel(content, spec, bundle.feature_scale, native=False),
    )


def _speechlike_features(seconds: float) -> np.ndarray:
    """Features of seeded noise bursts and tones: the models' states swing over their range."""
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * 16000)) / 16000
    envelope = (np.sin(2 * np.pi * 1.3 * t) > 0).astype(np.float64)
    audio = envelope * (0.3 * rng.standard_normal(t.size) + 0.4 * np.sin(2 * np.pi * 440 * t))
    return compute_features((np.clip(audio, -1, 1) * 20000).astype(np.int16))


@pytest.mark.parametrize("bundle_dir", SHIPPED, ids=[path.name for path in SHIPPED])
def test_the_shipped_tiny_models_step_natively_with_litert_scores_and_states(
    bundle_dir: Path,
) -> None:
    native, litert = _models(bundle_dir, "tiny")
    assert native._native is not None and litert._native is None
    features = _speechlike_features(60.0)
    stride = native.window_frames
    scores_native, scores_litert = [], []
    for end in range(stride, features.shape[0] + 1, stride):
        window = np.ascontiguousarray(features[end - stride : end])
        scores_native.append(native.step(window))
        scores_litert.append(litert.step(window))
        # the states too (the native arena's inputs, LiteRT's state inputs after its copy)
        if end % (50 * stride) == 0:
            assert litert._views is not None
            for got, want in zip(
                native._native.state_values(), litert._views.state_inputs, strict=True
            ):
                np.testing.assert_array_equal(got, want.reshape(-1))
    assert scores_native == scores_litert
    assert len(set(scores_native)) > 20  # the scores moved: the check saw the model work


def test_a_reset_native_step_starts_again_from_the_initial_states(random_bundle: Path) -> None:
    native, _ = _models(random_bundle, "tiny")
    assert native._native is not None
    frames = np.random.default_rng(0).integers(0, 700, (3, 40)).astype(np.uint16)
    first = [native.step(frames) for _ in range(30)]
    native.reset()
    assert [native.step(frames) for _ in range(30)] == first
    native.invoke()  # the operators alone, on what the arena holds (benchmarks)


def test_windows_laid_out_otherwise_score_alike_and_a_wrong_shape_is_refused(
    random_bundle: Path,
) -> None:
    native, litert = _models(random_bundle, "tiny")
    features = _speechlike_features(3.0)
    strided = np.asfortranarray(features[30:33])  # not C-contiguous: LiteRT's path
    contiguous = np.ascontiguousarray(features[30:33])
    assert native.step(strided) == litert.step(strided)
    native.reset()
    litert.reset()
    assert native.step(contiguous) == litert.step(contiguous)
    with pytest.raises(ValueError, match="shape"):
        native.step(np.ascontiguousarray(features[30:34]))


def test_reference_kernels_and_the_full_model_stay_with_litert(random_bundle: Path) -> None:
    reference, _ = _models(random_bundle, "tiny", reference_kernels=True)
    assert reference._native is None  # TFLM's rounding, not XNNPACK's
    bundle = read_bundle(random_bundle)
    full = load_model(random_bundle, bundle.models["full"], bundle.feature_scale)
    assert full._native is None
    content = (random_bundle / bundle.models["full"].file).read_bytes()
    assert Int8Step.build(content, 0, 0, []) is None  # convolutions over many positions


def test_a_native_step_that_disagrees_with_litert_is_not_used(random_bundle: Path) -> None:
    native, litert = _models(random_bundle, "tiny")
    step = native._native
    assert step is not None
    window = (native.window_frames, 40)

    def litert_step(frames: np.ndarray) -> tuple[int, list[np.ndarray]]:
        litert.step(frames)
        assert litert._views is not None
        states = [view.reshape(-1).copy() for view in litert._views.state_inputs]
        return int(litert._views.score_byte[0]), states

    native_step, _ = step.kernels(native._lut, np.zeros(window, np.uint16))
    litert.reset()
    assert agrees_with(step, native_step, native._lut, litert_step, window)
    step.weights[0] = np.int8(-step.weights[0] - 1)  # one weight off: another model
    litert.reset()
    assert not agrees_with(step, native_step, native._lut, litert_step, window)


def test_the_native_kernels_cache_is_stamped_with_every_source_they_inline() -> None:
    # Numba checks a cached kernel against its own file only; these inline the frontend's
    import kws.always_on  # noqa: F401  (its kernels share the folder and the stamp)
    from kws import int8_step
    from kws.frontend.kernel_cache import FRONTEND_DIR, STAMP_NAME, sources_digest

    cache_dir = Path(int8_step.step_blob._cache._cache_path)
    here = Path(int8_step.__file__)
    sources = [*FRONTEND_DIR.glob("*.py"), here, here.with_name("always_on.py")]
    assert (cache_dir / STAMP_NAME).read_text() == sources_digest(sources)
