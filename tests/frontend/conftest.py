"""Shared fixtures for the frontend tests: generated audio and the TFLM reference frontend."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from kws.frontend import FEATURE_SCALE
from kws.frontend.signals import bench_pcm, noise_pcm

HOP_SAMPLES = 160


@pytest.fixture(scope="session")
def speech_pcm() -> npt.NDArray[np.int16]:
    """Four seconds of speech-like audio over a noise floor."""
    return bench_pcm(4.0, seed=11)


@pytest.fixture(scope="session")
def loud_noise_pcm() -> npt.NDArray[np.int16]:
    """Three seconds of white noise at -12 dBFS."""
    return noise_pcm(3.0, seed=5, level_dbfs=-12.0)


@pytest.fixture(scope="session")
def tflm_features() -> Callable[[npt.NDArray[np.int16]], npt.NDArray[np.int64]]:
    """The TFLM C++ frontend (pymicro-features, from the ``[dev]`` extra: a missing install is
    an error, not a silent skip) in 10 ms steps, as uint16 feature units."""
    import pymicro_features

    def run(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int64]:
        frontend = pymicro_features.MicroFrontend()
        frames = []
        for start in range(0, pcm.shape[0] - HOP_SAMPLES + 1, HOP_SAMPLES):
            output = frontend.process_samples(pcm[start : start + HOP_SAMPLES].tobytes())
            if output.features:
                frames.append(output.features)
        values = np.array(frames, dtype=np.float64).reshape(-1, 40)
        return np.rint(values / FEATURE_SCALE).astype(np.int64)

    return run
