"""The native work of a `kws bench cascade` row replayed in one machine-code loop each: the
frontend's calls as the row made them, and a natively stepped model's steps. The always-on
path calls both from inside its own kernel, so timing them through Python (a call each) would
charge the per-call cost of Python to the parts and leave the glue below zero.

Imported only by the bench (Numba's import is not for every `kws` command)."""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import numpy.typing as npt

import kws.int8_step
from kws.frontend.kernel_cache import check_frontend_cache
from kws.frontend.pipeline import process_chunk_into, process_mixed_chunk_into
from kws.int8_step import step_blob


@numba.njit(cache=True)
def replay_frontend(
    audio: npt.NDArray[np.int16],
    ends: npt.NDArray[np.int64],
    addend: npt.NDArray[np.int32],
    starts: npt.NDArray[np.int64],
    tables: npt.NDArray[np.int64],
    buffers: npt.NDArray[np.int64],
    frozen_512: bool | None,
    ring: npt.NDArray[np.uint16],
    mixed: npt.NDArray[np.int16],
) -> int:
    """The frontend's calls on ``audio[ends[i - 1]:ends[i]]`` in turn, each with the floor
    ``addend`` looped from ``starts[i]`` added as it is framed (none where ``addend`` is empty),
    into ``ring`` from its first row; returns the frames written."""
    frames = 0
    begin = 0
    for call in range(ends.shape[0]):
        piece = audio[begin : ends[call]]
        if addend.shape[0] == 0:
            count = process_chunk_into(piece, tables, buffers, frozen_512, ring, 0)
        else:
            count = process_mixed_chunk_into(
                piece, addend, starts[call], mixed, tables, buffers, frozen_512, ring, 0
            )
        frames += count
        begin = ends[call]
    return frames


@numba.njit(cache=True)
def replay_steps(
    lut: npt.NDArray[np.int8],
    features: npt.NDArray[np.uint16],
    ends: npt.NDArray[np.int64],
    window: int,
    blob: npt.NDArray[np.uint8],
) -> int:
    """A natively stepped model's steps (``Int8Step``'s blob) on the windows of ``features``
    ending at ``ends``; returns the sum of their score bytes (so the work is kept)."""
    total = 0
    for end in ends:
        total += step_blob(lut, features[end - window : end], blob)
    return total


# These kernels inline the frontend's and the native step's code, and Numba checks a cached
# kernel against its own file only: when any of those sources changes, this module's cached
# kernels are dropped before one is loaded (else the bench would time yesterday's frontend).
check_frontend_cache(replay_frontend, also=(Path(__file__), Path(kws.int8_step.__file__)))
