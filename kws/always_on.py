"""The asleep stride in one native call: the audio framed into the cascade's ring by the
frontend's kernel (``kws.frontend.pipeline``), then the tiny model's step (``kws.int8_step``) on
the window its last frame ends.

While the full model sleeps, a stride of the cascade is that and nothing else, every 30 ms for
hours; made of two machine-code calls and the Python between them (``Cascade._take``,
``_advance``, ``_hop``, ``TfliteModel.step``), it cost more in calls than in arithmetic. One
call returns the frames written and the score's byte; the cascade keeps its decisions
(``Cascade._hop`` with the score). Only for a tiny model ``Int8Step`` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from kws.frontend.kernel_cache import on_first_call, unrefcounted
from kws.frontend.pipeline import process_chunk_into, process_mixed_chunk_into
from kws.int8_step import step_blob, window_frames

if TYPE_CHECKING:
    from kws.frontend import Frontend
    from kws.noise_floor import NoiseFloor

Stride = Callable[[npt.NDArray[np.int16], npt.NDArray[np.uint16], int, int], int]


@unrefcounted
def _stepped(
    count: int,
    ring: npt.NDArray[np.uint16],
    first_row: int,
    step_frame: int,
    table: npt.NDArray[np.int8],
    blob: npt.NDArray[np.uint8],
) -> int:
    """``count`` frames written from ``first_row`` on; the step on the window that ends with
    the ``step_frame``-th of them (1: the first), packed with the count as ``count * 256 +
    score byte`` (-1, no step: fewer frames than that)."""
    if count < step_frame or step_frame < 1:
        return -1
    end = first_row + step_frame
    return count * 256 + step_blob(table, ring[end - window_frames(blob) : end], blob)


@unrefcounted
def frame_and_step(
    pcm: npt.NDArray[np.int16],
    tables: npt.NDArray[np.int64],
    buffers: npt.NDArray[np.int64],
    frozen_512: bool | None,
    ring: npt.NDArray[np.uint16],
    first_row: int,
    step_frame: int,
    table: npt.NDArray[np.int8],
    blob: npt.NDArray[np.uint8],
) -> int:
    """``Frontend.process_into_unchecked`` then the step (``_stepped``)."""
    count = process_chunk_into(pcm, tables, buffers, frozen_512, ring, first_row)
    return _stepped(count, ring, first_row, step_frame, table, blob)


@unrefcounted
def frame_mixed_and_step(
    pcm: npt.NDArray[np.int16],
    addend: npt.NDArray[np.int32],
    addend_start: int,
    mixed: npt.NDArray[np.int16],
    tables: npt.NDArray[np.int64],
    buffers: npt.NDArray[np.int64],
    frozen_512: bool | None,
    ring: npt.NDArray[np.uint16],
    first_row: int,
    step_frame: int,
    table: npt.NDArray[np.int8],
    blob: npt.NDArray[np.uint8],
) -> int:
    """``Frontend.process_mixed_into_unchecked`` (a noise floor) then the step."""
    count = process_mixed_chunk_into(
        pcm, addend, addend_start, mixed, tables, buffers, frozen_512, ring, first_row
    )
    return _stepped(count, ring, first_row, step_frame, table, blob)


def bind(
    frontend: Frontend,
    table: npt.NDArray[np.int8],
    blob: npt.NDArray[np.uint8],
    floor: NoiseFloor | None,
    mixed: npt.NDArray[np.int16],
) -> Stride:
    """``stride(pcm, ring, first_row, step_frame)`` -> ``frames * 256 + score byte`` (the step
    on the window the ``step_frame``-th frame written ends) for one cascade's
    frontend, tiny model (``table``, ``blob``) and noise floor (whose sum with the audio is left
    in ``mixed``, the cascade's held audio). The kernel is Numba's machine code from its first
    call on (``kernel_cache.on_first_call``): ``pcm`` must be 1-D int16, writeable, aligned and
    C-contiguous, as ``Frontend.process_into_unchecked`` takes it."""
    tables, buffers, frozen = frontend.kernel_arguments()
    kernel: list[Any] = []
    if floor is None:
        kernel.append(on_first_call(frame_and_step, lambda code: kernel.__setitem__(0, code)))

        def stride(pcm: npt.NDArray[np.int16], ring: Any, row: int, step_frame: int) -> int:
            return int(kernel[0](pcm, tables, buffers, frozen, ring, row, step_frame, table, blob))

        return stride
    addend, take = floor.table, floor.take
    kernel.append(on_first_call(frame_mixed_and_step, lambda code: kernel.__setitem__(0, code)))

    def stride_mixed(pcm: npt.NDArray[np.int16], ring: Any, row: int, step_frame: int) -> int:
        start = take(pcm.shape[0])
        return int(
            kernel[0](
                pcm, addend, start, mixed, tables, buffers, frozen, ring, row, step_frame, table,
                blob,
            )
        )  # fmt: skip

    return stride_mixed
