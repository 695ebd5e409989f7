"""Stage 3, filterbank: FFT bins -> energy -> triangular mel channels -> integer square root.

TFLM ``filterbank.c``/``filterbank_util.c``. Each FFT bin between the band edges belongs to one
channel; it adds ``weight * energy`` to that channel and ``unweight * energy`` (the falling
slope) to the next one. Weights are Q12 (``FILTERBANK_Q_BITS``); the 64-bit channel sums get an
integer square root and are shifted back down by the FFT's input shift. Tables are computed in
float32 with the same operation order as TFLM, so they come out identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.bits import most_significant_bit
from kws.frontend.config import FrontendConfig

# kFilterbankBits: channel weights are Q12 (4096 = 1.0).
FILTERBANK_Q_BITS = 12
# Below this the float64 square root is close enough to correct exactly in one step.
_FAST_SQRT_LIMIT = 1 << 52

_F32 = np.float32


@dataclass(frozen=True)
class FilterbankParams:
    """Constants of the filterbank stage, one entry per FFT bin in ``start_bin..end_bin-1``.

    ``bin_channel[k]`` (non-decreasing in k) is the channel (0..num_channels, where 0 only feeds
    channel 1 through its unweight) that bin ``start_bin + k`` rises into;
    ``weights_q12``/``unweights_q12`` its slopes.
    """

    num_channels: int
    start_bin: int
    end_bin: int
    bin_channel: npt.NDArray[np.int64]
    weights_q12: npt.NDArray[np.int64]
    unweights_q12: npt.NDArray[np.int64]
    center_hz: npt.NDArray[np.float64]


def _freq_to_mel(freq_hz: np.float32) -> np.float32:
    return _F32(_F32(1127.0) * np.log1p(_F32(freq_hz) / _F32(700.0)))


def filterbank_params(config: FrontendConfig) -> FilterbankParams:
    """Bin-to-channel tables exactly as ``FilterbankPopulateState`` builds them."""
    num_channels_plus_1 = config.num_channels + 1
    spectrum_size = config.fft_size // 2 + 1
    mel_low = _freq_to_mel(_F32(config.lower_band_hz))
    mel_high = _freq_to_mel(_F32(config.upper_band_hz))
    mel_spacing = _F32(_F32(mel_high - mel_low) / _F32(num_channels_plus_1))
    centers = [_F32(mel_low + _F32(mel_spacing * _F32(i + 1))) for i in range(num_channels_plus_1)]

    hz_per_bin = _F32(_F32(0.5 * config.sample_rate_hz) / _F32(_F32(spectrum_size) - _F32(1.0)))
    start_bin = int(_F32(_F32(1.5) + _F32(config.lower_band_hz) / hz_per_bin))

    bin_channel: list[int] = []
    weights: list[int] = []
    unweights: list[int] = []
    freq_index = start_bin
    for channel in range(num_channels_plus_1):
        denominator = mel_low if channel == 0 else centers[channel - 1]
        while _freq_to_mel(_F32(_F32(freq_index) * hz_per_bin)) <= centers[channel]:
            weight = _F32(
                _F32(centers[channel] - _freq_to_mel(_F32(_F32(freq_index) * hz_per_bin)))
                / _F32(centers[channel] - denominator)
            )
            scale = _F32(1 << FILTERBANK_Q_BITS)
            bin_channel.append(channel)
            weights.append(int(np.floor(_F32(weight * scale + _F32(0.5)))))
            unweights.append(int(np.floor(_F32(_F32(_F32(1.0) - weight) * scale + _F32(0.5)))))
            freq_index += 1
    end_bin = freq_index
    if end_bin >= spectrum_size:
        raise ValueError("filterbank reaches past the spectrum")  # excluded by config checks

    mel_centers = np.array(centers[:-1], dtype=np.float64)
    return FilterbankParams(
        num_channels=config.num_channels,
        start_bin=start_bin,
        end_bin=end_bin,
        bin_channel=np.array(bin_channel, dtype=np.int64),
        weights_q12=np.array(weights, dtype=np.int64),
        unweights_q12=np.array(unweights, dtype=np.int64),
        center_hz=700.0 * np.expm1(mel_centers / 1127.0),
    )


@numba.njit(cache=True, inline="always")
def _sqrt32(num: int) -> int:
    """TFLM ``Sqrt32``: bitwise integer square root, rounded, of a value below 2**32."""
    if num == 0:
        return 0
    result = 0
    max_bit_number = (32 - most_significant_bit(num)) | 1
    bit = 1 << (31 - max_bit_number)
    iterations = (31 - max_bit_number) // 2 + 1
    for _ in range(iterations):
        if num >= result + bit:
            num -= result + bit
            result = (result >> 1) + bit
        else:
            result >>= 1
        bit >>= 2
    if num > result and result != 0xFFFF:
        result += 1
    return result


@numba.njit(cache=True, inline="always")
def _sqrt64(value: int) -> int:
    """TFLM ``Sqrt64`` of the unsigned 64-bit pattern held in an int64, truncated to uint32."""
    if value >= 0 and (value >> 32) == 0:
        # TFLM's 32-bit shortcut (its "slight off by one near 2**32" included).
        return _sqrt32(value)
    num = np.uint64(value)
    msb = 64 if value < 0 else most_significant_bit(value)
    max_bit_number = (64 - msb) | 1
    bit = np.uint64(1) << np.uint64(63 - max_bit_number)
    iterations = (63 - max_bit_number) // 2 + 1
    result = np.uint64(0)
    one = np.uint64(1)
    two = np.uint64(2)
    for _ in range(iterations):
        if num >= result + bit:
            num -= result + bit
            result = (result >> one) + bit
        else:
            result >>= one
        bit >>= two
    if num > result and result != np.uint64(0xFFFFFFFF):
        result += one
    return int(np.int64(result & np.uint64(0xFFFFFFFF)))


@numba.njit(cache=True, inline="always")
def _rounded_sqrt(value: int) -> int:
    """``Sqrt64`` fast path: exact for values below 2**52 (float64 sqrt, then corrected).

    The bitwise square root in TFLM computes floor(sqrt(n)) and rounds up when the remainder
    exceeds the root; float64's sqrt is within one of the floor here, so one correction step
    each way reproduces it exactly without a data-dependent loop (which would block SIMD).
    """
    root = int(np.sqrt(float(value)))
    root -= int(root * root > value)
    root += int((root + 1) * (root + 1) <= value)
    # 0xFFFF cap of the 32-bit path: its root cannot round up past 16 bits.
    can_round = (value >> 32) != 0 or root != 0xFFFF
    return root + int((value - root * root > root) and can_round)


@numba.njit(cache=True)
def apply_filterbank(
    spectrum_re: npt.NDArray[np.integer[Any]],
    spectrum_im: npt.NDArray[np.integer[Any]],
    start_bin: int,
    bin_channel: npt.NDArray[np.int64],
    weights_q12: npt.NDArray[np.int64],
    unweights_q12: npt.NDArray[np.int64],
    input_shift: int,
    energy: npt.NDArray[np.int64],
    accumulators: npt.NDArray[np.int64],
    channels_out: npt.NDArray[np.int64],
) -> None:
    """Mel channel amplitudes (uint32 values) of one spectrum into ``channels_out``.

    ``energy`` (at least the number of bins) and ``accumulators`` (num_channels + 2) are
    scratch; the accumulators hold the 64-bit sums; int64 arithmetic wraps
    exactly like TFLM's uint64 arithmetic, so the bit patterns agree.
    """
    n_bins = bin_channel.shape[0]
    # Energies first, in a loop LLVM vectorises; the scatter into channels follows. The loop
    # indexes slices by ``k`` alone: indexing by ``start_bin + k``, which could be negative as
    # far as LLVM can tell, keeps Numba's wraparound check in the loop, and that check kept it
    # scalar (about 15x slower on an Ice Lake Xeon).
    bins_re = spectrum_re[start_bin : start_bin + n_bins]
    bins_im = spectrum_im[start_bin : start_bin + n_bins]
    bin_energy = energy[:n_bins]
    for k in range(n_bins):
        re = bins_re[k]
        im = bins_im[k]
        # TFLM keeps the energy in an int32, then widens it with sign extension.
        bin_energy[k] = ((re * re + im * im + 0x80000000) & 0xFFFFFFFF) - 0x80000000
    for channel in range(accumulators.shape[0]):
        accumulators[channel] = 0
    # bin_channel never decreases, so a channel's bins are one run: sum the run in registers
    # and store once per channel (adding into memory bin by bin waits on the previous store).
    # int64 sums wrap like TFLM's uint64 ones in any order, so the result is unchanged.
    channel = bin_channel[0] if n_bins > 0 else 0
    rising = 0
    falling = 0
    for k in range(n_bins):
        if bin_channel[k] != channel:
            accumulators[channel] += rising
            accumulators[channel + 1] += falling
            channel = bin_channel[k]
            rising = 0
            falling = 0
        rising += weights_q12[k] * energy[k]
        falling += unweights_q12[k] * energy[k]
    if n_bins > 0:
        accumulators[channel] += rising
        accumulators[channel + 1] += falling
    # Branch-free fast path for every channel (SIMD), the exact path after it for the rest.
    for channel in range(channels_out.shape[0]):
        total = min(max(accumulators[channel + 1], 0), _FAST_SQRT_LIMIT - 1)
        channels_out[channel] = _rounded_sqrt(total) >> input_shift
    for channel in range(channels_out.shape[0]):
        total = accumulators[channel + 1]
        if not 0 <= total < _FAST_SQRT_LIMIT:
            channels_out[channel] = _sqrt64(total) >> input_shift


@numba.njit(cache=True, inline="always")
def apply_filterbank_frame_lanes(
    spectrum_re: npt.NDArray[np.integer[Any]],
    spectrum_im: npt.NDArray[np.integer[Any]],
    start_bin: int,
    bin_channel: npt.NDArray[np.int64],
    weights_q12: npt.NDArray[np.int64],
    unweights_q12: npt.NDArray[np.int64],
    input_shifts: npt.NDArray[np.int64],
    energy: npt.NDArray[np.float64],
    accumulators: npt.NDArray[np.float64],
    channels_out: npt.NDArray[np.int64],
) -> None:
    """``apply_filterbank`` on several frames at once: arrays are ``(index, frame)``.

    Every frame shares the bin-to-channel tables, so the frame axis is a contiguous SIMD axis.
    The sums run in float64, which is exact here: energies are below 2**31, weights below 2**13
    and there are fewer than 2**9 bins, so every partial sum is an integer below 2**53 (and
    TFLM's uint64 sums never wrap). ``energy`` and ``accumulators`` are float64 scratch.
    """
    lanes = input_shifts.shape[0]
    n_bins = bin_channel.shape[0]
    for k in range(n_bins):
        for lane in range(lanes):
            re = spectrum_re[start_bin + k, lane]
            im = spectrum_im[start_bin + k, lane]
            # TFLM keeps the energy in an int32 (sign extended when widened).
            wrapped = ((re * re + im * im + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            energy[k, lane] = float(wrapped)
    accumulators[:, :] = 0.0
    for k in range(n_bins):
        channel = bin_channel[k]
        weight = float(weights_q12[k])
        unweight = float(unweights_q12[k])
        for lane in range(lanes):
            accumulators[channel, lane] += weight * energy[k, lane]
            accumulators[channel + 1, lane] += unweight * energy[k, lane]
    for channel in range(channels_out.shape[0]):
        for lane in range(lanes):
            # Branch-free fast path for every value (SIMD), exact path below for the rest.
            total = min(max(accumulators[channel + 1, lane], 0.0), _FAST_SQRT_LIMIT - 1.0)
            channels_out[channel, lane] = _rounded_sqrt(int(total)) >> input_shifts[lane]
    for channel in range(channels_out.shape[0]):
        for lane in range(lanes):
            total = accumulators[channel + 1, lane]
            if not 0.0 <= total < _FAST_SQRT_LIMIT:
                channels_out[channel, lane] = _sqrt64(int(total)) >> input_shifts[lane]
