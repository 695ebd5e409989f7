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
