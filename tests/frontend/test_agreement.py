"""Agreement with the TFLM C++ frontend (pymicro-features: bit-exact) and with a float
reference."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from kws.frontend import FrontendConfig, compute_features
from kws.frontend.filterbank import FILTERBANK_Q_BITS, filterbank_params
from kws.frontend.signals import bench_pcm, noise_pcm, speech_like_pcm, tone_pcm

TflmRun = Callable[[npt.NDArray[np.int16]], npt.NDArray[np.int64]]


def _square_wave_clipped() -> npt.NDArray[np.int16]:
    t = np.arange(32000)
    square = np.where((t // 8) % 2 == 0, 32767, -32768)
    sweep = np.clip(3 * 32767 * np.sin(2 * np.pi * (200 + t / 20) * t / 16000), -32768, 32767)
    return np.concatenate([square, np.round(sweep)]).astype(np.int16)


SIGNALS = {
    "speech_over_noise": lambda: bench_pcm(4.0, seed=11),
    "speech_quiet": lambda: speech_like_pcm(3.0, seed=4, level_dbfs=-45.0),
    "white_noise": lambda: noise_pcm(3.0, seed=5, level_dbfs=-12.0),
    "full_scale_and_clipped": _square_wave_clipped,
    "tone_then_silence": lambda: np.concatenate(
        [tone_pcm(1000.0, 1.0, 0.3), np.zeros(16000, np.int16)]
    ),
}


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_agrees_with_tflm_frontend(name: str, tflm_features: TflmRun) -> None:
    pcm = SIGNALS[name]()
    ours = compute_features(pcm).astype(np.int64)
    reference = tflm_features(pcm)
    np.testing.assert_array_equal(ours, reference)  # bit-exact, every frame and channel
    assert reference.max() > 0  # a real comparison, not zeros against zeros


def test_float_reference_bounds_fixed_point_error_in_db() -> None:
    """Filterbank path only (no noise reduction, no PCAN) against numpy in float64.

    With the TFLM scaling (FFT divided by its size, Q12 weights, log correction bits) the float
    equivalent of a feature is ``64 * ln(sqrt(sum_k weight_k * |DFT(x * hann)[k]|**2))``.
    """
    config = FrontendConfig(noise_reduction=False, pcan=False)
    pcm = bench_pcm(4.0, seed=11)
    ours = compute_features(pcm, config).astype(np.float64)

    params = filterbank_params(config)
    size = config.window_samples
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(size) + 0.5) / size)
    frames = np.lib.stride_tricks.sliding_window_view(pcm.astype(np.float64), size)
    power = np.abs(np.fft.rfft(frames[:: config.hop_samples] * hann, n=config.fft_size)) ** 2
    weights = np.zeros((power.shape[1], config.num_channels + 2))
    scale = 1 << FILTERBANK_Q_BITS
    for k, channel in enumerate(params.bin_channel):
        weights[params.start_bin + k, channel] += params.weights_q12[k] / scale
        weights[params.start_bin + k, channel + 1] += params.unweights_q12[k] / scale
    mel_power = power @ weights[:, 1 : config.num_channels + 1]
    reference = 64 * np.log(np.sqrt(np.maximum(mel_power, 1e-30)))

    assert ours.shape == reference.shape
    error_db = np.abs(ours - reference) / 64 * 20 / np.log(10)  # 1 unit = ln / 64
    assert np.median(error_db) < 0.1
    assert np.percentile(error_db, 99) < 0.5
    assert error_db.max() < 1.5
