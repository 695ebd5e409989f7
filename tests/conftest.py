"""Fixtures shared across test packages: a real int8 bundle built from randomly initialised
models (seconds, no training), and generated audio files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile


@pytest.fixture(scope="session", autouse=True)
def compiled_frontend() -> None:
    """Compile the frontend (into Numba's on-disk cache) before any test runs kws in a
    subprocess: on a fresh clone the first such run would otherwise print the one-time
    compile notice, which tests counting stderr lines do not expect."""
    from kws.frontend import compute_features

    compute_features(np.zeros(1600, np.int16))


@pytest.fixture(scope="session")
def random_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete, valid bundle whose models are untrained (random weights) but int8-exported
    exactly as `kws train` does."""
    from kws.bundle import write_bundle
    from kws.frontend import FEATURE_SCALE, FrontendConfig
    from training.export import convert_int8
    from training.models import FullSpec, TinySpec, build_full, build_tiny, build_tiny_streaming
    from training.pipeline import _model_entry

    tiny_spec = TinySpec()
    full_spec = FullSpec()
    tiny = build_tiny_streaming(tiny_spec, build_tiny(tiny_spec))
    full = build_full(full_spec)
    rng = np.random.default_rng(0)

    def tiny_samples():  # type: ignore[no-untyped-def]
        for _ in range(8):
            record = {"features": rng.uniform(0, 25, (1, 3, 1, 40)).astype(np.float32)}
            for index, tensor in enumerate(tiny.inputs[1:]):
                shape = [int(d) for d in tensor.shape]
                record[f"state_{index}"] = rng.uniform(0, 2, shape).astype(np.float32)
            yield record

    def full_samples():  # type: ignore[no-untyped-def]
        for _ in range(8):
            yield {"features": rng.uniform(0, 25, (1, 150, 1, 40)).astype(np.float32)}

    contents = {"tiny": convert_int8(tiny, tiny_samples), "full": convert_int8(full, full_samples)}
    models = {
        "tiny": _model_entry("tiny", contents["tiny"], tiny_spec, tiny, True, "tiny"),
        "full": _model_entry("full", contents["full"], full_spec, full, False, "full"),
    }
    manifest = {
        "schema_version": 1,
        "keyword": "test word",
        "frontend": FrontendConfig().to_dict(),
        "frontend_hash": FrontendConfig().hash(),
        "feature_scale": FEATURE_SCALE,
        "models": models,
        "thresholds": {
            "wake": 0.5,
            "detect": 0.9,
            "smoothing_frames": 2,
            "wake_window_s": 0.6,
            "preroll_s": 1.5,
            "refractory_s": 1.0,
        },
    }
    out = tmp_path_factory.mktemp("bundles") / "random"
    return write_bundle(
        out, manifest, {"tiny.tflite": contents["tiny"], "full.tflite": contents["full"]}
    )


@pytest.fixture()
def noise_wav(tmp_path: Path) -> Path:
    """Three seconds of quiet noise at 16 kHz."""
    path = tmp_path / "noise.wav"
    pcm = (np.random.default_rng(1).standard_normal(48000) * 800).astype(np.int16)
    soundfile.write(path, pcm, 16000)
    return path


@pytest.fixture(scope="session")
def demo_recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`make demo`'s two recordings: "hey jarvis" inside a sentence (the default bundle detects
    it at about 3.2 s) and speech without it."""
    from kws_cli.demo import make_recordings

    return make_recordings(tmp_path_factory.mktemp("demo"))
