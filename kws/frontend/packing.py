"""All of a frontend config's constants packed into one int64 array for the kernels.

A header of scalars and section offsets, then every stage's tables: one array argument instead
of a dozen keeps Numba's per-call dispatch cost small, which matters when streaming calls the
kernel every 10 ms. Built once per config (cached).

The FFT's Q15 twiddles are stored as int16, four to a word (``_section_int16`` reads them):
int16 twiddles and int32 FFT work arrays let LLVM use the one-instruction 32x32->64 bit SIMD
multiply instead of a multi-instruction 64-bit one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.config import FrontendConfig
from kws.frontend.fft import fft_params
from kws.frontend.filterbank import filterbank_params
from kws.frontend.log_scale import LOG_CORRECTION_Q16, log_scale_params
from kws.frontend.noise_reduction import noise_reduction_params
from kws.frontend.pcan import pcan_params
from kws.frontend.window import window_params

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
# Sections held as int16 values, four to an int64 word; their header length counts int16 values.
_INT16_SECTIONS = (_TW, _LATE_TW, _SUPER)
_INT16_PER_WORD = 4


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
        fft.twiddles.ravel(),  # int16 sections: packed below
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
    words = []
    for index, section in enumerate(sections):
        header[_SCALARS + 2 * index] = offset
        header[_SCALARS + 2 * index + 1] = section.shape[0]
        if index in _INT16_SECTIONS:
            section = _int16_words(section)
        words.append(section.astype(np.int64))
        offset += section.shape[0]
    tables = np.concatenate([header, *words]).astype(np.int64)
    tables.setflags(write=False)
    complex_size = fft.fft_size // 2
    # Scratch: padded frame, transposed and linear work re/im, spectrum re/im, channel sums,
    # channel values, the real-FFT split's four rows, bin energies. Counted in int64 words;
    # the kernel holds the FFT's arrays as int32, so it uses a little over half of their part.
    scratch_len = fft.fft_size + 4 * complex_size + 2 * (complex_size + 1)
    scratch_len += 2 * config.num_channels + 2 + 2 * complex_size + complex_size + 1
    return PackedFrontend(config=config, tables=tables, scratch_len=scratch_len)


def _int16_words(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``values`` (each within int16) as int16, zero-padded to whole int64 words."""
    if values.size and (values.min() < -32768 or values.max() > 32767):
        raise ValueError("an int16 section holds a value outside int16")  # Q15 tables never do
    padded = np.zeros(int16_word_count(values.size) * _INT16_PER_WORD, dtype=np.int16)
    padded[: values.size] = values
    return padded.view(np.int64)


@numba.njit(cache=True, inline="always")
def _section(tables: npt.NDArray[np.int64], index: int) -> npt.NDArray[np.int64]:
    start = tables[_SCALARS + 2 * index]
    return tables[start : start + tables[_SCALARS + 2 * index + 1]]


@numba.njit(cache=True, inline="always")
def _section_int16(tables: npt.NDArray[np.int64], index: int) -> npt.NDArray[np.int16]:
    """One of ``_INT16_SECTIONS``: its int16 values (a view, no copy)."""
    start = tables[_SCALARS + 2 * index]
    length = tables[_SCALARS + 2 * index + 1]
    return tables[start : start + int16_word_count(length)].view(np.int16)[:length]


@numba.njit(cache=True, inline="always")
def int16_word_count(count: int) -> int:
    """The int64 words that hold ``count`` int16 values (``_INT16_PER_WORD`` to a word)."""
    return (count + _INT16_PER_WORD - 1) // _INT16_PER_WORD
