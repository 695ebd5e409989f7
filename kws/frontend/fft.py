"""Stage 2, FFT: a bit-exact model of kissfft's int16 fixed-point real FFT (as TFLM builds it).

TFLM shifts the windowed frame left by ``15 - MSB(max |x|)`` so it fills the int16 range, zero-pads
it to a power of two and runs ``kiss_fftr`` with ``FIXED_POINT=16``. That FFT scales every
radix stage down (so the output is the DFT divided by the FFT size) and rounds every product to
Q15 (``FFT_Q_BITS``). We reproduce its exact sequence of int16 stores: the same mixed-radix
decomposition (radix 4 first, then 2), the same twiddles and the same rounding, with the
recursion flattened into a digit-reversal permutation plus one pass per stage.

Layout for speed (the arithmetic is unchanged): the first ("early") stages combine small
blocks, all with the same twiddles, so they run on a transposed copy where the block index is
the innermost, contiguous axis; the remaining ("late") stages run over long contiguous runs of
``k`` with per-stage twiddle rows. Both shapes give LLVM plain unit-stride loops to vectorize.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

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
    (deepest first); ``twiddles`` are Q15 ``(re, im)`` rows, ``super_twiddles`` (kiss_fftr's
    split) a Q15 ``(2, n/4)`` array of re and im rows.
    The early stages (``radix * m <= block_size``) run on the transposed layout
    ``[position_in_block, block]`` filled through ``leaf_index`` (same shape); ``late_stages``
    rows are ``(radix, m, fstride, offset)`` with the stage's twiddles at ``late_twiddles
    [offset:]`` as six contiguous rows of ``m`` (w1 re, w1 im, w2 re, w2 im, w3 re, w3 im).
    """

    fft_size: int
    permutation: npt.NDArray[np.int64]
    stages: npt.NDArray[np.int64]
    twiddles: npt.NDArray[np.int64]
    super_twiddles: npt.NDArray[np.int64]
    block_size: int
    leaf_index: npt.NDArray[np.int64]
    early_stages: npt.NDArray[np.int64]
    late_stages: npt.NDArray[np.int64]
    late_twiddles: npt.NDArray[np.int64]


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
    ).T.copy()
    # Early/late split: the smallest combined block at least sqrt(n), so both the number of
    # blocks (early SIMD width) and the late runs of k are long.
    block_size = complex_size
    for radix, m, _ in stages:
        if radix * m * radix * m >= complex_size:
            block_size = radix * m
            break
    n_blocks = complex_size // block_size
    leaf_index = permutation.reshape(n_blocks, block_size).T.copy()
    early = [row for row in stages if row[0] * row[1] <= block_size]
    late = []
    late_twiddles: list[int] = []
    for radix, m, fstride in stages[len(early) :]:
        late.append((radix, m, fstride, len(late_twiddles)))
        for multiple in (1, 2, 3):
            rows = [twiddles[(multiple * k * fstride) % complex_size] for k in range(m)]
            late_twiddles += [int(row[0]) for row in rows] + [int(row[1]) for row in rows]
    return FftParams(
        fft_size=fft_size,
        permutation=permutation,
        stages=np.array(stages, dtype=np.int64).reshape(-1, 3),
        twiddles=twiddles,
        super_twiddles=super_twiddles,
        block_size=block_size,
        leaf_index=leaf_index,
        early_stages=np.array(early, dtype=np.int64).reshape(-1, 3),
        late_stages=np.array(late, dtype=np.int64).reshape(-1, 4),
        late_twiddles=np.array(late_twiddles, dtype=np.int64),
    )


@numba.njit(cache=True, inline="always")
def _sround(product: int) -> int:
    """kissfft ``sround``: Q15 product back to int16 with round-half-up, then the int16 store."""
    return wrap_int16((product + _ROUND_HALF) >> FFT_Q_BITS)


@numba.njit(cache=True, inline="always")
def apply_fft(
    windowed: npt.NDArray[np.int16],
    input_shift: int,
    leaf_index: npt.NDArray[np.int64],
    early_stages: npt.NDArray[np.int64],
    late_stages: npt.NDArray[np.int64],
    twiddles: npt.NDArray[np.int64],
    late_twiddles: npt.NDArray[np.int64],
    super_twiddles: npt.NDArray[np.int64],
    padded: npt.NDArray[np.int64],
    work_t_re: npt.NDArray[np.int64],
    work_t_im: npt.NDArray[np.int64],
    work_re: npt.NDArray[np.int64],
    work_im: npt.NDArray[np.int64],
    spectrum_re: npt.NDArray[np.int64],
    spectrum_im: npt.NDArray[np.int64],
    split_scratch: npt.NDArray[np.int64],
) -> None:
    """Real FFT of ``windowed << input_shift`` (zero-padded) into ``spectrum_*[0..fft_size/2]``.

    ``padded`` (fft_size), ``work_t_*`` (leaf_index's shape), ``work_*`` (fft_size / 2) and
    ``split_scratch`` (4, fft_size / 4) are scratch. Every value stored is an int16 (held in
    int64 to keep the arithmetic cast-free).
    """
    # TFLM's `(int16)((uint16)x << shift)` of the zero-padded frame, gathered straight into
    # the transposed layout: complex sample j of the packed real input is (x[2j], x[2j+1]).
    window_samples = windowed.shape[0]
    for i in range(window_samples):
        padded[i] = wrap_int16((int(windowed[i]) & 0xFFFF) << input_shift)
    block_size, n_blocks = leaf_index.shape
    for position in range(block_size):
        for block in range(n_blocks):
            source = 2 * leaf_index[position, block]
            work_t_re[position, block] = padded[source]
            work_t_im[position, block] = padded[source + 1]

    # Early stages: identical butterflies in every block, so the block axis is the SIMD axis.
    for stage in range(early_stages.shape[0]):
        radix = early_stages[stage, 0]
        m = early_stages[stage, 1]
        fstride = early_stages[stage, 2]
        for base in range(0, block_size, radix * m):
            for k in range(m):
                i0 = base + k
                w = k * fstride
                if radix == 4 and n_blocks == 16:
                    _butterfly4_16_lanes(work_t_re, work_t_im, i0, m, w, twiddles, 16)
                elif radix == 4:
                    _butterfly4(work_t_re, work_t_im, i0, m, w, twiddles, n_blocks)
                elif n_blocks == 16:
                    _butterfly2_16_lanes(work_t_re, work_t_im, i0, m, w, twiddles, 16)
                else:
                    _butterfly2(work_t_re, work_t_im, i0, m, w, twiddles, n_blocks)

    for block in range(n_blocks):
        for position in range(block_size):
            work_re[block * block_size + position] = work_t_re[position, block]
            work_im[block * block_size + position] = work_t_im[position, block]

    # Late stages: long contiguous runs of k with per-stage twiddle rows.
    complex_size = work_re.shape[0]
    for stage in range(late_stages.shape[0]):
        radix = late_stages[stage, 0]
        m = late_stages[stage, 1]
        offset = late_stages[stage, 3]
        for base in range(0, complex_size, radix * m):
            # Offsets, not slices: a slice inside this loop costs a reference-count round trip.
            if radix == 2:
                _butterfly2_run(work_re, work_im, base, m, late_twiddles, offset)
            elif m == 16:
                _butterfly4_run_16(work_re, work_im, base, m, late_twiddles, offset)
            elif m == 32:
                _butterfly4_run_32(work_re, work_im, base, m, late_twiddles, offset)
            elif m == 64:
                _butterfly4_run_64(work_re, work_im, base, m, late_twiddles, offset)
            elif m == 128:
                _butterfly4_run_128(work_re, work_im, base, m, late_twiddles, offset)
            else:
                _butterfly4_run(work_re, work_im, base, m, late_twiddles, offset)

    # kiss_fftr: split the packed complex FFT into the real FFT's half spectrum.
    dc_re = _scale(work_re[0], 2)
    dc_im = _scale(work_im[0], 2)
    spectrum_re[0] = wrap_int16(dc_re + dc_im)
    spectrum_im[0] = 0
    spectrum_re[complex_size] = wrap_int16(dc_re - dc_im)
    spectrum_im[complex_size] = 0
    # Three passes instead of kissfft's one so each is a plain vectorisable loop: the mirrored
    # reads, then the stores of bins k, then the stores of bins n - k (values unchanged).
    half = complex_size // 2
    f1k_re = split_scratch[0]
    f1k_im = split_scratch[1]
    t_re = split_scratch[2]
    t_im = split_scratch[3]
    for k in range(1, half):
        mirror = complex_size - k
        fpk_re = _scale(work_re[k], 2)
        fpk_im = _scale(work_im[k], 2)
        fpnk_re = _scale(work_re[mirror], 2)
        fpnk_im = _scale(wrap_int16(-work_im[mirror]), 2)
        # |fpk|, |fpnk| <= 16383, so these sums fit int16; the rotation below may not.
        f1k_re[k] = fpk_re + fpnk_re
        f1k_im[k] = fpk_im + fpnk_im
        f2k_re = fpk_re - fpnk_re
        f2k_im = fpk_im - fpnk_im
        w_re = super_twiddles[0, k - 1]
        w_im = super_twiddles[1, k - 1]
        t_re[k] = _sround(f2k_re * w_re - f2k_im * w_im)
        t_im[k] = _sround(f2k_re * w_im + f2k_im * w_re)
    for k in range(1, half):
        spectrum_re[k] = wrap_int16((f1k_re[k] + t_re[k]) >> 1)
        spectrum_im[k] = wrap_int16((f1k_im[k] + t_im[k]) >> 1)
    for k in range(1, half):
        spectrum_re[complex_size - k] = wrap_int16((f1k_re[k] - t_re[k]) >> 1)
        spectrum_im[complex_size - k] = wrap_int16((t_im[k] - f1k_im[k]) >> 1)
    if half >= 1:
        # The middle bin is its own mirror: kissfft's second store wins, as here.
        _split_bin(work_re, work_im, half, super_twiddles, spectrum_re, spectrum_im)


@numba.njit(cache=True, inline="always")
def _split_bin(
    work_re: npt.NDArray[np.int64],
    work_im: npt.NDArray[np.int64],
    k: int,
    super_twiddles: npt.NDArray[np.int64],
    spectrum_re: npt.NDArray[np.int64],
    spectrum_im: npt.NDArray[np.int64],
) -> None:
    """One step of ``kiss_fftr``'s split: bins ``k`` and ``n - k`` of the real spectrum."""
    mirror = work_re.shape[0] - k
    w_re = super_twiddles[0, k - 1]
    w_im = super_twiddles[1, k - 1]
    fpk_re = _scale(work_re[k], 2)
    fpk_im = _scale(work_im[k], 2)
    fpnk_re = _scale(work_re[mirror], 2)
    fpnk_im = _scale(wrap_int16(-work_im[mirror]), 2)
    # |fpk|, |fpnk| <= 16383, so these sums fit int16; the rotation below may not.
    f1k_re = fpk_re + fpnk_re
    f1k_im = fpk_im + fpnk_im
    f2k_re = fpk_re - fpnk_re
    f2k_im = fpk_im - fpnk_im
    t_re = _sround(f2k_re * w_re - f2k_im * w_im)
    t_im = _sround(f2k_re * w_im + f2k_im * w_re)
    spectrum_re[k] = wrap_int16((f1k_re + t_re) >> 1)
    spectrum_im[k] = wrap_int16((f1k_im + t_im) >> 1)
    spectrum_re[mirror] = wrap_int16((f1k_re - t_re) >> 1)
    spectrum_im[mirror] = wrap_int16((t_im - f1k_im) >> 1)


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


# Each butterfly kernel comes from a factory that can freeze its loop length (`fixed`, 0 for
# "use the argument"): with a constant trip count LLVM can prove the four quarter streams of a
# block do not overlap and vectorises the loop; with a runtime one it falls back to scalar code.
# The frozen variants are the loop lengths the default FFT sizes use; others stay correct.


def _make_butterfly2(fixed: int) -> Any:
    @numba.njit(cache=False, inline="always")
    def kernel(
        re: npt.NDArray[np.int64],
        im: npt.NDArray[np.int64],
        i0: int,
        m: int,
        twiddle_index: int,
        twiddles: npt.NDArray[np.int64],
        lanes_runtime: int,
    ) -> None:
        """One radix-2 butterfly of kissfft (``kf_bfly2`` for one k) on every lane."""
        lanes = fixed if fixed > 0 else lanes_runtime
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

    return kernel


def _make_butterfly4(fixed: int) -> Any:
    @numba.njit(cache=False, inline="always")
    def kernel(
        re: npt.NDArray[np.int64],
        im: npt.NDArray[np.int64],
        i0: int,
        m: int,
        twiddle_index: int,
        twiddles: npt.NDArray[np.int64],
        lanes_runtime: int,
    ) -> None:
        """One forward radix-4 butterfly of kissfft (``kf_bfly4`` for one k) on every lane."""
        lanes = fixed if fixed > 0 else lanes_runtime
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

    return kernel


def _make_butterfly2_run(fixed: int) -> Any:
    @numba.njit(cache=False, inline="always")
    def kernel(
        re: npt.NDArray[np.int64],
        im: npt.NDArray[np.int64],
        base: int,
        m_runtime: int,
        late_twiddles: npt.NDArray[np.int64],
        offset: int,
    ) -> None:
        """``kf_bfly2`` over k = 0..m-1 of one block (late stages, contiguous in k)."""
        m = fixed if fixed > 0 else m_runtime
        for k in range(m):
            i0 = base + k
            i1 = i0 + m
            w_re = late_twiddles[offset + k]
            w_im = late_twiddles[offset + m + k]
            a_re = _scale(re[i0], 2)
            a_im = _scale(im[i0], 2)
            b_re = _scale(re[i1], 2)
            b_im = _scale(im[i1], 2)
            t_re = _sround(b_re * w_re - b_im * w_im)
            t_im = _sround(b_re * w_im + b_im * w_re)
            re[i1] = wrap_int16(a_re - t_re)
            im[i1] = wrap_int16(a_im - t_im)
            re[i0] = wrap_int16(a_re + t_re)
            im[i0] = wrap_int16(a_im + t_im)

    return kernel


def _make_butterfly4_run(fixed: int) -> Any:
    @numba.njit(cache=False, inline="always")
    def kernel(
        re: npt.NDArray[np.int64],
        im: npt.NDArray[np.int64],
        base: int,
        m_runtime: int,
        late_twiddles: npt.NDArray[np.int64],
        offset: int,
    ) -> None:
        """``kf_bfly4`` (forward) over k = 0..m-1 of one block (late stages, contiguous in k)."""
        m = fixed if fixed > 0 else m_runtime
        for k in range(m):
            i0 = base + k
            i1 = i0 + m
            i2 = i1 + m
            i3 = i2 + m
            f0_re = _scale(re[i0], 4)
            f0_im = _scale(im[i0], 4)
            f1_re = _scale(re[i1], 4)
            f1_im = _scale(im[i1], 4)
            f2_re = _scale(re[i2], 4)
            f2_im = _scale(im[i2], 4)
            f3_re = _scale(re[i3], 4)
            f3_im = _scale(im[i3], 4)
            w1_re = late_twiddles[offset + k]
            w1_im = late_twiddles[offset + m + k]
            w2_re = late_twiddles[offset + 2 * m + k]
            w2_im = late_twiddles[offset + 3 * m + k]
            w3_re = late_twiddles[offset + 4 * m + k]
            w3_im = late_twiddles[offset + 5 * m + k]
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
            re[i2] = wrap_int16(f0_re - s3_re)
            im[i2] = wrap_int16(f0_im - s3_im)
            re[i0] = wrap_int16(f0_re + s3_re)
            im[i0] = wrap_int16(f0_im + s3_im)
            re[i1] = wrap_int16(s5_re + s4_im)
            im[i1] = wrap_int16(s5_im - s4_re)
            re[i3] = wrap_int16(s5_re - s4_im)
            im[i3] = wrap_int16(s5_im + s4_re)

    return kernel


_butterfly2 = _make_butterfly2(0)
_butterfly4 = _make_butterfly4(0)
_butterfly4_16_lanes = _make_butterfly4(16)
_butterfly2_16_lanes = _make_butterfly2(16)
_butterfly2_run = _make_butterfly2_run(0)
_butterfly4_run = _make_butterfly4_run(0)
_butterfly4_run_16 = _make_butterfly4_run(16)
_butterfly4_run_32 = _make_butterfly4_run(32)
_butterfly4_run_64 = _make_butterfly4_run(64)
_butterfly4_run_128 = _make_butterfly4_run(128)
