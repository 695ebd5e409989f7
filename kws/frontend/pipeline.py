"""The six stages fused into one Numba kernel that turns a chunk of PCM into feature frames.

All constants of all stages are packed into one int64 ``tables`` array (a header of scalars and
section offsets, then the tables): one array argument instead of a dozen keeps Numba's per-call
dispatch cost small, which matters when streaming calls the kernel every 10 ms. State that
persists between chunks (samples not yet framed, the noise estimate) lives in two arrays owned
by the caller; scratch buffers are allocated once per ``Frontend``, never per frame.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.bits import most_significant_bit
from kws.frontend.config import FrontendConfig
from kws.frontend.fft import (
    FRAME_LANES,
    apply_fft,
    apply_fft_frame_lanes,
    fft_params,
)
from kws.frontend.filterbank import (
    apply_filterbank,
    apply_filterbank_frame_lanes,
    filterbank_params,
)
from kws.frontend.log_scale import LOG_CORRECTION_Q16, apply_log_scale, log_scale_params
from kws.frontend.noise_reduction import apply_noise_reduction, noise_reduction_params
from kws.frontend.pcan import apply_pcan, pcan_params
from kws.frontend.window import apply_window, window_params, window_peak

# Header slots of the packed tables.
_WINDOW, _HOP, _CHANNELS, _START_BIN, _COMPLEX_SIZE = 0, 1, 2, 3, 4
_NR_ON, _SMOOTHING_BITS, _EVEN_Q14, _ODD_Q14, _MIN_REMAINING_Q14 = 5, 6, 7, 8, 9
_PCAN_ON, _SNR_SHIFT, _LOG_ON, _SCALE_SHIFT, _CORRECTION_BITS = 10, 11, 12, 13, 14
_FFT_BLOCK = 15
_SCALARS = 16
# Sections after the scalars, each described by (offset, length) in the header.
_SECTIONS = (
    "window",
    "permutation",
    "leaf_index",
    "early_stages",
    "late_stages",
    "twiddles",
    "late_twiddles",
    "super_twiddles",
    "bin_channel",
    "weights",
    "unweights",
    "gain_lut",
    "log_table",
)
_COEF, _PERM, _LEAF, _EARLY, _LATE, _TW, _LATE_TW, _SUPER, _BIN_CH, _W, _UW, _LUT, _LOG = range(
    len(_SECTIONS)
)
_HEADER = _SCALARS + 2 * len(_SECTIONS)


@dataclass(frozen=True)
class PackedFrontend:
    """Everything the kernel needs that does not change while it runs."""

    config: FrontendConfig
    tables: npt.NDArray[np.int64]
    scratch_len: int


@functools.lru_cache(maxsize=32)
def pack(config: FrontendConfig) -> PackedFrontend:
    """Build (once per config) every stage's constants and pack them for the kernel."""
    window = window_params(config)
    fft = fft_params(config)
    bank = filterbank_params(config)
    noise = noise_reduction_params(config)
    gain = pcan_params(config)
    log = log_scale_params(config)
    sections = [
        window.coefficients_q12.astype(np.int64),
        fft.permutation,
        fft.leaf_index.ravel(),
        fft.early_stages.ravel(),
        fft.late_stages.ravel(),
        fft.twiddles.ravel(),
        fft.late_twiddles,
        fft.super_twiddles.ravel(),
        bank.bin_channel,
        bank.weights_q12,
        bank.unweights_q12,
        gain.gain_lut,
        LOG_CORRECTION_Q16,
    ]
    header = np.zeros(_HEADER, dtype=np.int64)
    header[:_SCALARS] = [
        window.window_samples,
        window.hop_samples,
        config.num_channels,
        bank.start_bin,
        fft.fft_size // 2,
        noise.enabled,
        noise.smoothing_bits,
        noise.even_smoothing_q14,
        noise.odd_smoothing_q14,
        noise.min_signal_remaining_q14,
        gain.enabled,
        gain.snr_shift,
        log.enabled,
        log.scale_shift,
        log.correction_bits,
        fft.block_size,
    ]
    offset = _HEADER
    for index, section in enumerate(sections):
        header[_SCALARS + 2 * index] = offset
        header[_SCALARS + 2 * index + 1] = section.shape[0]
        offset += section.shape[0]
    tables = np.concatenate([header, *sections]).astype(np.int64)
    tables.setflags(write=False)
    complex_size = fft.fft_size // 2
    # Scratch: padded frame, transposed and linear work re/im, spectrum re/im, channel sums,
    # channel values, the real-FFT split's four rows, bin energies.
    scratch_len = fft.fft_size + 4 * complex_size + 2 * (complex_size + 1)
    scratch_len += 2 * config.num_channels + 2 + 2 * complex_size + complex_size + 1
    return PackedFrontend(config=config, tables=tables, scratch_len=scratch_len)


@numba.njit(cache=True, inline="always")
def _section(tables: npt.NDArray[np.int64], index: int) -> npt.NDArray[np.int64]:
    start = tables[_SCALARS + 2 * index]
    return tables[start : start + tables[_SCALARS + 2 * index + 1]]


@numba.njit(cache=True)
def process_chunk(
    pcm: npt.NDArray[np.int16],
    tables: npt.NDArray[np.int64],
    pending: npt.NDArray[np.int16],
    state: npt.NDArray[np.int64],
    scratch: npt.NDArray[np.int64],
    frame: npt.NDArray[np.int16],
    frozen_512: bool | None,
) -> npt.NDArray[np.uint16]:
    """Frames completed by ``pcm`` after the ``state[0]`` samples already in ``pending``.

    ``state`` is ``[pending_count, noise_estimate...]``; both it and ``pending`` are updated so
    that the next call continues exactly where this one stopped (streaming == batch).
    ``frozen_512`` is True for the 512-point FFT (frozen, vectorised kernels and the frame-lane
    batch path) and None for any other size; see ``kws.frontend.fft.apply_fft``.
    """
    window = tables[_WINDOW]
    hop = tables[_HOP]
    channels = tables[_CHANNELS]
    complex_size = tables[_COMPLEX_SIZE]
    block_size = tables[_FFT_BLOCK]
    pending_count = state[0]
    total = pending_count + pcm.shape[0]
    n_frames = 0 if total < window else (total - window) // hop + 1
    features = np.empty((n_frames, channels), dtype=np.uint16)

    coefficients = _section(tables, _COEF)
    leaf_index = _section(tables, _LEAF).reshape((block_size, complex_size // block_size))
    early_stages = _section(tables, _EARLY).reshape((-1, 3))
    late_stages = _section(tables, _LATE).reshape((-1, 4))
    twiddles = _section(tables, _TW).reshape((-1, 2))
    late_twiddles = _section(tables, _LATE_TW)
    super_twiddles = _section(tables, _SUPER).reshape((2, -1))
    bin_channel = _section(tables, _BIN_CH)
    weights = _section(tables, _W)
    unweights = _section(tables, _UW)
    gain_lut = _section(tables, _LUT)
    log_table = _section(tables, _LOG)
    estimate = state[1 : 1 + channels]

    row = 0
    padded = scratch[row : row + 2 * complex_size]
    row += 2 * complex_size
    work_t_re = scratch[row : row + complex_size].reshape(leaf_index.shape)
    row += complex_size
    work_t_im = scratch[row : row + complex_size].reshape(leaf_index.shape)
    row += complex_size
    work_re = scratch[row : row + complex_size]
    row += complex_size
    work_im = scratch[row : row + complex_size]
    row += complex_size
    spectrum_re = scratch[row : row + complex_size + 1]
    row += complex_size + 1
    spectrum_im = scratch[row : row + complex_size + 1]
    row += complex_size + 1
    accumulators = scratch[row : row + channels + 2]
    row += channels + 2
    signal = scratch[row : row + channels]
    row += channels
    split_scratch = scratch[row : row + 2 * complex_size].reshape((4, -1))
    row += 2 * complex_size
    energy = scratch[row : row + complex_size + 1]

    # The FFT input beyond the window stays zero: only the first `window` entries are rewritten.
    padded[window:] = 0
    first_single = 0
    if frozen_512 is not None:
        # Batch: FFT and filterbank on FRAME_LANES frames at a time (SIMD across frames).
        first_single = (n_frames // FRAME_LANES) * FRAME_LANES
    if first_single > 0:
        _frames_in_lanes(
            pcm,
            pending,
            pending_count,
            tables,
            first_single,
            coefficients,
            frame,
            estimate,
            signal,
            features,
        )
    for f in range(first_single, n_frames):
        max_abs = _window_frame(pcm, pending, pending_count, f * hop, coefficients, frame)
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
        _finish_frame(signal, estimate, tables, gain_lut, log_table, features[f])

    # Keep the samples the next window still needs (always fewer than one window).
    consumed = n_frames * hop
    keep = total - consumed
    for i in range(keep):
        position = consumed + i
        if position < pending_count:
            pending[i] = pending[position]
        else:
            pending[i] = pcm[position - pending_count]
    state[0] = keep
    return features


@numba.njit(cache=True, inline="always")
def _window_frame(
    pcm: npt.NDArray[np.int16],
    pending: npt.NDArray[np.int16],
    pending_count: int,
    start: int,
    coefficients: npt.NDArray[np.int64],
    frame: npt.NDArray[np.int16],
) -> int:
    """Window the frame starting ``start`` samples into ``pending[:pending_count] + pcm``."""
    window = frame.shape[0]
    if start >= pending_count:
        # The whole window is in the new chunk: window it straight from there.
        return apply_window(pcm, start - pending_count, coefficients, frame)
    # Gather from the carried samples and the new chunk (explicit loops: slice assignment
    # costs more than the copy itself at this size).
    from_pending = pending_count - start
    for i in range(from_pending):
        frame[i] = pending[start + i]
    for i in range(from_pending, window):
        frame[i] = pcm[i - from_pending]
    return apply_window(frame, 0, coefficients, frame)


@numba.njit(cache=True, inline="always")
def _finish_frame(
    signal: npt.NDArray[np.int64],
    estimate: npt.NDArray[np.int64],
    tables: npt.NDArray[np.int64],
    gain_lut: npt.NDArray[np.int64],
    log_table: npt.NDArray[np.int64],
    features_out: npt.NDArray[np.uint16],
) -> None:
    """The stateful stages, frame by frame: noise reduction, PCAN, log scale."""
    if tables[_NR_ON]:
        apply_noise_reduction(
            signal,
            estimate,
            tables[_SMOOTHING_BITS],
            tables[_EVEN_Q14],
            tables[_ODD_Q14],
            tables[_MIN_REMAINING_Q14],
        )
    if tables[_PCAN_ON]:
        apply_pcan(signal, estimate, gain_lut, tables[_SNR_SHIFT])
    apply_log_scale(
        signal,
        tables[_LOG_ON] != 0,
        tables[_SCALE_SHIFT],
        tables[_CORRECTION_BITS],
        log_table,
        features_out,
    )


@numba.njit(cache=True)
def _frames_in_lanes(
    pcm: npt.NDArray[np.int16],
    pending: npt.NDArray[np.int16],
    pending_count: int,
    tables: npt.NDArray[np.int64],
    n_frames: int,
    coefficients: npt.NDArray[np.int64],
    frame: npt.NDArray[np.int16],
    estimate: npt.NDArray[np.int64],
    signal: npt.NDArray[np.int64],
    features: npt.NDArray[np.uint16],
) -> None:
    """Frames ``0..n_frames-1`` (a multiple of FRAME_LANES) with FFT/filterbank across frames."""
    window = tables[_WINDOW]
    hop = tables[_HOP]
    channels = tables[_CHANNELS]
    complex_size = tables[_COMPLEX_SIZE]
    lanes = FRAME_LANES
    permutation = _section(tables, _PERM)
    twiddles = _section(tables, _TW).reshape((-1, 2))
    super_twiddles = _section(tables, _SUPER).reshape((2, -1))
    bin_channel = _section(tables, _BIN_CH)
    gain_lut = _section(tables, _LUT)
    log_table = _section(tables, _LOG)
    # Scratch for one block of frames, once per call (batch calls are long).
    frames = np.empty((lanes, window), dtype=np.int16)
    work_re = np.empty((complex_size, lanes), dtype=np.int64)
    work_im = np.empty((complex_size, lanes), dtype=np.int64)
    spectrum_re = np.empty((complex_size + 1, lanes), dtype=np.int64)
    spectrum_im = np.empty((complex_size + 1, lanes), dtype=np.int64)
    energy = np.empty((bin_channel.shape[0], lanes), dtype=np.float64)
    accumulators = np.empty((channels + 2, lanes), dtype=np.float64)
    lane_signal = np.empty((channels, lanes), dtype=np.int64)
    shifts = np.empty(lanes, dtype=np.int64)
    for first in range(0, n_frames, lanes):
        for lane in range(lanes):
            start = (first + lane) * hop
            # Raw samples, one frame per row (contiguous copies); the window is applied while
            # loading the FFT input, after its peak has set the frame's shift.
            if start >= pending_count:
                # The common case: one contiguous copy from the chunk.
                frames[lane] = pcm[start - pending_count : start - pending_count + window]
            else:
                for i in range(window):
                    position = start + i
                    if position < pending_count:
                        frames[lane, i] = pending[position]
                    else:
                        frames[lane, i] = pcm[position - pending_count]
            max_abs = window_peak(frames[lane], 0, coefficients)
            shifts[lane] = 15 - most_significant_bit(max_abs)
        apply_fft_frame_lanes(
            frames,
            coefficients,
            shifts,
            permutation,
            twiddles,
            super_twiddles,
            work_re,
            work_im,
            spectrum_re,
            spectrum_im,
        )
        apply_filterbank_frame_lanes(
            spectrum_re,
            spectrum_im,
            tables[_START_BIN],
            bin_channel,
            _section(tables, _W),
            _section(tables, _UW),
            shifts,
            energy,
            accumulators,
            lane_signal,
        )
        for lane in range(lanes):
            for channel in range(channels):
                signal[channel] = lane_signal[channel, lane]
            _finish_frame(signal, estimate, tables, gain_lut, log_table, features[first + lane])
