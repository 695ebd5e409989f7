"""Numba kernels of the fixed-point FFT: kissfft's rounding, butterflies and stage runners.

Every butterfly reproduces kissfft's int16 arithmetic exactly (``C_FIXDIV`` scaling, Q15
``C_MUL`` with round-half-up, int16 stores). For speed the kernels come from factories that
freeze loop lengths and offsets as constants: LLVM then proves that a block's four quarter
streams do not overlap and vectorises the loops; with runtime lengths it falls back to scalar
code. ``make_stage_runner(n)`` chains the frozen stages of an n-point plan into one inlined
function; ``run_stages`` is the same work with runtime lengths, for sizes not frozen.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.fft_plan import FFT_Q_BITS, FFT_SAMPLE_MAX, plan_fft
from kws.frontend.int32_arith import add32, mul32, shr32, store_int16, sub32

_ROUND_HALF = 1 << (FFT_Q_BITS - 1)

# The arithmetic is kissfft's own 32-bit int arithmetic (int16 values, int32 products and sums),
# written with `int32_arith` so LLVM packs eight lanes per 256-bit register instead of four
# int64. It is exact: no int32 intermediate can overflow for any int16 input, so every result
# equals the unbounded-integer one. Bounds (stored values are int16, |twiddle| <= 32767):
# - C_FIXDIV: |x * (32767 // 2)| <= 32768 * 16383 < 2**29, and the result is within +-16383
#   (radix 2, the split) or +-8191 (radix 4).
# - radix-4 C_MUL: |f| <= 8191, so |f_re * w_re - f_im * w_im| < 2**29.
# - radix-2 C_MUL: |f| <= 16383: < 2**30.
# - the split's C_MUL: |f2k| = |fpk - fpnk| <= 32766, so the sum of two products is at most
#   2 * 32766 * 32767 + 2**14 = 2147335828 < 2**31 - 1.
# - every sum of rotated or scaled values below is of two or three numbers within +-2**16.


@numba.njit(cache=True)
def _sround(q15: int) -> int:
    """kissfft ``sround``: a Q15 int32 back to int16 with round-half-up, then the int16 store."""
    return store_int16(shr32(add32(q15, _ROUND_HALF), FFT_Q_BITS))


@numba.njit(cache=True)
def _scale(value: int, divisor: int) -> int:
    """``C_FIXDIV`` for an int16 input: the result always fits int16, so no wrap is needed."""
    return shr32(add32(mul32(value, FFT_SAMPLE_MAX // divisor), _ROUND_HALF), FFT_Q_BITS)


@numba.njit(cache=True)
def _cross_re(a_re: int, a_im: int, w_re: int, w_im: int) -> int:
    """Real part of the complex product ``a * w`` before rounding: Q15, int32."""
    return sub32(mul32(a_re, w_re), mul32(a_im, w_im))


@numba.njit(cache=True)
def _cross_im(a_re: int, a_im: int, w_re: int, w_im: int) -> int:
    """Imaginary part of the complex product ``a * w`` before rounding: Q15, int32."""
    return add32(mul32(a_re, w_im), mul32(a_im, w_re))


@numba.njit(cache=True)
def _rotate_re(a_re: int, a_im: int, w_re: int, w_im: int) -> int:
    """Real part of kissfft ``C_MUL`` for |a| <= 2**13 (fits int16, so no wrap is needed)."""
    return shr32(add32(_cross_re(a_re, a_im, w_re, w_im), _ROUND_HALF), FFT_Q_BITS)


@numba.njit(cache=True)
def _rotate_im(a_re: int, a_im: int, w_re: int, w_im: int) -> int:
    """Imaginary part of kissfft ``C_MUL`` for |a| <= 2**13."""
    return shr32(add32(_cross_im(a_re, a_im, w_re, w_im), _ROUND_HALF), FFT_Q_BITS)


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
            t_re = _sround(_cross_re(b_re, b_im, w_re, w_im))
            t_im = _sround(_cross_im(b_re, b_im, w_re, w_im))
            re[i1, lane] = store_int16(sub32(a_re, t_re))
            im[i1, lane] = store_int16(sub32(a_im, t_im))
            re[i0, lane] = store_int16(add32(a_re, t_re))
            im[i0, lane] = store_int16(add32(a_im, t_im))

    return kernel


def _make_butterfly4(fixed: int, unit_twiddles: bool = False) -> Any:
    # With k = 0 every twiddle is (32767, 0): C_MUL by it returns its input unchanged for
    # |input| <= 8191, which C_FIXDIV(., 4) guarantees, so those butterflies skip the products.
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
            if unit_twiddles:
                s0_re, s0_im, s1_re, s1_im, s2_re, s2_im = f1_re, f1_im, f2_re, f2_im, f3_re, f3_im
            else:
                s0_re = _rotate_re(f1_re, f1_im, w1_re, w1_im)
                s0_im = _rotate_im(f1_re, f1_im, w1_re, w1_im)
                s1_re = _rotate_re(f2_re, f2_im, w2_re, w2_im)
                s1_im = _rotate_im(f2_re, f2_im, w2_re, w2_im)
                s2_re = _rotate_re(f3_re, f3_im, w3_re, w3_im)
                s2_im = _rotate_im(f3_re, f3_im, w3_re, w3_im)
            s5_re = sub32(f0_re, s1_re)
            s5_im = sub32(f0_im, s1_im)
            f0_re = add32(f0_re, s1_re)
            f0_im = add32(f0_im, s1_im)
            s3_re = add32(s0_re, s2_re)
            s3_im = add32(s0_im, s2_im)
            s4_re = sub32(s0_re, s2_re)
            s4_im = sub32(s0_im, s2_im)
            re[i2, lane] = store_int16(sub32(f0_re, s3_re))
            im[i2, lane] = store_int16(sub32(f0_im, s3_im))
            re[i0, lane] = store_int16(add32(f0_re, s3_re))
            im[i0, lane] = store_int16(add32(f0_im, s3_im))
            re[i1, lane] = store_int16(add32(s5_re, s4_im))
            im[i1, lane] = store_int16(sub32(s5_im, s4_re))
            re[i3, lane] = store_int16(sub32(s5_re, s4_im))
            im[i3, lane] = store_int16(add32(s5_im, s4_re))

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
            t_re = _sround(_cross_re(b_re, b_im, w_re, w_im))
            t_im = _sround(_cross_im(b_re, b_im, w_re, w_im))
            re[i1] = store_int16(sub32(a_re, t_re))
            im[i1] = store_int16(sub32(a_im, t_im))
            re[i0] = store_int16(add32(a_re, t_re))
            im[i0] = store_int16(add32(a_im, t_im))

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
            s5_re = sub32(f0_re, s1_re)
            s5_im = sub32(f0_im, s1_im)
            f0_re = add32(f0_re, s1_re)
            f0_im = add32(f0_im, s1_im)
            s3_re = add32(s0_re, s2_re)
            s3_im = add32(s0_im, s2_im)
            s4_re = sub32(s0_re, s2_re)
            s4_im = sub32(s0_im, s2_im)
            re[i2] = store_int16(sub32(f0_re, s3_re))
            im[i2] = store_int16(sub32(f0_im, s3_im))
            re[i0] = store_int16(add32(f0_re, s3_re))
            im[i0] = store_int16(add32(f0_im, s3_im))
            re[i1] = store_int16(add32(s5_re, s4_im))
            im[i1] = store_int16(sub32(s5_im, s4_re))
            re[i3] = store_int16(sub32(s5_re, s4_im))
            im[i3] = store_int16(add32(s5_im, s4_re))

    return kernel


_butterfly2 = _make_butterfly2(0)
_butterfly4 = _make_butterfly4(0)
_butterfly2_run = _make_butterfly2_run(0)
_butterfly4_run = _make_butterfly4_run(0)


@numba.njit(cache=True, inline="always")
def _transpose_back(
    work_t_re: npt.NDArray[np.integer[Any]],
    work_t_im: npt.NDArray[np.integer[Any]],
    work_re: npt.NDArray[np.integer[Any]],
    work_im: npt.NDArray[np.integer[Any]],
) -> None:
    """``[position, block]`` layout back to kissfft's linear order ``block * size + position``."""
    block_size, n_blocks = work_t_re.shape
    for block in range(n_blocks):
        for position in range(block_size):
            work_re[block * block_size + position] = work_t_re[position, block]
            work_im[block * block_size + position] = work_t_im[position, block]


@numba.njit(cache=True, inline="always")
def run_stages(
    work_t_re: npt.NDArray[np.integer[Any]],
    work_t_im: npt.NDArray[np.integer[Any]],
    work_re: npt.NDArray[np.integer[Any]],
    work_im: npt.NDArray[np.integer[Any]],
    twiddles: npt.NDArray[np.integer[Any]],
    late_twiddles: npt.NDArray[np.integer[Any]],
    early_stages: npt.NDArray[np.int64],
    late_stages: npt.NDArray[np.int64],
) -> None:
    """All butterfly stages of any plan, loop lengths read at run time (not vectorised)."""
    block_size, n_blocks = work_t_re.shape
    for stage in range(early_stages.shape[0]):
        radix = early_stages[stage, 0]
        m = early_stages[stage, 1]
        fstride = early_stages[stage, 2]
        for base in range(0, block_size, radix * m):
            for k in range(m):
                if radix == 4:
                    _butterfly4(work_t_re, work_t_im, base + k, m, k * fstride, twiddles, n_blocks)
                else:
                    _butterfly2(work_t_re, work_t_im, base + k, m, k * fstride, twiddles, n_blocks)
    _transpose_back(work_t_re, work_t_im, work_re, work_im)
    complex_size = work_re.shape[0]
    for stage in range(late_stages.shape[0]):
        radix = late_stages[stage, 0]
        m = late_stages[stage, 1]
        offset = late_stages[stage, 3]
        for base in range(0, complex_size, radix * m):
            if radix == 4:
                _butterfly4_run(work_re, work_im, base, m, late_twiddles, offset)
            else:
                _butterfly2_run(work_re, work_im, base, m, late_twiddles, offset)


def _make_early_stage(radix: int, m: int, fstride: int, block_size: int, n_blocks: int) -> Any:
    if radix == 4:
        butterfly = _make_butterfly4(n_blocks, unit_twiddles=m == 1)
    else:
        butterfly = _make_butterfly2(n_blocks)

    @numba.njit(cache=False, inline="always")
    def stage(
        work_t_re: Any, work_t_im: Any, work_re: Any, work_im: Any, twiddles: Any, late: Any
    ) -> None:
        for base in range(0, block_size, radix * m):
            for k in range(m):
                butterfly(work_t_re, work_t_im, base + k, m, k * fstride, twiddles, n_blocks)

    return stage


def _make_late_stage(radix: int, m: int, offset: int, complex_size: int) -> Any:
    run = _make_butterfly4_run(m) if radix == 4 else _make_butterfly2_run(m)
    width = (6 if radix == 4 else 2) * m

    @numba.njit(cache=False, inline="always")
    def stage(
        work_t_re: Any, work_t_im: Any, work_re: Any, work_im: Any, twiddles: Any, late: Any
    ) -> None:
        # A constant-offset slice: with runtime offsets LLVM's alias checks defeat vectorising.
        stage_twiddles = late[offset : offset + width]
        for base in range(0, complex_size, radix * m):
            run(work_re, work_im, base, m, stage_twiddles, 0)

    return stage


@numba.njit(cache=False, inline="always")
def _transpose_stage(
    work_t_re: Any, work_t_im: Any, work_re: Any, work_im: Any, twiddles: Any, late: Any
) -> None:
    _transpose_back(work_t_re, work_t_im, work_re, work_im)


def _chain(first: Any, second: Any) -> Any:
    @numba.njit(cache=False, inline="always")
    def both(
        work_t_re: Any, work_t_im: Any, work_re: Any, work_im: Any, twiddles: Any, late: Any
    ) -> None:
        first(work_t_re, work_t_im, work_re, work_im, twiddles, late)
        second(work_t_re, work_t_im, work_re, work_im, twiddles, late)

    return both


def make_stage_runner(fft_size: int) -> Any:
    """One inlined kernel running every stage of the ``fft_size`` plan with frozen lengths.

    Same signature as ``run_stages`` without the stage tables (they are baked in).
    """
    plan = plan_fft(fft_size)
    n_blocks = fft_size // 2 // plan.block_size
    steps = [
        _make_early_stage(int(radix), int(m), int(fstride), plan.block_size, n_blocks)
        for radix, m, fstride in plan.early_stages
    ]
    steps.append(_transpose_stage)
    steps += [
        _make_late_stage(int(radix), int(m), int(offset), fft_size // 2)
        for radix, m, _, offset in plan.late_stages
    ]
    runner = steps[0]
    for step in steps[1:]:
        runner = _chain(runner, step)
    return runner


# The default configuration's FFT (512 points: windows of 17-32 ms at 16 kHz), frozen.
run_stages_256 = make_stage_runner(512)


# Frames the batch path transforms together, one per SIMD lane: with int64 lanes, 16 frames
# fill four 256-bit or two 512-bit registers per operation.
FRAME_LANES = 16


def make_frame_lane_runner(fft_size: int, lanes: int) -> Any:
    """Every stage of the ``fft_size`` plan on ``lanes`` frames at once, lengths frozen.

    Arrays are ``(position, frame)``: the whole FFT is one "block" and the frames are the lanes,
    so every butterfly is the same operation across a contiguous row.
    """
    plan = plan_fft(fft_size)
    steps = [
        _make_early_stage(int(radix), int(m), int(fstride), fft_size // 2, lanes)
        for radix, m, fstride in plan.stages
    ]
    runner = steps[0]
    for step in steps[1:]:
        runner = _chain(runner, step)
    return runner


run_frame_lanes_256 = make_frame_lane_runner(512, FRAME_LANES)
