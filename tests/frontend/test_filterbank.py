"""Filterbank stage: mel tables, the exact integer square root, and tones in the right channel."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from kws.frontend import FrontendConfig, compute_features
from kws.frontend.filterbank import (
    FILTERBANK_Q_BITS,
    _rounded_sqrt,
    _sqrt32,
    _sqrt64,
    filterbank_params,
)
from kws.frontend.signals import tone_pcm

LINEAR_ONLY = FrontendConfig(noise_reduction=False, pcan=False)


def test_tables_cover_the_band_once() -> None:
    config = FrontendConfig()
    params = filterbank_params(config)
    hz_per_bin = config.sample_rate_hz / config.fft_size
    assert params.start_bin == int(1.5 + config.lower_band_hz / hz_per_bin)
    assert params.end_bin * hz_per_bin > config.upper_band_hz
    assert params.bin_channel.shape[0] == params.end_bin - params.start_bin
    assert np.all(np.diff(params.bin_channel) >= 0)  # channels rise with frequency
    assert set(params.bin_channel.tolist()) <= set(range(config.num_channels + 1))
    one = 1 << FILTERBANK_Q_BITS
    # A rising and a falling slope share each bin: their weights add up to 1.0 (Q12), +-1.
    assert np.all(np.abs(params.weights_q12 + params.unweights_q12 - one) <= 1)
    assert np.all((params.weights_q12 >= 0) & (params.weights_q12 <= one))
    assert np.all(np.diff(params.center_hz) > 0)


@numba.njit(cache=False)
def _bitwise_sqrt(values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    for i in range(values.shape[0]):
        out[i] = _sqrt64(values[i])
    return out


@numba.njit(cache=False)
def _fast_sqrt(values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    for i in range(values.shape[0]):
        out[i] = _rounded_sqrt(values[i])
    return out


def test_fast_square_root_equals_tflm_bitwise_one() -> None:
    rng = np.random.default_rng(0)
    squares = np.arange(1, 3000, dtype=np.int64) ** 2
    values = np.concatenate(
        [
            np.arange(0, 5000, dtype=np.int64),
            squares - 1,
            squares,
            squares + np.arange(1, 3000),  # exactly halfway between roots: rounding edge
            rng.integers(0, 1 << 52, 20000, dtype=np.int64),
            np.array([(1 << 32) - 1, 1 << 32, (1 << 32) + 1, 65535**2 + 65535, (1 << 52) - 1]),
        ]
    )
    assert np.array_equal(_fast_sqrt(values), _bitwise_sqrt(values))


def test_square_root_rounds_to_nearest() -> None:
    assert [_sqrt32(v) for v in (0, 1, 2, 3, 4, 6, 7, 9, 12, 13)] == [0, 1, 1, 2, 2, 2, 3, 3, 3, 4]


@pytest.mark.parametrize("channel", [0, 7, 20, 39])
def test_pure_tone_peaks_in_its_channel(channel: int) -> None:
    params = filterbank_params(LINEAR_ONLY)
    features = compute_features(tone_pcm(params.center_hz[channel], 0.5), LINEAR_ONLY)
    assert features.shape == (48, 40)
    assert np.all(np.argmax(features[5:], axis=1) == channel)


def test_silence_gives_zero_features() -> None:
    features = compute_features(np.zeros(16000, dtype=np.int16))
    assert features.shape == (98, 40)
    assert not features.any()
