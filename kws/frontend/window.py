"""Stage 1, window: Hann coefficients in Q12, applied to one frame of int16 samples.

TFLM ``window.c``/``window_util.c``: coefficient ``0.5 - 0.5*cos(2*pi*(i+0.5)/N)`` computed in
float32, scaled by ``2**WINDOW_Q_BITS`` and rounded; output ``(sample * coef) >> WINDOW_Q_BITS``
stored as int16. The stage also reports the largest |output|, which sets the FFT's input shift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.bits import wrap_int16
from kws.frontend.config import FrontendConfig

# kFrontendWindowBits: coefficients are Q12 (4096 = 1.0).
WINDOW_Q_BITS = 12


@dataclass(frozen=True)
class WindowParams:
    """Constants of the window stage: sizes and the Q12 coefficients (int16)."""

    window_samples: int
    hop_samples: int
    coefficients_q12: npt.NDArray[np.int16]


def window_params(config: FrontendConfig) -> WindowParams:
    """Build the Q12 Hann window exactly as TFLM does (float32 arithmetic, round half up)."""
    size = config.window_samples
    arg = np.float32(np.pi) * np.float32(2.0) / np.float32(size)
    index = np.arange(size, dtype=np.float32)
    value = np.float32(0.5) - np.float32(0.5) * np.cos(arg * (index + np.float32(0.5)))
    scaled = np.floor(value.astype(np.float32) * np.float32(1 << WINDOW_Q_BITS) + np.float32(0.5))
    return WindowParams(
        window_samples=size,
        hop_samples=config.hop_samples,
        coefficients_q12=scaled.astype(np.int16),
    )


@numba.njit(cache=True, inline="always")
def apply_window(
    samples: npt.NDArray[np.int16],
    start: int,
    coefficients_q12: npt.NDArray[np.integer[Any]],
    windowed: npt.NDArray[np.int16],
) -> int:
    """Window ``samples[start:start+N]`` into ``windowed``; returns max |windowed| (int16 rules).

    The absolute value follows C int16 negation: |-32768| stays -32768 and so never wins the max.
    """
    max_abs = 0
    size = coefficients_q12.shape[0]
    frame = samples[start : start + size]  # indexed by i alone: see ``window_peak``
    for i in range(size):
        value = (int(frame[i]) * int(coefficients_q12[i])) >> WINDOW_Q_BITS
        windowed[i] = value
        magnitude = wrap_int16(-value) if value < 0 else value
        if magnitude > max_abs:
            max_abs = magnitude
    return max_abs


@numba.njit(cache=True, inline="always")
def window_peak(
    samples: npt.NDArray[np.int16],
    start: int,
    coefficients_q12: npt.NDArray[np.integer[Any]],
) -> int:
    """max |windowed sample| of ``samples[start:start+N]`` (as ``apply_window``), storing nothing.

    For the batch path, which applies the window later while loading the FFT input.
    """
    max_abs = 0
    size = coefficients_q12.shape[0]
    # A slice indexed by ``i`` alone: indexing by ``start + i``, which could be negative as far
    # as LLVM can tell, keeps Numba's wraparound check in the loop and the loop scalar.
    frame = samples[start : start + size]
    for i in range(size):
        value = (int(frame[i]) * int(coefficients_q12[i])) >> WINDOW_Q_BITS
        # C int16 negation: |-32768| stays negative and never wins.
        magnitude = -value if value != -32768 else 0
        magnitude = value if value >= 0 else magnitude
        max_abs = max(max_abs, magnitude)
    return max_abs
