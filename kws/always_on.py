"""The always-on path in native code: while the full model sleeps, each chunk of audio is held
(its hops run no model) or framed by the frontend's kernel (``kws.frontend.pipeline``) into the
cascade's ring, and the hops it completes are taken: the tiny model stepped (``kws.int8_step``)
at each of its hops and its wake decision made, the others counted; one machine-code call a
chunk. Python runs only where the tiny model would wake the full one, while the full model is
awake, and for what this path does not take (a chunk longer than the held audio's buffer, audio
the kernel cannot read as it is).

Every 10 ms for hours, the Python around the kernels (``Cascade.process``, its hops, their
bookkeeping) cost a third of the stride; here it is one call. The state both sides read and
write is one int64 array (``LIVE_FIELDS`` fields, named below: the counters, the held audio,
the ring's position, the hops due) and the tiny model's last scores a float64 array;
``kws.cascade.Cascade`` owns both and makes every decision this path does not. Only for a tiny
model ``Int8Step`` runs (``TfliteModel.native_parts``).

Those arrays, the held audio, the ring and the constants the kernels read (the frontend's
tables, the noise floor, the tiny model's lookup table and scores by byte) are views into one
byte array, the ``State``'s arena, passed as one argument: a call's arguments cost about
0.1 us each array to hand to machine code, as much as holding 10 ms of audio. The frontend's
state and the tiny model's blob stay their owners' (both run in Python too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.kernel_cache import machine_code, unrefcounted
from kws.frontend.pipeline import frames_completed, process_chunk_into, process_mixed_chunk_into
from kws.int8_step import step_blob, window_frames

if TYPE_CHECKING:
    from kws.frontend import Frontend

# The live state's fields. The counters first (``CascadeCounters``, in its order):
HOPS, TINY_INFERENCES, FULL_INFERENCES, WAKES, DETECTIONS, AWAKE_HOPS, VERIFICATIONS = range(7)
HELD = 7  # samples held in the cascade's buffer, not yet framed
HELD_HOPS = 8  # hops of the held audio (already counted)
PENDING = 9  # the frontend's samples not yet framed (``Frontend.pending_samples``)
WRITTEN = 10  # frames written into the ring
FIRST_FRAME = 11  # the stream's frame in the ring's first row
QUIET_UNTIL = 12  # the last of the coming hops that run no model (``Cascade._schedule``)
TINY_DUE = 13  # the hop at which the tiny model steps next
AWAKE_UNTIL = 14  # the full model is awake for hops before this one
REFRACTORY_UNTIL = 15  # nothing wakes or fires before this hop
FLOOR_AT = 16  # where in the noise floor's table the next sample's floor is
SCORES_SEEN = 17  # tiny scores so far (the last few kept for the smoothing)
# set once per cascade
HOP_SAMPLES, RING_FRAMES, BUFFER_FRAMES, TINY_STRIDE = range(18, 22)
LIVE_FIELDS = 22
COUNTER_FIELDS = 7

# Frames the frontend writes into the ring ahead of the hops taken (a piece of audio at most):
# the ring has room for that many more than the models' history.
WRITE_AHEAD_FRAMES = 32

# What a call returns: all done, nothing done (Python takes it), or WAKES + the score's byte.
ASLEEP, IN_PYTHON, FRAMING_FAILED = 0, -1, -2
WAKES_AT = 1

Chunk = Callable[[npt.NDArray[np.int16]], int]
Hops = Callable[[], int]

# The arena's parts, in its header's order (each a start and an end in bytes), then the ring's
# channels; each part starts on a 64-byte boundary.
_LIVE, _HELD, _RING, _SCORES, _SCORE_OF_BYTE, _FLOOR, _TABLES, _LUT = range(8)
_CHANNELS = 16
_HEADER_WORDS = 17
_ALIGN = 64


@dataclass(frozen=True)
class State:
    """One cascade's arena (module docstring) and its views of the parts it writes."""

    arena: npt.NDArray[np.uint8]
    live: npt.NDArray[np.int64]  # LIVE_FIELDS fields
    held: npt.NDArray[np.int16]  # audio held, not yet framed
    ring: npt.NDArray[np.uint16]  # (rows, channels) frames
    scores: npt.NDArray[np.float64]  # the tiny model's last scores


def pack_state(
    held_samples: int,
    ring_shape: tuple[int, int],
    smoothing: int,
    tables: npt.NDArray[np.int64],
    floor: npt.NDArray[np.int32] | None = None,
    tiny: tuple[npt.NDArray[np.int8], list[float]] | None = None,
) -> State:
    """A cascade's arena: zeroed state (the live fields, ``held_samples`` of held audio, the
    ring, ``smoothing`` tiny scores) and copies of the constants: the frontend's ``tables``,
    the noise ``floor``'s table and the tiny model's lookup table and scores by byte."""
    lut, by_byte = tiny if tiny is not None else (np.zeros(0, np.int8), [])
    parts: list[npt.NDArray[Any]] = [
        np.zeros(LIVE_FIELDS, np.int64),
        np.zeros(held_samples, np.int16),
        np.zeros(ring_shape, np.uint16),
        np.zeros(smoothing, np.float64),
        np.array(by_byte, np.float64),
        np.zeros(0, np.int32) if floor is None else floor,
        tables,
        lut,
    ]
    head = np.zeros(_HEADER_WORDS, np.int64)
    at = head.nbytes
    for index, part in enumerate(parts):
        at = -(-at // _ALIGN) * _ALIGN
        head[2 * index], head[2 * index + 1] = at, at + part.nbytes
        at += part.nbytes
    head[_CHANNELS] = ring_shape[1]
    arena = np.zeros(at, np.uint8)
    arena[: head.nbytes] = head.view(np.uint8)
    views = [
        arena[head[2 * index] : head[2 * index + 1]].view(part.dtype).reshape(part.shape)
        for index, part in enumerate(parts)
    ]
    for view, part in zip(views, parts, strict=True):
        view[...] = part
    live, held, ring, scores = views[:4]
    return State(arena, live, held, ring, scores)


@numba.njit(cache=True, inline="always")
def _views(arena: npt.NDArray[np.uint8]) -> tuple[Any, ...]:
    """The arena's parts (``pack_state``): live, held, ring, scores, score_of_byte, floor (empty
    without one), the frontend's tables, the tiny model's lookup table."""
    head = arena[: 8 * _HEADER_WORDS].view(np.int64)
    rings = arena[head[2 * _RING] : head[2 * _RING + 1]].view(np.uint16)
    channels = head[_CHANNELS]
    return (
        arena[head[2 * _LIVE] : head[2 * _LIVE + 1]].view(np.int64),
        arena[head[2 * _HELD] : head[2 * _HELD + 1]].view(np.int16),
        rings.reshape(rings.shape[0] // channels, channels),
        arena[head[2 * _SCORES] : head[2 * _SCORES + 1]].view(np.float64),
        arena[head[2 * _SCORE_OF_BYTE] : head[2 * _SCORE_OF_BYTE + 1]].view(np.float64),
        arena[head[2 * _FLOOR] : head[2 * _FLOOR + 1]].view(np.int32),
        arena[head[2 * _TABLES] : head[2 * _TABLES + 1]].view(np.int64),
        arena[head[2 * _LUT] : head[2 * _LUT + 1]].view(np.int8),
    )


@numba.njit(cache=True, inline="always")
def free_row(live: npt.NDArray[np.int64], ring: npt.NDArray[np.uint16]) -> int:
    """The ring's row for the next frame, with a piece's rows free from it: first, when they
    are not, the last ``BUFFER_FRAMES`` written (all a model still reads) move to the ring's
    start."""
    row = int(live[WRITTEN] - live[FIRST_FRAME])
    if row + WRITE_AHEAD_FRAMES <= live[RING_FRAMES]:
        return row
    history = int(live[BUFFER_FRAMES])
    for frame in range(history):  # rows that do not overlap (the ring holds two histories)
        for channel in range(ring.shape[1]):
            ring[frame, channel] = ring[row - history + frame, channel]
    live[FIRST_FRAME] = live[WRITTEN] - history
    return history


@numba.njit(cache=True, inline="always")
def smoothed(scores: npt.NDArray[np.float64], seen: int, score: float) -> float:
    """The mean of the tiny model's last scores (as many as ``scores`` holds, fewer at first;
    ``seen`` so far, kept in ``scores[i % size]``) with ``score`` after them, summed oldest
    first as Python's ``sum`` of a deque of them sums."""
    size = scores.shape[0]
    count = min(seen + 1, size)
    total = 0.0
    for back in range(count - 1, 0, -1):
        total += float(scores[(seen - back) % size])
    mean: float = (total + score) / count
    return mean


@numba.njit(cache=True, inline="always")
def _keep_tiny(live: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], score: float) -> None:
    """The tiny model's hop done: its score kept, counted, its next hop due."""
    seen = live[SCORES_SEEN]
    scores[seen % scores.shape[0]] = score
    live[SCORES_SEEN] = seen + 1
    live[TINY_DUE] += live[TINY_STRIDE]
    live[TINY_INFERENCES] += 1


@unrefcounted
def tiny_hop(live: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], score: float) -> float:
    """``Cascade._hop``'s tiny model: its smoothed score with ``score``, then ``score`` kept."""
    value = smoothed(scores, live[SCORES_SEEN], score)
    _keep_tiny(live, scores, score)
    return value


@unrefcounted
def asleep_hops(wake: float, arena: npt.NDArray[np.uint8], blob: npt.NDArray[np.uint8]) -> int:
    """The hops in the ring not yet taken, while the full model sleeps: the tiny model's
    (its ``blob`` stepped on its window, its smoothed score under ``wake``) and those that run
    no model (counted). ASLEEP when all are taken; IN_PYTHON, nothing taken, while the full
    model is awake; WAKES_AT + the score's byte where the tiny model's hop would wake it (the
    hops before it taken and the model stepped: ``Cascade._hop`` takes that hop with the
    score)."""
    live, _, ring, scores, score_of_byte, _, _, table = _views(arena)
    return _hops(wake, live, ring, table, blob, scores, score_of_byte)


@numba.njit(cache=True, inline="always")
def _hops(
    wake: float,
    live: npt.NDArray[np.int64],
    ring: npt.NDArray[np.uint16],
    table: npt.NDArray[np.int8],
    blob: npt.NDArray[np.uint8],
    scores: npt.NDArray[np.float64],
    score_of_byte: npt.NDArray[np.float64],
) -> int:
    """``asleep_hops`` on the arena's parts."""
    if live[HOPS] + 1 < live[AWAKE_UNTIL]:
        return IN_PYTHON
    frames = window_frames(blob)
    while live[HOPS] < live[WRITTEN]:
        due = live[TINY_DUE]
        if due > live[WRITTEN]:
            live[HOPS] = live[WRITTEN]
            break
        live[HOPS] = due - 1
        end = due - live[FIRST_FRAME]
        byte = step_blob(table, ring[end - frames : end], blob)
        score = score_of_byte[byte]
        # asleep, so due >= AWAKE_UNTIL: the wake needs the score and the refractory period
        if smoothed(scores, live[SCORES_SEEN], score) >= wake and due >= live[REFRACTORY_UNTIL]:
            return WAKES_AT + byte
        live[HOPS] = due
        _keep_tiny(live, scores, score)
        live[QUIET_UNTIL] = live[TINY_DUE] - 1
    return ASLEEP


@unrefcounted
def asleep_chunk(
    wake: float,
    arena: npt.NDArray[np.uint8],
    buffers: npt.NDArray[np.int64],
    frozen_512: bool | None,
    blob: npt.NDArray[np.uint8],
    pcm: npt.NDArray[np.int16],
) -> int:
    """``Cascade.process`` of ``pcm`` while the full model sleeps: held in the arena's held
    audio when its hops run no model; else framed after the held audio by the frontend's
    kernel (its state ``buffers``; the arena's noise floor, if any, added as it is framed, the
    sum left in the held audio) and its hops taken (``asleep_hops``). IN_PYTHON, nothing done,
    where the audio would overflow the held audio or the full model is awake and the audio
    completes a hop."""
    live, held, ring, scores, score_of_byte, addend, tables, table = _views(arena)
    before = live[HELD]
    total = before + pcm.shape[0]
    if total > held.shape[0]:
        return IN_PYTHON
    frames = frames_completed(tables, live[PENDING], total)
    # The chunk after the held audio, in a loop over slices indexed by i alone (a slice's
    # assignment may copy: it allocates; an index like ``sample - before`` keeps Numba's
    # wraparound check in the loop, and the loop scalar)
    into = held[before:total]
    for i in range(total - before):
        into[i] = pcm[i]
    if live[WRITTEN] + frames <= live[QUIET_UNTIL]:
        live[HOPS] += frames - live[HELD_HOPS]
        live[HELD] = total
        live[HELD_HOPS] = frames
        return ASLEEP
    if live[HOPS] + 1 < live[AWAKE_UNTIL]:
        return IN_PYTHON  # (a copy after the held audio is no more held than before)
    row = free_row(live, ring)
    audio = held[:total]  # the chunk is already copied after the held audio
    if addend.shape[0] == 0:
        count = process_chunk_into(audio, tables, buffers, frozen_512, ring, row)
    else:
        start = live[FLOOR_AT]
        live[FLOOR_AT] = (start + total) % addend.shape[0]
        count = process_mixed_chunk_into(
            audio, addend, start, held, tables, buffers, frozen_512, ring, row
        )
    if count < 0:  # the ring always has a piece's rows free: never, unless a bug
        return FRAMING_FAILED
    live[WRITTEN] += count
    live[PENDING] += total - count * live[HOP_SAMPLES]
    live[HELD] = 0
    live[HELD_HOPS] = 0
    return _hops(wake, live, ring, table, blob, scores, score_of_byte)


def _bound(kernel: Any, arguments: tuple[Any, ...], install: Callable[[Any], None]) -> Any:
    """A stand-in for ``kernel`` with its leading ``arguments`` bound: its first call takes the
    kernel's machine code for the call's argument types (``kernel_cache.machine_code``: no
    per-call matching of types) and hands ``install`` that code with ``arguments`` bound (a
    ``functools.partial``: called from C, no Python frame per call), to put where the
    stand-in was."""

    def first_call(*rest: Any) -> Any:
        bound = partial(machine_code(kernel, (*arguments, *rest)), *arguments)
        install(bound)
        return bound(*rest)

    return first_call


def bind_hops(
    state: State, blob: npt.NDArray[np.uint8], wake: float, install: Callable[[Hops], None]
) -> Hops:
    """``asleep_hops`` of one cascade's arena and tiny model's ``blob``: ``hops()`` (see
    ``_bound``)."""
    bound: Hops = _bound(asleep_hops, (wake, state.arena, blob), install)
    return bound


def bind_chunk(
    frontend: Frontend,
    state: State,
    blob: npt.NDArray[np.uint8],
    wake: float,
    install: Callable[[Chunk], None],
) -> Chunk:
    """``asleep_chunk`` of one cascade's frontend (whose tables the arena holds), arena and
    tiny model's ``blob``: ``chunk(pcm)`` (see ``_bound``). ``pcm`` must be 1-D int16 and
    C-contiguous (``flags.carray``), as ``Frontend.process_into_unchecked`` takes it: machine
    code reads any array as the first call's type."""
    _, buffers, frozen = frontend.kernel_arguments()
    bound: Chunk = _bound(asleep_chunk, (wake, state.arena, buffers, frozen, blob), install)
    return bound
