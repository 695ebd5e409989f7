"""Stage 5, PCAN: per-channel automatic gain control against the noise estimate.

TFLM ``pcan_gain_control.c`` (Wang et al., "Trainable frontend for robust and far-field keyword
spotting"). The gain ``2**gain_bits * (noise + offset) ** -strength`` is read from a piecewise
quadratic lookup table indexed by the estimate's highest bit; the signal-to-noise value is in
Q12 (``PCAN_SNR_Q_BITS``) and is compressed into Q6 (``PCAN_OUTPUT_Q_BITS``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.bits import most_significant_bit, wrap_int16
from kws.frontend.config import FrontendConfig
from kws.frontend.filterbank import FILTERBANK_Q_BITS

# kPcanSnrBits / kPcanOutputBits: SNR is Q12, the shrunk output Q6.
PCAN_SNR_Q_BITS = 12
PCAN_OUTPUT_Q_BITS = 6
# kWideDynamicFunctionBits: the lookup table covers 32-bit noise estimates.
WIDE_DYNAMIC_FUNCTION_BITS = 32
WIDE_DYNAMIC_FUNCTION_LUT_SIZE = 4 * WIDE_DYNAMIC_FUNCTION_BITS - 3
_INT16_MAX = 0x7FFF
_UINT32_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class PcanParams:
    """Constants of the stage: the gain LUT (int16 values) and the SNR shift."""

    enabled: bool
    gain_lut: npt.NDArray[np.int64]
    snr_shift: int


def input_correction_bits(config: FrontendConfig) -> int:
    """Bits the filterbank output carries beyond Q0 (TFLM's ``input_correction_bits``)."""
    # MostSignificantBit32(fft_size) is bit_length(): 10 for 512.
    return config.fft_size.bit_length() - 1 - FILTERBANK_Q_BITS // 2


def _gain(config: FrontendConfig, input_bits: int, x: int) -> int:
    """``PcanGainLookupFunction`` in float32, saturated to int16 and rounded half up."""
    x_float = np.float32(np.float32(x) / np.float32(1 << input_bits))
    gain = np.float32(
        np.float32(1 << config.pcan_gain_bits)
        * np.power(
            np.float32(x_float + np.float32(config.pcan_offset)),
            np.float32(-np.float32(config.pcan_strength)),
        )
    )
    if gain > _INT16_MAX:
        return _INT16_MAX
    return int(np.float32(gain + np.float32(0.5)))


def pcan_params(config: FrontendConfig) -> PcanParams:
    """Gain LUT exactly as ``PcanGainControlPopulateState`` lays it out (offset by -6)."""
    correction = input_correction_bits(config)
    input_bits = config.smoothing_bits - correction
    lut = np.zeros(WIDE_DYNAMIC_FUNCTION_LUT_SIZE, dtype=np.int64)
    lut[0] = _gain(config, input_bits, 0)
    lut[1] = _gain(config, input_bits, 1)
    for interval in range(2, WIDE_DYNAMIC_FUNCTION_BITS + 1):
        x0 = 1 << (interval - 1)
        x1 = x0 + (x0 >> 1)
        x2 = x0 + (x0 - 1) if interval == WIDE_DYNAMIC_FUNCTION_BITS else 2 * x0
        y0 = _gain(config, input_bits, x0)
        y1 = _gain(config, input_bits, x1)
        y2 = _gain(config, input_bits, x2)
        a1 = 4 * (y1 - y0) - (y2 - y0)
        a2 = (y2 - y0) - a1
        base = 4 * interval - 6
        lut[base] = y0
        lut[base + 1] = wrap_int16(a1)
        lut[base + 2] = wrap_int16(a2)
    return PcanParams(
        enabled=config.pcan,
        gain_lut=lut,
        snr_shift=config.pcan_gain_bits - correction - PCAN_SNR_Q_BITS,
    )


@numba.njit(cache=True)
def _wide_dynamic_function(x: int, lut: npt.NDArray[np.int64]) -> int:
    """Gain for noise estimate ``x``: quadratic interpolation inside its power-of-two interval."""
    # Written without branches (selects instead) so the channel loop can vectorise.
    interval = most_significant_bit(x)
    base = max(4 * interval - 6, 0)
    # The 10 bits below the leading one; only one of the two shifts is non-zero.
    frac = ((x << max(11 - interval, 0)) >> max(interval - 11, 0)) & 0x3FF
    result = (lut[base + 2] * frac) >> 5
    result += lut[base + 1] << 5
    result = (result * frac + (1 << 14)) >> 15
    interpolated = wrap_int16(result + lut[base])
    return int(lut[min(x, 2)]) if x <= 2 else interpolated


@numba.njit(cache=True)
def _shrink(snr: int) -> int:
    """``PcanShrink``: quadratic below 2.0 (Q12), linear minus 1.0 above, into Q6."""
    quadratic = (snr * snr) >> (2 + 2 * PCAN_SNR_Q_BITS - PCAN_OUTPUT_Q_BITS)
    linear = (snr >> (PCAN_SNR_Q_BITS - PCAN_OUTPUT_Q_BITS)) - (1 << PCAN_OUTPUT_Q_BITS)
    return quadratic if snr < (2 << PCAN_SNR_Q_BITS) else linear


@numba.njit(cache=True, inline="always")
def apply_pcan(
    signal: npt.NDArray[np.int64],
    noise_estimate: npt.NDArray[np.int64],
    gain_lut: npt.NDArray[np.int64],
    snr_shift: int,
) -> None:
    """Replace each channel of ``signal`` by its gain-normalised, compressed value."""
    for i in range(signal.shape[0]):
        gain = _wide_dynamic_function(noise_estimate[i], gain_lut) & _UINT32_MASK
        snr = ((signal[i] * gain) >> snr_shift) & _UINT32_MASK
        signal[i] = _shrink(snr) & _UINT32_MASK
