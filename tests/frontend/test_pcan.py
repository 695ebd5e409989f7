"""PCAN stage: the gain lookup follows (noise + offset) ** -strength and louder means larger."""

from __future__ import annotations

import numba
import numpy as np

from kws.frontend import FrontendConfig
from kws.frontend.pcan import (
    PCAN_OUTPUT_Q_BITS,
    PCAN_SNR_Q_BITS,
    _shrink,
    _wide_dynamic_function,
    apply_pcan,
    input_correction_bits,
    pcan_params,
)


@numba.njit(cache=False)
def _gains(noise: np.ndarray, lut: np.ndarray) -> np.ndarray:
    out = np.empty_like(noise)
    for i in range(noise.shape[0]):
        out[i] = _wide_dynamic_function(noise[i], lut)
    return out


def test_gain_lookup_follows_the_power_law() -> None:
    config = FrontendConfig()
    params = pcan_params(config)
    assert params.snr_shift == 21 - 3 - PCAN_SNR_Q_BITS
    input_bits = config.smoothing_bits - input_correction_bits(config)
    noise = np.unique(np.geomspace(1, 1 << 30, 400).astype(np.int64))
    gains = _gains(noise, params.gain_lut)
    expected = (1 << config.pcan_gain_bits) * (
        noise / (1 << input_bits) + config.pcan_offset
    ) ** -config.pcan_strength
    expected = np.minimum(expected, 32767)
    # One quadratic per octave of noise: within 2% of the curve (and 2 units near zero).
    assert np.all(np.abs(gains - expected) <= np.maximum(2.0, 0.02 * expected))
    assert np.all(np.diff(gains) <= 0)  # more noise, less gain


def test_shrink_is_continuous_at_the_knee() -> None:
    knee = 2 << PCAN_SNR_Q_BITS
    below, at = _shrink(knee - 1), _shrink(knee)
    assert abs(at - below) <= 1
    assert at == (knee >> (PCAN_SNR_Q_BITS - PCAN_OUTPUT_Q_BITS)) - (1 << PCAN_OUTPUT_Q_BITS)
    assert _shrink(0) == 0


def test_louder_signal_over_the_same_noise_gives_larger_output() -> None:
    params = pcan_params(FrontendConfig())
    noise = np.full(8, 20000, dtype=np.int64)
    signal = np.array([0, 10, 100, 1000, 5000, 20000, 100000, 1000000], dtype=np.int64)
    apply_pcan(signal, noise, params.gain_lut, params.snr_shift)
    assert signal[0] == 0
    assert np.all(np.diff(signal) >= 0) and signal[-1] > signal[3] > 0
