"""Log scale stage: the fixed-point log against float, its table, and uint16 saturation."""

from __future__ import annotations

import numba
import numpy as np

from kws.frontend import FrontendConfig
from kws.frontend.log_scale import (
    LOG_CORRECTION_Q16,
    LOG_Q_BITS,
    apply_log_scale,
    fixed_log,
    log_scale_params,
)


@numba.njit(cache=False)
def _logs(values: np.ndarray, scale_shift: int, table: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    for i in range(values.shape[0]):
        out[i] = fixed_log(values[i], scale_shift, table)
    return out


def test_correction_table_is_log2_minus_linear() -> None:
    fraction = np.arange(129) / 128
    assert np.all(
        np.abs(LOG_CORRECTION_Q16[:129] - (np.log2(1 + fraction) - fraction) * (1 << LOG_Q_BITS))
        <= 0.5
    )
    # Spot values of TFLM's published kLogLut.
    assert LOG_CORRECTION_Q16[[0, 1, 64, 127, 128]].tolist() == [0, 224, 5568, 142, 0]


def test_fixed_log_matches_float_log_within_one_unit() -> None:
    values = np.unique(np.geomspace(2, (1 << 32) - 1, 5000).astype(np.int64))
    ours = _logs(values, 6, LOG_CORRECTION_Q16)
    expected = np.log(values) * 64
    assert np.max(np.abs(ours - expected)) <= 1.0


def test_log_scale_applies_the_format_correction_and_zeroes_tiny_values() -> None:
    params = log_scale_params(FrontendConfig())
    signal = np.array([0, 1, (1 << 29) - 1], dtype=np.int64)
    out = np.zeros(3, dtype=np.uint16)
    apply_log_scale(signal, True, 6, params.correction_bits, LOG_CORRECTION_Q16, out)
    assert out[0] == 0  # log of zero is clamped to 0
    assert out[1] == round(np.log(1 << params.correction_bits) * 64)
    assert out[2] == round(np.log(((1 << 29) - 1) << 3) * 64)
    # With a negative correction, values that shift down to 0 or 1 give 0.
    apply_log_scale(np.array([7, 15, 16], dtype=np.int64), True, 6, -3, LOG_CORRECTION_Q16, out)
    assert out.tolist() == [0, 0, round(np.log(2) * 64)]


def test_log_off_passes_values_through_saturated() -> None:
    signal = np.array([5, 70000], dtype=np.int64)
    out = np.zeros(2, dtype=np.uint16)
    apply_log_scale(signal, False, 6, 3, LOG_CORRECTION_Q16, out)
    assert out.tolist() == [5, 0xFFFF]
