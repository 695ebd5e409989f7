"""The FFT's plan: kissfft's decomposition and tables, computed once per FFT size.

Pure Python/numpy (no kernels): the radix sequence kissfft's ``kf_factor`` picks, the input
permutation its recursion amounts to, its Q15 twiddles, and our split of the stages into
"early" ones (run on a transposed layout, SIMD across blocks) and "late" ones (SIMD along k).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# kissfft FIXED_POINT=16: twiddles and products are Q15 (FRACBITS = 15, SAMP_MAX = 32767).
FFT_Q_BITS = 15
FFT_SAMPLE_MAX = (1 << FFT_Q_BITS) - 1


@dataclass(frozen=True)
class FftPlan:
    """Constants of the FFT stage (``FftParams`` in ``kws.frontend.fft``).

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


def kiss_factors(n: int) -> list[tuple[int, int]]:
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


@functools.lru_cache(maxsize=8)
def plan_fft(fft_size: int) -> FftPlan:
    """Tables for kissfft's real FFT of ``fft_size`` points (a power of two; complex size half)."""
    complex_size = fft_size // 2
    factors = kiss_factors(complex_size)
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
    return FftPlan(
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
