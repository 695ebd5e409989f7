"""Window stage: Q12 Hann coefficients and the windowed frame's int16 arithmetic."""

from __future__ import annotations

import numpy as np

from kws.frontend import FrontendConfig
from kws.frontend.window import WINDOW_Q_BITS, apply_window, window_params


def test_coefficients_are_q12_hann() -> None:
    params = window_params(FrontendConfig())
    size = params.window_samples
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(size) + 0.5) / size)
    assert params.coefficients_q12.dtype == np.int16
    assert np.max(np.abs(params.coefficients_q12 - hann * (1 << WINDOW_Q_BITS))) <= 0.5 + 1e-3
    # Symmetric up to float32 rounding of cos (TFLM computes it in float32 too).
    coefficients = params.coefficients_q12.astype(np.int64)
    assert np.max(np.abs(coefficients - coefficients[::-1])) <= 1
    assert params.coefficients_q12.max() == 1 << WINDOW_Q_BITS


def test_apply_window_scales_and_reports_peak() -> None:
    params = window_params(FrontendConfig())
    samples = np.full(params.window_samples, 1000, dtype=np.int16)
    windowed = np.zeros(params.window_samples, dtype=np.int16)
    peak = apply_window(samples, 0, params.coefficients_q12, windowed)
    expected = (1000 * params.coefficients_q12.astype(np.int64)) >> WINDOW_Q_BITS
    assert np.array_equal(windowed, expected)
    assert peak == expected.max() == 1000


def test_silence_windows_to_zero() -> None:
    params = window_params(FrontendConfig())
    windowed = np.ones(params.window_samples, dtype=np.int16)
    peak = apply_window(
        np.zeros(params.window_samples, dtype=np.int16), 0, params.coefficients_q12, windowed
    )
    assert peak == 0 and not windowed.any()


def test_most_negative_sample_keeps_c_int16_semantics() -> None:
    # -32768 * 4096 >> 12 = -32768, whose int16 negation is itself: it never wins the max.
    params = window_params(FrontendConfig())
    samples = np.full(params.window_samples, -32768, dtype=np.int16)
    windowed = np.zeros(params.window_samples, dtype=np.int16)
    peak = apply_window(samples, 0, params.coefficients_q12, windowed)
    assert windowed.min() == -32768
    peaked = windowed[windowed != -32768]
    assert peak == int(np.abs(peaked.astype(np.int64)).max())
