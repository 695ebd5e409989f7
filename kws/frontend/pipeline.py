"""The six stages fused into one Numba kernel that turns a chunk of PCM into feature frames.

``process_chunk_into`` is the one kernel both streaming (one call per chunk) and batch (one call
for the file) run. Chunks that complete 16 or more frames send them through the frame-lane
FFT and filterbank (``frame_lanes``), the rest go frame by frame; the stateful stages always
run frame by frame, in order. State that persists between chunks (samples not yet framed, the
noise estimate) and the scratch live in one int64 array owned by the caller, allocated once per
``Frontend``, never per frame.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.bits import add_looped_saturating, most_significant_bit
from kws.frontend.fft import FRAME_LANES, apply_fft
from kws.frontend.filterbank import apply_filterbank
from kws.frontend.frame_lanes import finish_frame, frames_in_lanes, window_frame
from kws.frontend.kernel_cache import unrefcounted
from kws.frontend.packing import (
    _BIN_CH,
    _CHANNELS,
    _COEF,
    _COMPLEX_SIZE,
    _EARLY,
    _FFT_BLOCK,
    _HOP,
    _LATE,
    _LATE_TW,
    _LEAF,
    _LOG,
    _LUT,
    _START_BIN,
    _SUPER,
    _TW,
    _UW,
    _W,
    _WINDOW,
    PackedFrontend,
    _section,
    _section_int16,
    int16_word_count,
    pack,
)

__all__ = [
    "PackedFrontend",
    "buffer_views",
    "buffers_len",
    "frames_completed",
    "pack",
    "process_chunk_into",
    "process_mixed_chunk_into",
]


@numba.njit(cache=True)
def frames_completed(tables: npt.NDArray[np.int64], pending_count: int, samples: int) -> int:
    """How many frames ``samples`` new samples complete after ``pending_count`` waiting ones."""
    total = pending_count + samples
    return 0 if total < tables[_WINDOW] else (total - tables[_WINDOW]) // tables[_HOP] + 1


def buffers_len(packed: PackedFrontend) -> int:
    """int64 words of the per-stream buffer ``process_chunk_into`` takes (see ``buffer_views``)."""
    config = packed.config
    return (
        1 + config.num_channels + 2 * int16_word_count(config.window_samples) + packed.scratch_len
    )


def buffer_views(
    buffers: npt.NDArray[np.int64], packed: PackedFrontend
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int16], npt.NDArray[np.int16], npt.NDArray[np.int64]
]:
    """The parts of a stream's buffer (views, no copies): ``state`` (``[pending_count,
    noise_estimate...]``), ``pending`` (samples not yet framed), ``frame`` (the last windowed
    frame, frame-by-frame path) and the kernel's scratch."""
    return _buffer_parts(buffers, packed.config.num_channels, packed.config.window_samples)


@numba.njit(cache=True, inline="always")
def _buffer_parts(
    buffers: npt.NDArray[np.int64], channels: int, window: int
) -> tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int16], npt.NDArray[np.int16], npt.NDArray[np.int64]
]:
    """``buffer_views``, for the kernel and for Python alike: the one place the layout is."""
    words = int16_word_count(window)
    state_end = 1 + channels
    pending = buffers[state_end : state_end + words].view(np.int16)[:window]
    frame_start = state_end + words
    frame = buffers[frame_start : frame_start + words].view(np.int16)[:window]
    return buffers[:state_end], pending, frame, buffers[frame_start + words :]


@unrefcounted
def process_chunk_into(
    pcm: npt.NDArray[np.int16],
    tables: npt.NDArray[np.int64],
    buffers: npt.NDArray[np.int64],
    frozen_512: bool | None,
    features: npt.NDArray[np.uint16],
    first_row: int,
) -> int:
    """Frames completed by ``pcm`` after the samples already pending in ``buffers``, written
    into rows of ``features`` from ``first_row`` on, wrapping around at its end (a new array,
    or the cascade's ring without a copy); returns how many, or -1 (nothing done) when
    ``features`` does not have the config's channels and a row for each frame.

    ``buffers`` (``buffers_len`` int64 words, zeros for a fresh stream) holds the state that
    persists between calls, updated so that the next call continues exactly where this one
    stopped (streaming == batch), and the scratch; ``buffer_views`` names its parts. One array
    rather than four keeps Numba's per-call cost down (about 0.1 us per array argument).
    ``frozen_512`` is True for the 512-point FFT (frozen, vectorised kernels and the frame-lane
    batch path) and None for any other size; see ``kws.frontend.fft.apply_fft``.
    """
    window = tables[_WINDOW]
    hop = tables[_HOP]
    channels = tables[_CHANNELS]
    complex_size = tables[_COMPLEX_SIZE]
    block_size = tables[_FFT_BLOCK]
    state, pending, frame, scratch = _buffer_parts(buffers, channels, window)
    pending_count = state[0]
    total = pending_count + pcm.shape[0]
    n_frames = frames_completed(tables, pending_count, pcm.shape[0])
    rows = features.shape[0]
    if features.shape[1] != channels or rows < n_frames:
        return -1

    coefficients = _section(tables, _COEF)
    leaf_index = _section(tables, _LEAF).reshape((block_size, complex_size // block_size))
    early_stages = _section(tables, _EARLY).reshape((-1, 3))
    late_stages = _section(tables, _LATE).reshape((-1, 4))
    twiddles = _section_int16(tables, _TW).reshape((-1, 2))
    late_twiddles = _section_int16(tables, _LATE_TW)
    super_twiddles = _section_int16(tables, _SUPER).reshape((2, -1))
    bin_channel = _section(tables, _BIN_CH)
    weights = _section(tables, _W)
    unweights = _section(tables, _UW)
    gain_lut = _section(tables, _LUT)
    log_table = _section(tables, _LOG)
    estimate = state[1 : 1 + channels]

    # The FFT's arrays hold int16 values as int32 (see ``packing``), carved from the front of
    # the int64 scratch; the filterbank's 64-bit sums and the channel values follow.
    fft_values = 10 * complex_size + 2
    fft_scratch = scratch[: (fft_values + 1) // 2].view(np.int32)
    row = 0
    padded = fft_scratch[row : row + 2 * complex_size]
    row += 2 * complex_size
    work_t_re = fft_scratch[row : row + complex_size].reshape(leaf_index.shape)
    row += complex_size
    work_t_im = fft_scratch[row : row + complex_size].reshape(leaf_index.shape)
    row += complex_size
    work_re = fft_scratch[row : row + complex_size]
    row += complex_size
    work_im = fft_scratch[row : row + complex_size]
    row += complex_size
    spectrum_re = fft_scratch[row : row + complex_size + 1]
    row += complex_size + 1
    spectrum_im = fft_scratch[row : row + complex_size + 1]
    row += complex_size + 1
    split_scratch = fft_scratch[row : row + 2 * complex_size].reshape((4, -1))
    row = (fft_values + 1) // 2
    accumulators = scratch[row : row + channels + 2]
    row += channels + 2
    signal = scratch[row : row + channels]
    row += channels
    energy = scratch[row : row + complex_size + 1]

    # The FFT input beyond the window stays zero: only the first `window` entries are rewritten.
    padded[window:] = 0
    first_single = 0
    if frozen_512 is not None:
        # Batch: FFT and filterbank on FRAME_LANES frames at a time (SIMD across frames).
        first_single = (n_frames // FRAME_LANES) * FRAME_LANES
    if first_single > 0:
        frames_in_lanes(
            pcm,
            pending,
            pending_count,
            tables,
            first_single,
            coefficients,
            estimate,
            signal,
            features,
            first_row,
        )
    for f in range(first_single, n_frames):
        max_abs = window_frame(pcm, pending, pending_count, f * hop, coefficients, frame)
        # TFLM: shift so the largest windowed sample uses the whole int16 range.
        input_shift = 15 - most_significant_bit(max_abs)
        apply_fft(
            frame,
            input_shift,
            leaf_index,
            early_stages,
            late_stages,
            twiddles,
            late_twiddles,
            super_twiddles,
            padded,
            work_t_re,
            work_t_im,
            work_re,
            work_im,
            spectrum_re,
            spectrum_im,
            split_scratch,
            frozen_512,
        )
        apply_filterbank(
            spectrum_re,
            spectrum_im,
            tables[_START_BIN],
            bin_channel,
            weights,
            unweights,
            input_shift,
            energy,
            accumulators,
            signal,
        )
        finish_frame(
            signal, estimate, tables, gain_lut, log_table, features[(first_row + f) % rows]
        )

    # Keep the samples the next window still needs (always fewer than one window): first any
    # still-pending ones (moved forward), then the chunk's; two plain loops, no branch per sample.
    consumed = n_frames * hop
    keep = total - consumed
    # (Slices indexed by i alone: an index like ``consumed + i`` keeps Numba's wraparound
    # check for negative indices in the loop, and the loop scalar.)
    from_pending = max(pending_count - consumed, 0)
    still_pending = pending[consumed : consumed + from_pending]
    for i in range(from_pending):
        pending[i] = still_pending[i]
    chunk_start = consumed + from_pending - pending_count
    from_chunk = pcm[chunk_start : chunk_start + keep - from_pending]
    kept = pending[from_pending:keep]
    for i in range(keep - from_pending):
        kept[i] = from_chunk[i]
    state[0] = keep
    return n_frames


@unrefcounted
def process_mixed_chunk_into(
    pcm: npt.NDArray[np.int16],
    addend: npt.NDArray[np.int32],
    addend_start: int,
    mixed: npt.NDArray[np.int16],
    tables: npt.NDArray[np.int64],
    buffers: npt.NDArray[np.int64],
    frozen_512: bool | None,
    features: npt.NDArray[np.uint16],
    first_row: int,
) -> int:
    """``process_chunk_into`` of ``pcm`` plus ``addend`` looped from ``addend_start``
    (``bits.add_looped_saturating``: a noise floor), the sum left in ``mixed[:pcm.size]``
    (which may be ``pcm`` itself): one call where the two kernels would be two. Returns -1,
    nothing done, where ``mixed`` is shorter than ``pcm`` (or as ``process_chunk_into``)."""
    if mixed.shape[0] < pcm.shape[0]:
        return -1
    add_looped_saturating(pcm, addend, addend_start, mixed)
    return process_chunk_into(
        mixed[: pcm.shape[0]], tables, buffers, frozen_512, features, first_row
    )
