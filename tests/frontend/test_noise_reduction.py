"""Noise reduction stage: the estimate tracks a steady signal and the output falls to its floor."""

from __future__ import annotations

import numpy as np

from kws.frontend import FrontendConfig
from kws.frontend.noise_reduction import (
    NOISE_REDUCTION_Q_BITS,
    apply_noise_reduction,
    noise_reduction_params,
    noise_reduction_state,
)


def _run(steady_value: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    params = noise_reduction_params(FrontendConfig())
    estimate = noise_reduction_state(4)
    outputs = []
    for _ in range(frames):
        signal = np.full(4, steady_value, dtype=np.int64)
        apply_noise_reduction(
            signal,
            estimate,
            params.smoothing_bits,
            params.even_smoothing_q14,
            params.odd_smoothing_q14,
            params.min_signal_remaining_q14,
        )
        outputs.append(signal.copy())
    return np.array(outputs), estimate


def test_constants_are_truncated_q14() -> None:
    params = noise_reduction_params(FrontendConfig())
    assert (params.even_smoothing_q14, params.odd_smoothing_q14) == (409, 983)
    assert params.min_signal_remaining_q14 == 819
    assert params.smoothing_bits == 10


def test_steady_signal_is_removed_down_to_the_floor() -> None:
    steady = 5000
    outputs, estimate = _run(steady, 600)
    # First frame: the estimate has barely moved, nearly all of the signal passes.
    assert outputs[0, 0] > 0.95 * steady
    # Later: the estimate has converged (scaled up by smoothing_bits) ...
    assert np.all(np.abs(estimate - (steady << 10)) < (steady << 10) * 0.01)
    # ... and only the floor, min_signal_remaining of the input, remains.
    floor = (steady * 819) >> NOISE_REDUCTION_Q_BITS
    assert np.all(outputs[-1] == floor)


def test_odd_channels_adapt_faster_than_even() -> None:
    outputs, _ = _run(5000, 20)
    assert np.all(outputs[5:, 1] < outputs[5:, 0])


def test_silence_stays_silent() -> None:
    outputs, estimate = _run(0, 10)
    assert not outputs.any() and not estimate.any()
