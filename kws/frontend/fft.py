"""Stage 2, FFT: a bit-exact model of kissfft's int16 fixed-point real FFT (as TFLM builds it).

TFLM shifts the windowed frame left by ``15 - MSB(max |x|)`` so it fills the int16 range, zero-pads
it to a power of two and runs ``kiss_fftr`` with ``FIXED_POINT=16``. That FFT scales every
radix stage down (so the output is the DFT divided by the FFT size) and rounds every product to
Q15 (``FFT_Q_BITS``). We reproduce its exact sequence of int16 stores: the same mixed-radix
decomposition (radix 4 first, then 2), the same twiddles and the same rounding, with the
recursion flattened into a digit-reversal permutation plus one pass per stage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.bits import wrap_int16
from kws.frontend.config import FrontendConfig

# kissfft FIXED_POINT=16: twiddles and products are Q15 (FRACBITS = 15, SAMP_MAX = 32767).
FFT_Q_BITS = 15
FFT_SAMPLE_MAX = (1 << FFT_Q_BITS) - 1
_ROUND_HALF = 1 << (FFT_Q_BITS - 1)


@dataclass(frozen=True)
class FftParams:
    """Constants of the FFT stage.

    ``permutation[j]`` is the complex input index that kissfft's recursion places at output
    ``j`` before any butterfly; ``stages`` rows are ``(radix, m, fstride)`` in execution order
    (deepest first); ``twiddles``/``super_twiddles`` are Q15 ``(re, im)`` pairs.
    """

    fft_size: int
    permutation: npt.NDArray[np.int64]
    stages: npt.NDArray[np.int64]
    twiddles: npt.NDArray[np.int64]
    super_twiddles: npt.NDArray[np.int64]


def _kiss_factors(n: int) -> list[tuple[int, int]]:
    """kissfft's ``kf_factor``: powers of 4, then 2, then odd primes, as (radix, m) pairs."""
    factors = []
    radix = 4
    floor_sqrt = math.floor(math.sqrt(n))
    while True:
        while n % radix:
            radix = {4: 2, 2: 3}.get(radix, radix + 2)
            if radix > floor_sqrt:
                radix = n
        n //= radix
        factors.append((radix, n))
        if n <= 1:
            return factors


def _q15(value: float) -> int:
    return math.floor(0.5 + FFT_SAMPLE_MAX * value)


def fft_params(config: FrontendConfig) -> FftParams:
    """Tables for kissfft's real FFT of ``config.fft_size`` points (complex size half that)."""
    fft_size = config.fft_size
    complex_size = fft_size // 2
    factors = _kiss_factors(complex_size)
    if any(radix not in (2, 4) for radix, _ in factors):
        # Cannot happen for power-of-two sizes; guards a future non-power-of-two change.
        raise ValueError(f"fft size {fft_size} needs radices other than 2 and 4")

    permutation = np.zeros(complex_size, dtype=np.int64)

    def place(out_offset: int, in_offset: int, fstride: int, depth: int) -> None:
        radix, m = factors[depth]
        for j in range(radix):
            if m == 1:
                permutation[out_offset + j] = in_offset + j * fstride
            else:
                place(out_offset + j * m, in_offset + j * fstride, fstride * radix, depth + 1)

    place(0, 0, 1, 0)

    stages = []
    fstride = 1
    for radix, m in factors:
        stages.append((radix, m, fstride))
        fstride *= radix
    stages.reverse()

    twiddles = np.array(
        [
            (
                _q15(math.cos(-2 * math.pi * i / complex_size)),
                _q15(math.sin(-2 * math.pi * i / complex_size)),
            )
            for i in range(complex_size)
        ],
        dtype=np.int64,
    )
    super_twiddles = np.array(
        [
            (
                _q15(math.cos(-math.pi * ((i + 1) / complex_size + 0.5))),
                _q15(math.sin(-math.pi * ((i + 1) / complex_size + 0.5))),
            )
            for i in range(max(complex_size // 2, 1))
        ],
        dtype=np.int64,
    )
    return FftParams(
        fft_size=fft_size,
        permutation=permutation,
        stages=np.array(stages, dtype=np.int64).reshape(-1, 3),
        twiddles=twiddles,
        super_twiddles=super_twiddles,
    )


@numba.njit(cache=True, inline="always")
def _sround(product: int) -> int:
    """kissfft ``sround``: Q15 product back to int16 with round-half-up, then the int16 store."""
    return wrap_int16((product + _ROUND_HALF) >> FFT_Q_BITS)


@numba.njit(cache=True, inline="always")
def _fixdiv(value: int, divisor: int) -> int:
    """kissfft ``C_FIXDIV`` on one component: multiply by ``SAMP_MAX / divisor`` in Q15."""
    return _sround(value * (FFT_SAMPLE_MAX // divisor))


@numba.njit(cache=True)
def apply_fft(
    windowed: npt.NDArray[np.int16],
    input_shifts: npt.NDArray[np.int64],
    lanes: int,
    permutation: npt.NDArray[np.int64],
    stages: npt.NDArray[np.int64],
    twiddles: npt.NDArray[np.int64],
    super_twiddles: npt.NDArray[np.int64],
    work_re: npt.NDArray[np.int64],
    work_im: npt.NDArray[np.int64],
    spectrum_re: npt.NDArray[np.int64],
    spectrum_im: npt.NDArray[np.int64],
) -> None:
    """Real FFTs of ``lanes`` frames at once: ``windowed[:, l] << input_shifts[l]``, zero-padded.

    Arrays are ``(index, lane)``: frame ``l`` is column ``l`` and the innermost loops run over
    lanes, the same integer operations on adjacent memory, so LLVM turns them into SIMD code.
    Writes ``spectrum_*[0..fft_size/2, l]``. Every value stored is an int16 (held in int64).
    """
    complex_size = permutation.shape[0]
    window_samples = windowed.shape[0]
    # Leaf copy of kissfft's recursion: complex sample j of the packed real input is
    # (x[2j], x[2j+1]); the shift is TFLM's `(int16)((uint16)x << shift)`.
    for j in range(complex_size):
        source = 2 * permutation[j]
        for lane in range(lanes):
            work_re[j, lane] = 0
            work_im[j, lane] = 0
        if source < window_samples:
            for lane in range(lanes):
                work_re[j, lane] = wrap_int16(
                    (np.int64(windowed[source, lane]) & 0xFFFF) << input_shifts[lane]
                )
        if source + 1 < window_samples:
            for lane in range(lanes):
                work_im[j, lane] = wrap_int16(
                    (np.int64(windowed[source + 1, lane]) & 0xFFFF) << input_shifts[lane]
                )

    for stage in range(stages.shape[0]):
        radix = stages[stage, 0]
        m = stages[stage, 1]
        fstride = stages[stage, 2]
        for base in range(0, complex_size, radix * m):
            for k in range(m):
                if radix == 4:
                    _butterfly4(work_re, work_im, base + k, m, k * fstride, twiddles, lanes)
                else:
                    _butterfly2(work_re, work_im, base + k, m, k * fstride, twiddles, lanes)

    # kiss_fftr: split the packed complex FFT into the real FFT's half spectrum.
    for lane in range(lanes):
        dc_re = _fixdiv(work_re[0, lane], 2)
        dc_im = _fixdiv(work_im[0, lane], 2)
        spectrum_re[0, lane] = wrap_int16(dc_re + dc_im)
        spectrum_im[0, lane] = 0
        spectrum_re[complex_size, lane] = wrap_int16(dc_re - dc_im)
        spectrum_im[complex_size, lane] = 0
    for k in range(1, complex_size // 2 + 1):
        w_re = super_twiddles[k - 1, 0]
        w_im = super_twiddles[k - 1, 1]
        mirror = complex_size - k
        for lane in range(lanes):
            fpk_re = _scale(work_re[k, lane], 2)
            fpk_im = _scale(work_im[k, lane], 2)
            fpnk_re = _scale(work_re[mirror, lane], 2)
            fpnk_im = _scale(wrap_int16(-work_im[mirror, lane]), 2)
            # |fpk|, |fpnk| <= 16383, so these sums fit int16; the rotation below may not.
            f1k_re = fpk_re + fpnk_re
            f1k_im = fpk_im + fpnk_im
            f2k_re = fpk_re - fpnk_re
            f2k_im = fpk_im - fpnk_im
            t_re = _sround(f2k_re * w_re - f2k_im * w_im)
            t_im = _sround(f2k_re * w_im + f2k_im * w_re)
            spectrum_re[k, lane] = wrap_int16((f1k_re + t_re) >> 1)
            spectrum_im[k, lane] = wrap_int16((f1k_im + t_im) >> 1)
            spectrum_re[mirror, lane] = wrap_int16((f1k_re - t_re) >> 1)
            spectrum_im[mirror, lane] = wrap_int16((t_im - f1k_im) >> 1)


@numba.njit(cache=True, inline="always")
def _scale(value: int, divisor: int) -> int:
    """``C_FIXDIV`` for an int16 input: the result always fits int16, so no wrap is needed."""
    return (value * (FFT_SAMPLE_MAX // divisor) + _ROUND_HALF) >> FFT_Q_BITS


@numba.njit(cache=True, inline="always")
def _rotate_re(a_re: int, a_im: int, w_re: int, w_im: int) -> int:
    """Real part of kissfft ``C_MUL`` for |a| <= 2**13 (fits int16, so no wrap is needed)."""
    return (a_re * w_re - a_im * w_im + _ROUND_HALF) >> FFT_Q_BITS


@numba.njit(cache=True, inline="always")
def _rotate_im(a_re: int, a_im: int, w_re: int, w_im: int) -> int:
    """Imaginary part of kissfft ``C_MUL`` for |a| <= 2**13."""
    return (a_re * w_im + a_im * w_re + _ROUND_HALF) >> FFT_Q_BITS


# Why only the final stores wrap: after C_FIXDIV every input is within +-2**13 (radix 4) or
# +-2**14 (radix 2); a Q15 rotation keeps the complex magnitude, so each rotated component is
# within +-11586 (radix 4); the partial sums (<= 23172) fit int16 and only the last sums can
# exceed it. The int16 stores of those last sums wrap exactly as kissfft's do.


@numba.njit(cache=True, inline="always")
def _butterfly2(
    re: npt.NDArray[np.int64],
    im: npt.NDArray[np.int64],
    i0: int,
    m: int,
    twiddle_index: int,
    twiddles: npt.NDArray[np.int64],
    lanes: int,
) -> None:
    """One radix-2 butterfly of kissfft (``kf_bfly2`` for one k) on every lane."""
    i1 = i0 + m
    w_re = twiddles[twiddle_index, 0]
    w_im = twiddles[twiddle_index, 1]
    for lane in range(lanes):
        a_re = _scale(re[i0, lane], 2)
        a_im = _scale(im[i0, lane], 2)
        b_re = _scale(re[i1, lane], 2)
        b_im = _scale(im[i1, lane], 2)
        # Radix-2 inputs reach 2**14, so the rotation itself may need the int16 wrap.
        t_re = _sround(b_re * w_re - b_im * w_im)
        t_im = _sround(b_re * w_im + b_im * w_re)
        re[i1, lane] = wrap_int16(a_re - t_re)
        im[i1, lane] = wrap_int16(a_im - t_im)
        re[i0, lane] = wrap_int16(a_re + t_re)
        im[i0, lane] = wrap_int16(a_im + t_im)


@numba.njit(cache=True, inline="always")
def _butterfly4(
    re: npt.NDArray[np.int64],
    im: npt.NDArray[np.int64],
    i0: int,
    m: int,
    twiddle_index: int,
    twiddles: npt.NDArray[np.int64],
    lanes: int,
) -> None:
    """One forward radix-4 butterfly of kissfft (``kf_bfly4`` for one k) on every lane."""
    i1 = i0 + m
    i2 = i1 + m
    i3 = i2 + m
    w1_re = twiddles[twiddle_index, 0]
    w1_im = twiddles[twiddle_index, 1]
    w2_re = twiddles[2 * twiddle_index, 0]
    w2_im = twiddles[2 * twiddle_index, 1]
    w3_re = twiddles[3 * twiddle_index, 0]
    w3_im = twiddles[3 * twiddle_index, 1]
    for lane in range(lanes):
        f0_re = _scale(re[i0, lane], 4)
        f0_im = _scale(im[i0, lane], 4)
        f1_re = _scale(re[i1, lane], 4)
        f1_im = _scale(im[i1, lane], 4)
        f2_re = _scale(re[i2, lane], 4)
        f2_im = _scale(im[i2, lane], 4)
        f3_re = _scale(re[i3, lane], 4)
        f3_im = _scale(im[i3, lane], 4)
        s0_re = _rotate_re(f1_re, f1_im, w1_re, w1_im)
        s0_im = _rotate_im(f1_re, f1_im, w1_re, w1_im)
        s1_re = _rotate_re(f2_re, f2_im, w2_re, w2_im)
        s1_im = _rotate_im(f2_re, f2_im, w2_re, w2_im)
        s2_re = _rotate_re(f3_re, f3_im, w3_re, w3_im)
        s2_im = _rotate_im(f3_re, f3_im, w3_re, w3_im)
        s5_re = f0_re - s1_re
        s5_im = f0_im - s1_im
        f0_re += s1_re
        f0_im += s1_im
        s3_re = s0_re + s2_re
        s3_im = s0_im + s2_im
        s4_re = s0_re - s2_re
        s4_im = s0_im - s2_im
        re[i2, lane] = wrap_int16(f0_re - s3_re)
        im[i2, lane] = wrap_int16(f0_im - s3_im)
        re[i0, lane] = wrap_int16(f0_re + s3_re)
        im[i0, lane] = wrap_int16(f0_im + s3_im)
        re[i1, lane] = wrap_int16(s5_re + s4_im)
        im[i1, lane] = wrap_int16(s5_im - s4_re)
        re[i3, lane] = wrap_int16(s5_re - s4_im)
        im[i3, lane] = wrap_int16(s5_im + s4_re)
