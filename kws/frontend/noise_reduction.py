"""Stage 4, noise reduction: subtract a slowly tracked per-channel noise floor.

TFLM ``noise_reduction.c``. Each channel keeps a noise estimate (scaled up by ``smoothing_bits``)
smoothed with Q14 coefficients (``NOISE_REDUCTION_Q_BITS``): even channels at one rate, odd at
another, so neighbouring channels settle differently. The output is the signal minus the
estimate, never below ``min_signal_remaining`` of the input. The estimate also drives PCAN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.config import FrontendConfig

# kNoiseReductionBits: smoothing coefficients and the floor fraction are Q14.
NOISE_REDUCTION_Q_BITS = 14
_UINT32_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class NoiseReductionParams:
    """Q14 constants of the stage (TFLM truncates ``float32(x) * 2**14`` to uint16)."""

    enabled: bool
    smoothing_bits: int
    even_smoothing_q14: int
    odd_smoothing_q14: int
    min_signal_remaining_q14: int


def _to_q14(fraction: float) -> int:
    return int(np.float32(fraction) * np.float32(1 << NOISE_REDUCTION_Q_BITS))


def noise_reduction_params(config: FrontendConfig) -> NoiseReductionParams:
    """Quantize the config's smoothing fractions as ``NoiseReductionPopulateState`` does."""
    return NoiseReductionParams(
        enabled=config.noise_reduction,
        smoothing_bits=config.smoothing_bits,
        even_smoothing_q14=_to_q14(config.even_smoothing),
        odd_smoothing_q14=_to_q14(config.odd_smoothing),
        min_signal_remaining_q14=_to_q14(config.min_signal_remaining),
    )


def noise_reduction_state(num_channels: int) -> npt.NDArray[np.int64]:
    """Fresh per-channel noise estimates (uint32 values), all zero as after TFLM's reset."""
    return np.zeros(num_channels, dtype=np.int64)


@numba.njit(cache=True, inline="always")
def apply_noise_reduction(
    signal: npt.NDArray[np.int64],
    estimate: npt.NDArray[np.int64],
    smoothing_bits: int,
    even_smoothing_q14: int,
    odd_smoothing_q14: int,
    min_signal_remaining_q14: int,
) -> None:
    """Update ``estimate`` from ``signal`` and replace ``signal`` by its noise-reduced value."""
    one_q14 = 1 << NOISE_REDUCTION_Q_BITS
    for i in range(signal.shape[0]):
        smoothing = even_smoothing_q14 if (i & 1) == 0 else odd_smoothing_q14
        value = signal[i]
        scaled_up = (value << smoothing_bits) & _UINT32_MASK
        # The update is a uint64 sum in TFLM; both terms are below 2**46, so int64 is exact.
        new_estimate = (
            (scaled_up * smoothing + estimate[i] * (one_q14 - smoothing)) >> NOISE_REDUCTION_Q_BITS
        ) & _UINT32_MASK
        estimate[i] = new_estimate
        if new_estimate > scaled_up:
            new_estimate = scaled_up
        floor = ((value * min_signal_remaining_q14) >> NOISE_REDUCTION_Q_BITS) & _UINT32_MASK
        subtracted = (scaled_up - new_estimate) >> smoothing_bits
        signal[i] = subtracted if subtracted > floor else floor
