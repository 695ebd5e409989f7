"""Per-frame steps shared by both paths, and the batch path over FRAME_LANES frames at a time.

``window_frame`` and ``finish_frame`` (noise reduction, PCAN, log: the stages that carry state
from frame to frame) serve the frame-by-frame path in ``pipeline.process_chunk_into``;
``frames_in_lanes`` runs window, FFT and filterbank on 16 frames at once (SIMD across frames)
and then finishes them one by one, in order.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.bits import most_significant_bit
from kws.frontend.fft import FRAME_LANES, apply_fft_frame_lanes
from kws.frontend.filterbank import apply_filterbank_frame_lanes
from kws.frontend.kernel_cache import refcounted
from kws.frontend.log_scale import apply_log_scale
from kws.frontend.noise_reduction import apply_noise_reduction
from kws.frontend.packing import (
    _BIN_CH,
    _CHANNELS,
    _COMPLEX_SIZE,
    _CORRECTION_BITS,
    _EVEN_Q14,
    _HOP,
    _LOG,
    _LOG_ON,
    _LUT,
    _MIN_REMAINING_Q14,
    _NR_ON,
    _ODD_Q14,
    _PCAN_ON,
    _PERM,
    _SCALE_SHIFT,
    _SMOOTHING_BITS,
    _SNR_SHIFT,
    _START_BIN,
    _SUPER,
    _TW,
    _UW,
    _W,
    _WINDOW,
    _section,
    _section_int16,
)
from kws.frontend.pcan import apply_pcan
from kws.frontend.window import apply_window, window_peak


@numba.njit(cache=True, inline="always")
def window_frame(
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
    # Gather from the carried samples and the new chunk.
    from_pending = pending_count - start
    carried = pending[start:pending_count]  # slices indexed by i alone: see ``window_peak``
    for i in range(from_pending):
        frame[i] = carried[i]
    rest = frame[from_pending:]
    for i in range(window - from_pending):
        rest[i] = pcm[i]
    return apply_window(frame, 0, coefficients, frame)


@numba.njit(cache=True, inline="always")
def finish_frame(
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


@refcounted
def frames_in_lanes(
    pcm: npt.NDArray[np.int16],
    pending: npt.NDArray[np.int16],
    pending_count: int,
    tables: npt.NDArray[np.int64],
    n_frames: int,
    coefficients: npt.NDArray[np.int64],
    estimate: npt.NDArray[np.int64],
    signal: npt.NDArray[np.int64],
    features: npt.NDArray[np.uint16],
    first_row: int,
) -> None:
    """Frames ``0..n_frames-1`` (a multiple of FRAME_LANES) with FFT/filterbank across frames,
    into rows of ``features`` from ``first_row`` on, wrapping around at its end."""
    window = tables[_WINDOW]
    hop = tables[_HOP]
    channels = tables[_CHANNELS]
    complex_size = tables[_COMPLEX_SIZE]
    lanes = FRAME_LANES
    permutation = _section(tables, _PERM)
    twiddles = _section_int16(tables, _TW).reshape((-1, 2))
    super_twiddles = _section_int16(tables, _SUPER).reshape((2, -1))
    bin_channel = _section(tables, _BIN_CH)
    gain_lut = _section(tables, _LUT)
    log_table = _section(tables, _LOG)
    # Scratch for one block of frames, once per call (batch calls are long). The FFT's int16
    # values are held in int32: with the int16 twiddles, its products use the 32-bit multiply.
    frames = np.empty((lanes, window), dtype=np.int16)
    work_re = np.empty((complex_size, lanes), dtype=np.int32)
    work_im = np.empty((complex_size, lanes), dtype=np.int32)
    spectrum_re = np.empty((complex_size + 1, lanes), dtype=np.int32)
    spectrum_im = np.empty((complex_size + 1, lanes), dtype=np.int32)
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
            row = (first_row + first + lane) % features.shape[0]
            finish_frame(signal, estimate, tables, gain_lut, log_table, features[row])
