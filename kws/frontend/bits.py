"""Bit helpers shared by the fixed-point stages (TFLM's ``bits.h``), as Numba kernels.

Values arrive as int64 holding a non-negative 32- or 64-bit pattern; ``most_significant_bit``
is the 1-based index of the highest set bit (0 for 0), as ``MostSignificantBit32/64``.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

# LLVM's count-leading-zeros (one instruction on x86 and ARM); Numba ships it as an intrinsic.
from numba.cpython.unsafe.numbers import leading_zeros

from kws.frontend.kernel_cache import unrefcounted


@numba.njit(cache=True)
def most_significant_bit(value: int) -> int:
    """1-based position of the highest set bit of a non-negative int64 (0 for 0)."""
    return 64 - int(leading_zeros(np.uint64(value)))  # type: ignore[call-arg]


@numba.njit(cache=True)
def wrap_int16(value: int) -> int:
    """Two's-complement wrap of an integer to int16, as a C store to ``int16_t`` does."""
    return ((value + 32768) & 0xFFFF) - 32768


@unrefcounted
def add_looped_saturating(
    pcm: npt.NDArray[np.int16],
    table: npt.NDArray[np.int32],
    start: int,
    out: npt.NDArray[np.int16],
) -> None:
    """``out[i] = pcm[i] + table[(start + i) % table.size]``, saturated to int16 (the noise
    floor's one add per sample; one call per chunk instead of five numpy passes)."""
    size = table.size
    position = start % size
    done = 0
    while done < pcm.size:
        # a run that does not wrap around the table: no index arithmetic per sample, so LLVM
        # vectorises it
        run = min(pcm.size - done, size - position)
        _add_saturating(pcm[done : done + run], table[position : position + run], out[done:])
        done += run
        position = 0


@numba.njit(cache=True, inline="always")
def _add_saturating(
    pcm: npt.NDArray[np.int16], table: npt.NDArray[np.int32], out: npt.NDArray[np.int16]
) -> None:
    for i in range(pcm.size):
        out[i] = min(max(np.int32(pcm[i]) + table[i], -32768), 32767)


@unrefcounted
def lookup_into(
    table: npt.NDArray[np.generic], indices: npt.NDArray[np.uint16], out: npt.NDArray[np.generic]
) -> None:
    """``out[i, j] = table[indices[i, j]]`` for 2-D uint16 ``indices`` and ``out`` of one shape
    (a model's feature table: its 65536 entries take any uint16). Half numpy's ``take`` for the
    tiny model's 3 frames, a third of it for the full model's 150.

    Raises:
        ValueError: ``indices`` and ``out`` differ in shape (nothing written).
    """
    if indices.shape != out.shape:
        raise ValueError("indices and out differ in shape")
    for row in range(indices.shape[0]):
        for column in range(indices.shape[1]):
            out[row, column] = table[indices[row, column]]
