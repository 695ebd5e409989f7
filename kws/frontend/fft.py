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

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from kws.frontend.config import FrontendConfig
from kws.frontend.fft_kernels import (
    FRAME_LANES,
    _cross_im,
    _cross_re,
    _scale,
    _sround,
    run_frame_lanes_256,
    run_stages,
    run_stages_256,
)
from kws.frontend.fft_plan import FFT_Q_BITS, FFT_SAMPLE_MAX, FftPlan, kiss_factors, plan_fft
from kws.frontend.int32_arith import add32, mul32, shl32, shr32, store_int16, sub32
from kws.frontend.window import WINDOW_Q_BITS

__all__ = [
    "FFT_Q_BITS",
    "FFT_SAMPLE_MAX",
    "FRAME_LANES",
    "FftParams",
    "apply_fft",
    "apply_fft_frame_lanes",
    "fft_params",
    "has_frozen_kernels",
    "kiss_factors",
]

FftParams = FftPlan


def has_frozen_kernels(config: FrontendConfig) -> bool:
    """Whether this config's FFT has the frozen (vectorised) kernels: the 512-point plan."""
    return config.fft_size == 512


def fft_params(config: FrontendConfig) -> FftParams:
    """Tables for kissfft's real FFT of ``config.fft_size`` points (complex size half that)."""
    return plan_fft(config.fft_size)


@numba.njit(cache=True)
def apply_fft(
    windowed: npt.NDArray[np.int16],
    input_shift: int,
    leaf_index: npt.NDArray[np.int64],
    early_stages: npt.NDArray[np.int64],
    late_stages: npt.NDArray[np.int64],
    twiddles: npt.NDArray[np.integer[Any]],
    late_twiddles: npt.NDArray[np.integer[Any]],
    super_twiddles: npt.NDArray[np.integer[Any]],
    padded: npt.NDArray[np.integer[Any]],
    work_t_re: npt.NDArray[np.integer[Any]],
    work_t_im: npt.NDArray[np.integer[Any]],
    work_re: npt.NDArray[np.integer[Any]],
    work_im: npt.NDArray[np.integer[Any]],
    spectrum_re: npt.NDArray[np.integer[Any]],
    spectrum_im: npt.NDArray[np.integer[Any]],
    split_scratch: npt.NDArray[np.integer[Any]],
    frozen_512: bool | None,
) -> None:
    """Real FFT of ``windowed << input_shift`` (zero-padded) into ``spectrum_*[0..fft_size/2]``.

    ``padded`` (fft_size), ``work_t_*`` (leaf_index's shape), ``work_*`` (fft_size / 2) and
    ``split_scratch`` (4, fft_size / 4) are scratch. Every value stored is an int16, held in
    int32 or int64 arrays; twiddles are int16 or int64. All of it computes in int32 (as
    kissfft does; see ``fft_kernels``) whatever the array types, so int32 work arrays with
    int16 twiddles are the fast choice: no conversion on any load or store.
    ``frozen_512``: None runs the stages with runtime lengths (any size); a bool (only for the
    512-point plan) the frozen, vectorised ones. Numba prunes the other branch by the argument's
    type, so each variant compiles only its own code.
    """
    # TFLM's `(int16)((uint16)x << shift)` of the zero-padded frame, gathered straight into
    # the transposed layout: complex sample j of the packed real input is (x[2j], x[2j+1]).
    window_samples = windowed.shape[0]
    for i in range(window_samples):
        padded[i] = store_int16(shl32(windowed[i], input_shift))
    block_size, n_blocks = leaf_index.shape
    for position in range(block_size):
        for block in range(n_blocks):
            source = 2 * leaf_index[position, block]
            work_t_re[position, block] = padded[source]
            work_t_im[position, block] = padded[source + 1]

    complex_size = work_re.shape[0]
    if frozen_512 is not None:
        run_stages_256(work_t_re, work_t_im, work_re, work_im, twiddles, late_twiddles)
    else:
        run_stages(
            work_t_re,
            work_t_im,
            work_re,
            work_im,
            twiddles,
            late_twiddles,
            early_stages,
            late_stages,
        )

    # kiss_fftr: split the packed complex FFT into the real FFT's half spectrum.
    dc_re = _scale(work_re[0], 2)
    dc_im = _scale(work_im[0], 2)
    spectrum_re[0] = store_int16(add32(dc_re, dc_im))
    spectrum_im[0] = 0
    spectrum_re[complex_size] = store_int16(sub32(dc_re, dc_im))
    spectrum_im[complex_size] = 0
    # Three passes instead of kissfft's one so each is a plain vectorisable loop: the mirrored
    # reads, then the stores of bins k, then the stores of bins n - k (values unchanged).
    half = complex_size // 2
    f1k_re = split_scratch[0]
    f1k_im = split_scratch[1]
    t_re = split_scratch[2]
    t_im = split_scratch[3]
    for k in range(1, half):
        mirror = np.uintp(complex_size - k)
        fpk_re = _scale(work_re[k], 2)
        fpk_im = _scale(work_im[k], 2)
        fpnk_re = _scale(work_re[mirror], 2)
        fpnk_im = _scale(store_int16(sub32(0, work_im[mirror])), 2)
        # |fpk|, |fpnk| <= 16383, so these sums fit int16; the rotation below may not.
        f1k_re[k] = add32(fpk_re, fpnk_re)
        f1k_im[k] = add32(fpk_im, fpnk_im)
        f2k_re = sub32(fpk_re, fpnk_re)
        f2k_im = sub32(fpk_im, fpnk_im)
        w_re = super_twiddles[0, k - 1]
        w_im = super_twiddles[1, k - 1]
        t_re[k] = _sround(_cross_re(f2k_re, f2k_im, w_re, w_im))
        t_im[k] = _sround(_cross_im(f2k_re, f2k_im, w_re, w_im))
    for k in range(1, half):
        spectrum_re[k] = store_int16(shr32(add32(f1k_re[k], t_re[k]), 1))
        spectrum_im[k] = store_int16(shr32(add32(f1k_im[k], t_im[k]), 1))
    for k in range(1, half):
        mirror = np.uintp(complex_size - k)
        spectrum_re[mirror] = store_int16(shr32(sub32(f1k_re[k], t_re[k]), 1))
        spectrum_im[mirror] = store_int16(shr32(sub32(t_im[k], f1k_im[k]), 1))
    if half >= 1:
        # The middle bin is its own mirror: kissfft's second store wins, as here.
        _split_bin(work_re, work_im, half, super_twiddles, spectrum_re, spectrum_im)


@numba.njit(cache=True, inline="always")
def _split_bin(
    work_re: npt.NDArray[np.integer[Any]],
    work_im: npt.NDArray[np.integer[Any]],
    k: int,
    super_twiddles: npt.NDArray[np.integer[Any]],
    spectrum_re: npt.NDArray[np.integer[Any]],
    spectrum_im: npt.NDArray[np.integer[Any]],
) -> None:
    """One step of ``kiss_fftr``'s split: bins ``k`` and ``n - k`` of the real spectrum."""
    mirror = work_re.shape[0] - k
    w_re = super_twiddles[0, k - 1]
    w_im = super_twiddles[1, k - 1]
    fpk_re = _scale(work_re[k], 2)
    fpk_im = _scale(work_im[k], 2)
    fpnk_re = _scale(work_re[mirror], 2)
    fpnk_im = _scale(store_int16(sub32(0, work_im[mirror])), 2)
    # |fpk|, |fpnk| <= 16383, so these sums fit int16; the rotation below may not.
    f1k_re = add32(fpk_re, fpnk_re)
    f1k_im = add32(fpk_im, fpnk_im)
    f2k_re = sub32(fpk_re, fpnk_re)
    f2k_im = sub32(fpk_im, fpnk_im)
    t_re = _sround(_cross_re(f2k_re, f2k_im, w_re, w_im))
    t_im = _sround(_cross_im(f2k_re, f2k_im, w_re, w_im))
    spectrum_re[k] = store_int16(shr32(add32(f1k_re, t_re), 1))
    spectrum_im[k] = store_int16(shr32(add32(f1k_im, t_im), 1))
    spectrum_re[mirror] = store_int16(shr32(sub32(f1k_re, t_re), 1))
    spectrum_im[mirror] = store_int16(shr32(sub32(t_im, f1k_im), 1))


@numba.njit(cache=True, inline="always")
def apply_fft_frame_lanes(
    frames: npt.NDArray[np.int16],
    coefficients_q12: npt.NDArray[np.int64],
    input_shifts: npt.NDArray[np.int64],
    permutation: npt.NDArray[np.int64],
    twiddles: npt.NDArray[np.integer[Any]],
    super_twiddles: npt.NDArray[np.integer[Any]],
    work_re: npt.NDArray[np.integer[Any]],
    work_im: npt.NDArray[np.integer[Any]],
    spectrum_re: npt.NDArray[np.integer[Any]],
    spectrum_im: npt.NDArray[np.integer[Any]],
) -> None:
    """The same real FFT as ``apply_fft`` on ``FRAME_LANES`` frames at once (512 points only).

    ``frames`` is ``(FRAME_LANES, window)`` raw samples, one frame per row; the window (Q12
    ``coefficients_q12``), TFLM's input shift and zero padding are applied while loading the
    FFT input, straight into kissfft's permuted order. ``work_*`` are ``(256, FRAME_LANES)``
    scratch; ``spectrum_*`` ``(257, FRAME_LANES)``. Identical arithmetic, different loop order:
    bit-identical to ``apply_window`` + ``apply_fft`` per frame.
    """
    complex_size = permutation.shape[0]
    window_samples = frames.shape[1]
    for j in range(complex_size):
        source = 2 * permutation[j]
        for part in range(2):
            position = source + part
            target = work_re if part == 0 else work_im
            if position < window_samples:
                coefficient = coefficients_q12[position]
                for lane in range(FRAME_LANES):
                    windowed = shr32(mul32(frames[lane, position], coefficient), WINDOW_Q_BITS)
                    target[j, lane] = store_int16(shl32(windowed, input_shifts[lane]))
            else:
                for lane in range(FRAME_LANES):
                    target[j, lane] = 0
    run_frame_lanes_256(work_re, work_im, work_re, work_im, twiddles, twiddles)
    for lane in range(FRAME_LANES):
        dc_re = _scale(work_re[0, lane], 2)
        dc_im = _scale(work_im[0, lane], 2)
        spectrum_re[0, lane] = store_int16(add32(dc_re, dc_im))
        spectrum_im[0, lane] = 0
        spectrum_re[complex_size, lane] = store_int16(sub32(dc_re, dc_im))
        spectrum_im[complex_size, lane] = 0
    for k in range(1, complex_size // 2 + 1):
        mirror = complex_size - k
        w_re = super_twiddles[0, k - 1]
        w_im = super_twiddles[1, k - 1]
        for lane in range(FRAME_LANES):
            fpk_re = _scale(work_re[k, lane], 2)
            fpk_im = _scale(work_im[k, lane], 2)
            fpnk_re = _scale(work_re[mirror, lane], 2)
            fpnk_im = _scale(store_int16(sub32(0, work_im[mirror, lane])), 2)
            f1k_re = add32(fpk_re, fpnk_re)
            f1k_im = add32(fpk_im, fpnk_im)
            f2k_re = sub32(fpk_re, fpnk_re)
            f2k_im = sub32(fpk_im, fpnk_im)
            t_re = _sround(_cross_re(f2k_re, f2k_im, w_re, w_im))
            t_im = _sround(_cross_im(f2k_re, f2k_im, w_re, w_im))
            # For k == n/4 both stores hit the same bin; the mirror's (second) wins, as in kissfft.
            spectrum_re[k, lane] = store_int16(shr32(add32(f1k_re, t_re), 1))
            spectrum_im[k, lane] = store_int16(shr32(add32(f1k_im, t_im), 1))
            spectrum_re[mirror, lane] = store_int16(shr32(sub32(f1k_re, t_re), 1))
            spectrum_im[mirror, lane] = store_int16(shr32(sub32(t_im, f1k_im), 1))
