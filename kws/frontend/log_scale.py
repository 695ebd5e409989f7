"""Stage 6, log scale: fixed-point natural log of each channel, saturated to uint16.

TFLM ``log_scale.c``/``log_lut.c``: log2 is the position of the highest bit plus a fraction
read from a 128-segment correction table (Q16, ``LOG_Q_BITS``), converted to ln with a Q16
constant and scaled by ``2**scale_shift``. The input is first corrected by the filterbank's
fixed-point format so that the log refers to the same unit whatever the FFT size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.bits import most_significant_bit
from kws.frontend.config import FrontendConfig
from kws.frontend.pcan import input_correction_bits

# kLogScaleLog2 / kLogScale: the log fraction and the table are Q16.
LOG_Q_BITS = 16
# kLogSegmentsLog2: the fraction table has 2**7 segments.
LOG_SEGMENTS_BITS = 7
# kLogCoeff: ln(2) in Q16.
LOG_COEFF_Q16 = 45426
_ROUND_Q16 = 1 << (LOG_Q_BITS - 1)
_UINT16_MAX = 0xFFFF
_UINT32_MASK = 0xFFFFFFFF


def _log_correction_table() -> npt.NDArray[np.int64]:
    """``log2(1 + f) - f`` in Q16 at the 129 segment edges of f in [0, 1], plus one pad entry.

    The piecewise-linear correction that turns the linear fraction of x / 2**msb into log2;
    rounding to nearest reproduces TFLM's ``kLogLut`` entry for entry (see test_log_scale.py).
    """
    segments = 1 << LOG_SEGMENTS_BITS
    fraction = np.arange(segments + 1, dtype=np.float64) / segments
    table = np.round((np.log2(1.0 + fraction) - fraction) * (1 << LOG_Q_BITS)).astype(np.int64)
    padded: npt.NDArray[np.int64] = np.concatenate([table, np.zeros(1, dtype=np.int64)])
    return padded


LOG_CORRECTION_Q16 = _log_correction_table()


@dataclass(frozen=True)
class LogScaleParams:
    """Constants of the stage."""

    enabled: bool
    scale_shift: int
    correction_bits: int


def log_scale_params(config: FrontendConfig) -> LogScaleParams:
    """The scale shift and the filterbank-format correction for this config."""
    return LogScaleParams(
        enabled=config.log_scale,
        scale_shift=config.log_scale_shift,
        correction_bits=input_correction_bits(config),
    )


@numba.njit(cache=True)
def _log2_fraction_q16(x: int, log2_integer: int, table: npt.NDArray[np.int64]) -> int:
    # Align the bits below the leading one to Q16; only one of the two shifts is non-zero
    # (no branch, so the channel loop can vectorise).
    frac = x - (1 << log2_integer)
    frac = (frac << max(LOG_Q_BITS - log2_integer, 0)) >> max(log2_integer - LOG_Q_BITS, 0)
    segment = frac >> (LOG_Q_BITS - LOG_SEGMENTS_BITS)
    segment_unit = (1 << LOG_Q_BITS) >> LOG_SEGMENTS_BITS
    c0 = int(table[segment])
    c1 = int(table[segment + 1])
    relative = ((c1 - c0) * (frac - segment_unit * segment)) >> LOG_Q_BITS
    return frac + c0 + relative


@numba.njit(cache=True)
def fixed_log(x: int, scale_shift: int, table: npt.NDArray[np.int64]) -> int:
    """``round(ln(x) * 2**scale_shift)`` in TFLM's fixed point, for 1 < x < 2**32."""
    integer = most_significant_bit(x) - 1
    log2_q16 = ((integer << LOG_Q_BITS) + _log2_fraction_q16(x, integer, table)) & _UINT32_MASK
    loge_q16 = ((LOG_COEFF_Q16 * log2_q16 + _ROUND_Q16) >> LOG_Q_BITS) & _UINT32_MASK
    return ((((loge_q16 << scale_shift) & _UINT32_MASK) + _ROUND_Q16) & _UINT32_MASK) >> LOG_Q_BITS


@numba.njit(cache=True, inline="always")
def apply_log_scale(
    signal: npt.NDArray[np.int64],
    enabled: bool,
    scale_shift: int,
    correction_bits: int,
    table: npt.NDArray[np.int64],
    features_out: npt.NDArray[np.uint16],
) -> None:
    """Write the uint16 features of one frame from the (uint32) channel values."""
    # One shift or the other (exactly one is non-zero), then the log where the value exceeds 1;
    # selects rather than branches, so the loop vectorises.
    left = max(correction_bits, 0)
    right = max(-correction_bits, 0)
    for i in range(signal.shape[0]):
        value = signal[i]
        if enabled:
            value = ((value << left) & _UINT32_MASK) >> right
            logged = fixed_log(max(value, 2), scale_shift, table)
            value = logged if value > 1 else 0
        features_out[i] = min(value, _UINT16_MAX)
