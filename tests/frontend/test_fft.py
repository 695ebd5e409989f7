"""FFT stage: kissfft's decomposition, and the int16 fixed-point spectrum against numpy's."""

from __future__ import annotations

import numpy as np
import pytest

from kws.frontend import FrontendConfig
from kws.frontend.fft import apply_fft, fft_params, kiss_factors


def _spectrum(
    windowed: np.ndarray, input_shift: int, config: FrontendConfig, frozen: bool | None = None
) -> np.ndarray:
    params = fft_params(config)
    n = params.fft_size
    half = n // 2
    zeros = np.zeros
    spectrum_re = zeros(half + 1, dtype=np.int64)
    spectrum_im = zeros(half + 1, dtype=np.int64)
    apply_fft(
        windowed,
        input_shift,
        params.leaf_index,
        params.early_stages,
        params.late_stages,
        params.twiddles,
        params.late_twiddles,
        params.super_twiddles,
        zeros(n, dtype=np.int64),
        zeros(params.leaf_index.shape, dtype=np.int64),
        zeros(params.leaf_index.shape, dtype=np.int64),
        zeros(half, dtype=np.int64),
        zeros(half, dtype=np.int64),
        spectrum_re,
        spectrum_im,
        zeros((4, half // 2), dtype=np.int64),
        frozen,
    )
    return spectrum_re + 1j * spectrum_im


@pytest.mark.parametrize(
    ("n", "factors"),
    [(256, [(4, 64), (4, 16), (4, 4), (4, 1)]), (512, [(4, 128), (4, 32), (4, 8), (4, 2), (2, 1)])],
)
def test_kiss_factorisation(n: int, factors: list[tuple[int, int]]) -> None:
    assert kiss_factors(n) == factors


@pytest.mark.parametrize("window_ms", [30, 25, 64])
def test_tables_are_consistent(window_ms: int) -> None:
    params = fft_params(FrontendConfig(window_ms=window_ms))
    half = params.fft_size // 2
    assert sorted(params.permutation.tolist()) == list(range(half))
    assert sorted(params.leaf_index.ravel().tolist()) == list(range(half))
    assert len(params.early_stages) + len(params.late_stages) == len(params.stages)
    assert np.abs(params.twiddles).max() <= 32767


@pytest.mark.parametrize("window_ms", [30, 64])
def test_matches_float_fft_scaled_by_size(window_ms: int) -> None:
    config = FrontendConfig(window_ms=window_ms)
    rng = np.random.default_rng(3)
    windowed = np.clip(rng.standard_normal(config.window_samples) * 1500, -8000, 8000).astype(
        np.int16
    )
    shift = 2
    ours = _spectrum(windowed, shift, config)
    if config.fft_size == 512:
        # The frozen, vectorised kernels give the same values as the generic ones.
        assert np.array_equal(_spectrum(windowed, shift, config, True), ours)
    padded = np.zeros(config.fft_size)
    padded[: windowed.shape[0]] = windowed.astype(np.float64) * (1 << shift)
    expected = np.fft.rfft(padded) / config.fft_size
    # Rounding at each of the log4(n) stages costs a few int16 units at most.
    assert np.max(np.abs(ours - expected)) < 4.0
    assert np.abs(expected).max() > 50  # the comparison is not trivially between zeros


def test_pure_tone_lands_in_its_bin() -> None:
    config = FrontendConfig()
    n = config.fft_size
    bin_index = 40  # 1250 Hz
    t = np.arange(config.window_samples)
    windowed = np.round(8000 * np.cos(2 * np.pi * bin_index * t / n)).astype(np.int16)
    magnitude = np.abs(_spectrum(windowed, 2, config))
    assert int(np.argmax(magnitude)) == bin_index


def test_zero_input_gives_zero_spectrum() -> None:
    config = FrontendConfig()
    assert not np.any(_spectrum(np.zeros(config.window_samples, np.int16), 15, config))


def test_frame_lanes_fft_equals_single_frame_fft() -> None:
    """The batch path's 16-frame FFT (window and shift fused into its load) == window + FFT."""
    from kws.frontend.fft import FRAME_LANES, apply_fft_frame_lanes
    from kws.frontend.window import apply_window, window_params

    config = FrontendConfig()
    params = fft_params(config)
    coefficients = window_params(config).coefficients_q12.astype(np.int64)
    rng = np.random.default_rng(9)
    n = config.fft_size
    size = config.window_samples
    frames = rng.integers(-32768, 32768, (FRAME_LANES, size)).astype(np.int16)
    # Frames at the int16 extremes (where kissfft's int16 wraps matter) and a quiet one.
    frames[0] = 32767
    frames[1] = -32768
    frames[2] = np.where(np.arange(size) % 2 == 0, 32767, -32768)
    frames[3] = rng.integers(-3, 4, size)
    shifts = np.zeros(FRAME_LANES, dtype=np.int64)
    windowed = np.zeros((FRAME_LANES, size), dtype=np.int16)
    for lane in range(FRAME_LANES):
        peak = apply_window(frames[lane], 0, coefficients, windowed[lane])
        shifts[lane] = 15 - int(peak).bit_length()
    spectrum_re = np.zeros((n // 2 + 1, FRAME_LANES), dtype=np.int64)
    spectrum_im = np.zeros_like(spectrum_re)
    apply_fft_frame_lanes(
        frames,
        coefficients,
        shifts,
        params.permutation,
        params.twiddles,
        params.super_twiddles,
        np.zeros((n // 2, FRAME_LANES), dtype=np.int64),
        np.zeros((n // 2, FRAME_LANES), dtype=np.int64),
        spectrum_re,
        spectrum_im,
    )
    for lane in range(FRAME_LANES):
        single = _spectrum(windowed[lane], int(shifts[lane]), config)
        assert np.array_equal(single.real, spectrum_re[:, lane])
        assert np.array_equal(single.imag, spectrum_im[:, lane])


# A direct transliteration of kissfft (FIXED_POINT=16: kf_work, kf_bfly2, kf_bfly4, kiss_fftr),
# on Python integers, checking that every 32-bit intermediate the C code forms stays within
# int32: the kernels compute in int32 and are exact only if none overflows.
def _int32(value: int) -> int:
    assert -(1 << 31) <= value < (1 << 31), f"int32 overflow: {value}"
    return value


def _int16(value: int) -> int:
    return (value + 32768) % 65536 - 32768


def _sround(q15: int) -> int:
    return _int16(_int32(q15 + (1 << 14)) >> 15)


def _fixdiv(value: int, divisor: int) -> int:
    return _sround(_int32(value * (32767 // divisor)))


def _cmul(a: list[int], w: list[int]) -> list[int]:
    re = _int32(_int32(a[0] * w[0]) - _int32(a[1] * w[1]))
    im = _int32(_int32(a[0] * w[1]) + _int32(a[1] * w[0]))
    return [_sround(re), _sround(im)]


def _kf_work(
    out: list[list[int]],
    out_at: int,
    data: list[list[int]],
    in_at: int,
    fstride: int,
    factors: list[tuple[int, int]],
    twiddles: list[list[int]],
) -> None:
    radix, m = factors[0]
    for j in range(radix):
        if m == 1:
            out[out_at + j] = list(data[in_at + j * fstride])
        else:
            _kf_work(
                out,
                out_at + j * m,
                data,
                in_at + j * fstride,
                fstride * radix,
                factors[1:],
                twiddles,
            )
    for k in range(m):
        f = [out[out_at + k + q * m] for q in range(radix)]
        for value in f:
            value[:] = [_fixdiv(value[0], radix), _fixdiv(value[1], radix)]
        if radix == 2:
            t = _cmul(f[1], twiddles[k * fstride])
            f[1][:] = [_int16(f[0][0] - t[0]), _int16(f[0][1] - t[1])]
            f[0][:] = [_int16(f[0][0] + t[0]), _int16(f[0][1] + t[1])]
            continue
        s0 = _cmul(f[1], twiddles[k * fstride])
        s1 = _cmul(f[2], twiddles[2 * k * fstride])
        s2 = _cmul(f[3], twiddles[3 * k * fstride])
        s5 = [_int16(f[0][i] - s1[i]) for i in range(2)]
        f[0][:] = [_int16(f[0][i] + s1[i]) for i in range(2)]
        s3 = [_int16(s0[i] + s2[i]) for i in range(2)]
        s4 = [_int16(s0[i] - s2[i]) for i in range(2)]
        f[2][:] = [_int16(f[0][i] - s3[i]) for i in range(2)]
        f[0][:] = [_int16(f[0][i] + s3[i]) for i in range(2)]
        f[1][:] = [_int16(s5[0] + s4[1]), _int16(s5[1] - s4[0])]
        f[3][:] = [_int16(s5[0] - s4[1]), _int16(s5[1] + s4[0])]


def _kiss_fftr(windowed: np.ndarray, input_shift: int, config: FrontendConfig) -> np.ndarray:
    params = fft_params(config)
    n = params.fft_size
    half = n // 2
    padded = [0] * n
    for i, sample in enumerate(windowed.tolist()):
        padded[i] = _int16((sample & 0xFFFF) << input_shift)
    data = [[padded[2 * j], padded[2 * j + 1]] for j in range(half)]
    packed = [[0, 0] for _ in range(half)]
    twiddles = params.twiddles.tolist()
    _kf_work(packed, 0, data, 0, 1, kiss_factors(half), twiddles)
    out = [[0, 0] for _ in range(half + 1)]
    dc = [_fixdiv(packed[0][0], 2), _fixdiv(packed[0][1], 2)]
    out[0] = [_int16(dc[0] + dc[1]), 0]
    out[half] = [_int16(dc[0] - dc[1]), 0]
    for k in range(1, half // 2 + 1):
        fpk = [_fixdiv(packed[k][0], 2), _fixdiv(packed[k][1], 2)]
        mirror = packed[half - k]
        fpnk = [_fixdiv(mirror[0], 2), _fixdiv(_int16(-mirror[1]), 2)]
        f1k = [_int16(fpk[i] + fpnk[i]) for i in range(2)]
        f2k = [_int16(fpk[i] - fpnk[i]) for i in range(2)]
        tw = _cmul(
            f2k, [int(params.super_twiddles[0, k - 1]), int(params.super_twiddles[1, k - 1])]
        )
        out[k] = [_int16((f1k[0] + tw[0]) >> 1), _int16((f1k[1] + tw[1]) >> 1)]
        out[half - k] = [_int16((f1k[0] - tw[0]) >> 1), _int16((tw[1] - f1k[1]) >> 1)]
    values = np.array(out, dtype=np.int64)
    return values[:, 0] + 1j * values[:, 1]


@pytest.mark.parametrize("window_ms", [30, 64])
def test_int16_extremes_match_kissfft_exactly(window_ms: int) -> None:
    """Full-scale and -32768 inputs (no int32 intermediate overflows; every int16 store
    wraps where kissfft's does), on both the radix-4 (512) and the radix-2 (1024) plan."""
    config = FrontendConfig(window_ms=window_ms)
    size = config.window_samples
    rng = np.random.default_rng(11)
    alternating = np.where(np.arange(size) % 2 == 0, 32767, -32768)
    frames = [
        (np.full(size, -32768), 0),
        (np.full(size, 32767), 0),
        (alternating, 0),
        (np.where(np.arange(size) % 4 < 2, -32768, 32767), 0),
        (rng.integers(-32768, 32768, size), 0),
        (rng.choice([-32768, 32767], size), 0),
        (rng.integers(-3, 4, size), 13),
        (np.eye(1, size, 0)[0] * -32768, 0),
    ]
    # A packed complex tone of magnitude 2**15.5 at 45 degrees to the axes: its bin's sums
    # exceed int16, so the butterflies' final int16 stores wrap (as kissfft's do).
    half = config.fft_size // 2
    for tone_bin in (half // 8, half // 16):
        tone = 46341 * np.exp(2j * np.pi * tone_bin * np.arange(half) / half)
        packed = np.stack([tone.real, tone.imag], axis=1).ravel()[:size]
        frames.append((np.clip(np.round(packed), -32768, 32767), 0))
    for samples, shift in frames:
        windowed = samples.astype(np.int16)
        expected = _kiss_fftr(windowed, shift, config)
        assert np.array_equal(_spectrum(windowed, shift, config), expected)
        if config.fft_size == 512:
            assert np.array_equal(_spectrum(windowed, shift, config, True), expected)
