"""Fixtures shared across test packages: a real int8 bundle with random weights (committed),
and generated audio files."""

from __future__ import annotations

import shutil
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
    exactly as `kws train` does: a copy of the committed ``tests/fixtures/random_bundle``
    (``tests/fixtures/make_random_bundle.py`` makes it), so no test needs TensorFlow for it."""
    out = tmp_path_factory.mktemp("bundles") / "random"
    shutil.copytree(Path(__file__).parent / "fixtures" / "random_bundle", out)
    return out


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
