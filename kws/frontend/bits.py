"""Bit helpers shared by the fixed-point stages (TFLM's ``bits.h``), as Numba kernels.

Values arrive as int64 holding a non-negative 32- or 64-bit pattern; ``most_significant_bit``
is the 1-based index of the highest set bit (0 for 0), as ``MostSignificantBit32/64``.
"""

from __future__ import annotations

import numba


@numba.njit(cache=True, inline="always")
def most_significant_bit(value: int) -> int:
    """1-based position of the highest set bit of a non-negative int64 (0 for 0)."""
    position = 0
    remaining = value
    # Binary search over 32/16/8/4/2/1-bit strides: six compares, no loop per bit.
    if remaining >> 32:
        remaining >>= 32
        position += 32
    if remaining >> 16:
        remaining >>= 16
        position += 16
    if remaining >> 8:
        remaining >>= 8
        position += 8
    if remaining >> 4:
        remaining >>= 4
        position += 4
    if remaining >> 2:
        remaining >>= 2
        position += 2
    if remaining >> 1:
        remaining >>= 1
        position += 1
    return position + remaining


@numba.njit(cache=True, inline="always")
def wrap_int16(value: int) -> int:
    """Two's-complement wrap of an integer to int16, as a C store to ``int16_t`` does."""
    return ((value + 32768) & 0xFFFF) - 32768
