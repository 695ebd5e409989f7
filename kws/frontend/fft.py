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
            (_q15(math.cos(-2 * math.pi * i / complex_size)),
             _q15(math.sin(-2 * math.pi * i / complex_size)))
            for i in range(complex_size)
        ],
        dtype=np.int64,
    )
    super_twiddles = np.array(
        [
            (_q15(math.cos(-math.pi * ((i + 1) / complex_size + 0.5))),
             _q15(math.sin(-math.pi * ((i + 1) / complex_size + 0.5))))
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
    input_shift: int,
    permutation: npt.NDArray[np.int64],
    stages: npt.NDArray[np.int64],
    twiddles: npt.NDArray[np.int64],
    super_twiddles: npt.NDArray[np.int64],
    work_re: npt.NDArray[np.int64],
    work_im: npt.NDArray[np.int64],
    spectrum_re: npt.NDArray[np.int64],
    spectrum_im: npt.NDArray[np.int64],
) -> None:
    """Real FFT of ``windowed << input_shift`` (zero-padded) into ``spectrum_*[0..fft_size/2]``.

    Every value stored is an int16 (held in int64 arrays to avoid casts in the butterflies).
    """
    complex_size = permutation.shape[0]
    window_samples = windowed.shape[0]
    # Leaf copy of kissfft's recursion: complex sample j of the packed real input is
    # (x[2j], x[2j+1]); the shift is TFLM's `(int16)((uint16)x << shift)`.
    for j in range(complex_size):
        source = 2 * permutation[j]
        re = 0
        im = 0
        if source < window_samples:
            re = wrap_int16((np.int64(windowed[source]) & 0xFFFF) << input_shift)
        if source + 1 < window_samples:
            im = wrap_int16((np.int64(windowed[source + 1]) & 0xFFFF) << input_shift)
        work_re[j] = re
        work_im[j] = im

    for stage in range(stages.shape[0]):
        radix = stages[stage, 0]
        m = stages[stage, 1]
        fstride = stages[stage, 2]
        block = radix * m
        for base in range(0, complex_size, block):
            if radix == 4:
                _butterfly4(work_re, work_im, base, m, fstride, twiddles)
            else:
                _butterfly2(work_re, work_im, base, m, fstride, twiddles)

    # kiss_fftr: split the packed complex FFT into the real FFT's half spectrum.
    dc_re = _fixdiv(work_re[0], 2)
    dc_im = _fixdiv(work_im[0], 2)
    spectrum_re[0] = wrap_int16(dc_re + dc_im)
    spectrum_im[0] = 0
    spectrum_re[complex_size] = wrap_int16(dc_re - dc_im)
    spectrum_im[complex_size] = 0
    for k in range(1, complex_size // 2 + 1):
        fpk_re = _fixdiv(work_re[k], 2)
        fpk_im = _fixdiv(work_im[k], 2)
        fpnk_re = _fixdiv(work_re[complex_size - k], 2)
        fpnk_im = _fixdiv(wrap_int16(-work_im[complex_size - k]), 2)
        f1k_re = wrap_int16(fpk_re + fpnk_re)
        f1k_im = wrap_int16(fpk_im + fpnk_im)
        f2k_re = wrap_int16(fpk_re - fpnk_re)
        f2k_im = wrap_int16(fpk_im - fpnk_im)
        tw_re = super_twiddles[k - 1, 0]
        tw_im = super_twiddles[k - 1, 1]
        t_re = _sround(f2k_re * tw_re - f2k_im * tw_im)
        t_im = _sround(f2k_re * tw_im + f2k_im * tw_re)
        spectrum_re[k] = wrap_int16((f1k_re + t_re) >> 1)
        spectrum_im[k] = wrap_int16((f1k_im + t_im) >> 1)
        spectrum_re[complex_size - k] = wrap_int16((f1k_re - t_re) >> 1)
        spectrum_im[complex_size - k] = wrap_int16((t_im - f1k_im) >> 1)


@numba.njit(cache=True, inline="always")
def _butterfly2(
    re: npt.NDArray[np.int64],
    im: npt.NDArray[np.int64],
    base: int,
    m: int,
    fstride: int,
    twiddles: npt.NDArray[np.int64],
) -> None:
    for k in range(m):
        a = base + k
        b = a + m
        a_re = _fixdiv(re[a], 2)
        a_im = _fixdiv(im[a], 2)
        b_re = _fixdiv(re[b], 2)
        b_im = _fixdiv(im[b], 2)
        tw_re = twiddles[k * fstride, 0]
        tw_im = twiddles[k * fstride, 1]
        t_re = _sround(b_re * tw_re - b_im * tw_im)
        t_im = _sround(b_re * tw_im + b_im * tw_re)
        re[b] = wrap_int16(a_re - t_re)
        im[b] = wrap_int16(a_im - t_im)
        re[a] = wrap_int16(a_re + t_re)
        im[a] = wrap_int16(a_im + t_im)


@numba.njit(cache=True, inline="always")
def _butterfly4(
    re: npt.NDArray[np.int64],
    im: npt.NDArray[np.int64],
    base: int,
    m: int,
    fstride: int,
    twiddles: npt.NDArray[np.int64],
) -> None:
    for k in range(m):
        i0 = base + k
        i1 = i0 + m
        i2 = i1 + m
        i3 = i2 + m
        f0_re = _fixdiv(re[i0], 4)
        f0_im = _fixdiv(im[i0], 4)
        f1_re = _fixdiv(re[i1], 4)
        f1_im = _fixdiv(im[i1], 4)
        f2_re = _fixdiv(re[i2], 4)
        f2_im = _fixdiv(im[i2], 4)
        f3_re = _fixdiv(re[i3], 4)
        f3_im = _fixdiv(im[i3], 4)
        w1 = k * fstride
        s0_re = _sround(f1_re * twiddles[w1, 0] - f1_im * twiddles[w1, 1])
        s0_im = _sround(f1_re * twiddles[w1, 1] + f1_im * twiddles[w1, 0])
        w2 = 2 * w1
        s1_re = _sround(f2_re * twiddles[w2, 0] - f2_im * twiddles[w2, 1])
        s1_im = _sround(f2_re * twiddles[w2, 1] + f2_im * twiddles[w2, 0])
        w3 = 3 * w1
        s2_re = _sround(f3_re * twiddles[w3, 0] - f3_im * twiddles[w3, 1])
        s2_im = _sround(f3_re * twiddles[w3, 1] + f3_im * twiddles[w3, 0])
        s5_re = wrap_int16(f0_re - s1_re)
        s5_im = wrap_int16(f0_im - s1_im)
        f0_re = wrap_int16(f0_re + s1_re)
        f0_im = wrap_int16(f0_im + s1_im)
        s3_re = wrap_int16(s0_re + s2_re)
        s3_im = wrap_int16(s0_im + s2_im)
        s4_re = wrap_int16(s0_re - s2_re)
        s4_im = wrap_int16(s0_im - s2_im)
        re[i2] = wrap_int16(f0_re - s3_re)
        im[i2] = wrap_int16(f0_im - s3_im)
        re[i0] = wrap_int16(f0_re + s3_re)
        im[i0] = wrap_int16(f0_im + s3_im)
        re[i1] = wrap_int16(s5_re + s4_im)
        im[i1] = wrap_int16(s5_im - s4_re)
        re[i3] = wrap_int16(s5_re - s4_im)
        im[i3] = wrap_int16(s5_im + s4_re)
