"""Each frontend stage against the golden vectors of TFLM's own microfrontend unit tests.

TensorFlow Lite Micro tests every stage of its audio frontend on one tiny setup: 1 kHz audio,
a 25-sample window stepped by 10, a 32-point FFT and a 2-channel filterbank over 8-450 Hz, fed
a full-scale square wave. The vectors below (inputs, settings and the outputs TFLM asserts) are
copied from those tests, in ``tensorflow/lite/experimental/microfrontend/lib/`` of
tensorflow/tensorflow (Apache-2.0, Copyright 2018 The TensorFlow Authors); the comment above
each one names its file. Each test here runs our stage function (the one the pipeline runs)
on the same configuration and input, and asserts TFLM's numbers exactly: equal values prove
the stage is bit-exact with TFLM on that case, well away from our 16 kHz / 512-point defaults.

TFLM's ``*ProcessSamples`` consume samples only up to one full window per call, where ours
frame everything a chunk completes; so where TFLM's test passes the rest of the clip, we pass
the samples TFLM reads from it (25, then 10, then 1).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kws.frontend import Frontend, FrontendConfig, compute_features
from kws.frontend.fft import apply_fft, fft_params
from kws.frontend.filterbank import FilterbankParams, apply_filterbank, filterbank_params
from kws.frontend.log_scale import LOG_CORRECTION_Q16, apply_log_scale, log_scale_params
from kws.frontend.noise_reduction import (
    apply_noise_reduction,
    noise_reduction_params,
    noise_reduction_state,
)
from kws.frontend.pcan import apply_pcan, input_correction_bits, pcan_params
from kws.frontend.pipeline import (
    buffer_views,
    buffers_len,
    frames_completed,
    pack,
    process_chunk_into,
)
from kws.frontend.window import apply_window, window_params

# The settings of frontend_test.cc (each per-stage test sets the part it needs, to the same
# values): 1 kHz, 25 ms window, 10 ms step, 2 channels over 8-450 Hz, noise reduction
# 10 bits / 0.025 / 0.06 / 0.05, PCAN 0.95 / 80 / 21 bits, log scale shift 6.
CONFIG = FrontendConfig(
    sample_rate_hz=1000,
    window_ms=25,
    hop_ms=10,
    num_channels=2,
    lower_band_hz=8.0,
    upper_band_hz=450.0,
    noise_reduction=True,
    smoothing_bits=10,
    even_smoothing=0.025,
    odd_smoothing=0.06,
    min_signal_remaining=0.05,
    pcan=True,
    pcan_strength=0.95,
    pcan_offset=80.0,
    pcan_gain_bits=21,
    log_scale=True,
    log_scale_shift=6,
)
WINDOW = 25
STEP = 10

# window_test.cc, frontend_test.cc: kFakeAudioData, a full-scale square wave at a quarter of
# the sample rate (36 samples).
AUDIO = np.tile(np.array([0, 32767, 0, -32768], dtype=np.int16), 9)

# window_test.cc (WindowState_CheckOutputValues), also fft_test.cc's kFakeWindow.
FIRST_WINDOW = np.array(
    [0, 1151, 0, -5944, 0, 13311, 0, -21448, 0, 28327, 0, -32256, 0, 32255, 0, -28328,
     0, 21447, 0, -13312, 0, 5943, 0, -1152, 0],
    dtype=np.int16,
)  # fmt: skip

# fft_test.cc (FftTest.CheckOutputValues), also filterbank_test.cc's fake_fft: (real, imag).
SPECTRUM = np.array(
    [(0, 0), (-10, 9), (-20, 0), (-9, -10), (0, 25), (-119, 119), (-887, 0), (3000, 3000),
     (0, -6401), (-3000, 3000), (886, 0), (118, 119), (0, 25), (9, -10), (19, 0), (9, 9),
     (0, 0)],
    dtype=np.int64,
)  # fmt: skip

# filterbank_test.cc: kEnergy (bins 0 and 15-16 lie outside the filterbank, TFLM leaves
# them unset) and kWork (the 64-bit channel sums, channel 0 being the band below channel 1).
ENERGY = [-1, 181, 400, 181, 625, 28322, 786769, 18000000, 40972801, 18000000, 784996, 28085,
          625, 181, 361, -1, -1]  # fmt: skip
WORK = [1835887, 61162970173, 258694800000]
START_BIN = 1
END_BIN = 15

# filterbank_test.cc: TFLM's padded weight layout. Channel c's weights occupy `WIDTHS[c]`
# entries from `WEIGHT_STARTS[c]`, the first of them for FFT bin `FREQUENCY_STARTS[c]`;
# entries for bins outside the channel stay zero.
TFLM_FREQUENCY_STARTS = [0, 4, 8]
TFLM_WEIGHT_STARTS = [0, 8, 16]
TFLM_WIDTHS = [8, 8, 8]

# noise_reduction_test.cc / pcan_gain_control_test.cc / log_scale_test.cc: the 2-channel
# signal as it leaves each stage (the filterbank's output is kWork's square roots).
FILTERBANK_OUT = [247311, 508620]
NOISE_ESTIMATE = [6321887, 31248341]
NOISE_REDUCED = [241137, 478104]
PCAN_OUT = [3578, 1533]
LOGGED = [479, 425]


def stream_through_kernel(
    chunks: list[npt.NDArray[np.int16]],
) -> tuple[list[int], npt.NDArray[np.int16], int, npt.NDArray[np.int16]]:
    """Feed ``chunks`` to the pipeline kernel holding its state ourselves.

    Returns the frames each chunk completed, the pending-sample buffer and its fill (the
    window's input still waiting for the next step), and the last windowed frame.
    """
    packed = pack(CONFIG)
    buffers = np.zeros(buffers_len(packed), dtype=np.int64)
    state, pending, frame, _ = buffer_views(buffers, packed)
    counts = []
    for chunk in chunks:
        frames = frames_completed(packed.tables, int(state[0]), len(chunk))
        features = np.zeros((frames, CONFIG.num_channels), dtype=np.uint16)
        counts.append(
            process_chunk_into(
                np.ascontiguousarray(chunk),
                packed.tables,
                buffers,
                None,
                features,
                0,
            )
        )
    return counts, pending, int(state[0]), frame


def filterbank_run() -> tuple[FilterbankParams, dict[str, npt.NDArray[np.int64]]]:
    """Our filterbank on TFLM's fake spectrum with shift 0; its energies, sums and output."""
    params = filterbank_params(CONFIG)
    energy = np.zeros(CONFIG.fft_size // 2 + 1, dtype=np.int64)
    accumulators = np.zeros(CONFIG.num_channels + 2, dtype=np.int64)
    channels = np.zeros(CONFIG.num_channels, dtype=np.int64)
    apply_filterbank(
        SPECTRUM[:, 0].copy(),
        SPECTRUM[:, 1].copy(),
        params.start_bin,
        params.bin_channel,
        params.weights_q12,
        params.unweights_q12,
        0,
        energy,
        accumulators,
        channels,
    )
    n_bins = params.end_bin - params.start_bin
    return params, {
        "energy": energy[:n_bins],
        "sums": accumulators[: CONFIG.num_channels + 1],
        "channels": channels,
    }


def in_tflm_layout(params: FilterbankParams, per_bin: npt.NDArray[np.int64]) -> list[int]:
    """Our one-value-per-bin table placed where TFLM's padded table keeps each bin's value."""
    layout = [0] * (TFLM_WEIGHT_STARTS[-1] + TFLM_WIDTHS[-1])
    for k, channel in enumerate(params.bin_channel.tolist()):
        offset = params.start_bin + k - TFLM_FREQUENCY_STARTS[channel]
        assert 0 <= offset < TFLM_WIDTHS[channel], f"bin {params.start_bin + k} outside channel"
        layout[TFLM_WEIGHT_STARTS[channel] + offset] = int(per_bin[k])
    return layout


# --- window_test.cc ---------------------------------------------------------------------------


def test_window_coefficients_are_tflms() -> None:
    """WindowState_CheckCoefficients: the 25-point Q12 Hann window."""
    expected = [16, 144, 391, 743, 1176, 1664, 2177, 2681, 3145, 3541, 3843, 4032, 4096, 4032,
                3843, 3541, 3145, 2681, 2177, 1664, 1176, 743, 391, 144, 16]  # fmt: skip
    coefficients = window_params(CONFIG).coefficients_q12
    assert coefficients.dtype == np.int16
    np.testing.assert_array_equal(coefficients, expected)


def test_window_keeps_the_samples_after_one_step_for_the_next_window() -> None:
    """WindowState_CheckResidualInput: after one window the input holds samples 10..24."""
    counts, pending, pending_count, _ = stream_through_kernel([AUDIO[:WINDOW]])
    assert counts == [1]
    assert pending_count == WINDOW - STEP
    np.testing.assert_array_equal(pending[:pending_count], AUDIO[STEP:WINDOW])


def test_window_output_of_the_first_frame() -> None:
    """WindowState_CheckOutputValues: the windowed first frame, by the stage and the kernel."""
    windowed = np.zeros(WINDOW, dtype=np.int16)
    apply_window(AUDIO, 0, window_params(CONFIG).coefficients_q12, windowed)
    np.testing.assert_array_equal(windowed, FIRST_WINDOW)
    _, _, _, frame = stream_through_kernel([AUDIO[:WINDOW]])
    np.testing.assert_array_equal(frame, FIRST_WINDOW)


def test_window_reports_the_largest_magnitude() -> None:
    """WindowState_CheckMaxAbsValue: max |windowed sample| of the first frame is 32256."""
    windowed = np.zeros(WINDOW, dtype=np.int16)
    assert apply_window(AUDIO, 0, window_params(CONFIG).coefficients_q12, windowed) == 32256


def test_window_output_of_the_next_frame_joins_kept_and_new_samples() -> None:
    """WindowState_CheckConsecutiveWindow: the second frame (samples 10..34) when its first 15
    samples come from the previous chunk."""
    expected = [0, -1152, 0, 5943, 0, -13312, 0, 21447, 0, -28328, 0, 32255, 0, -32256, 0, 28327,
                0, -21448, 0, 13311, 0, -5944, 0, 1151, 0]  # fmt: skip
    counts, _, _, frame = stream_through_kernel([AUDIO[:WINDOW], AUDIO[WINDOW : WINDOW + STEP]])
    assert counts == [1, 1]
    np.testing.assert_array_equal(frame, expected)


def test_window_waits_when_a_step_is_not_complete() -> None:
    """WindowState_CheckNotEnoughSamples: one more sample makes no frame; 16 samples wait."""
    chunks = [AUDIO[:WINDOW], AUDIO[WINDOW : WINDOW + STEP], AUDIO[WINDOW + STEP :]]
    counts, _, pending_count, _ = stream_through_kernel(chunks)
    assert counts == [1, 1, 0]
    assert pending_count == len(AUDIO) - 2 * STEP


# --- fft_test.cc ------------------------------------------------------------------------------


def test_fft_of_the_windowed_frame() -> None:
    """FftTest.CheckOutputValues: the 32-point fixed-point real FFT, input shift 0."""
    params = fft_params(CONFIG)
    assert params.fft_size == 32
    half = params.fft_size // 2
    spectrum_re = np.zeros(half + 1, dtype=np.int64)
    spectrum_im = np.zeros(half + 1, dtype=np.int64)
    apply_fft(
        FIRST_WINDOW,
        0,
        params.leaf_index,
        params.early_stages,
        params.late_stages,
        params.twiddles,
        params.late_twiddles,
        params.super_twiddles,
        np.zeros(params.fft_size, dtype=np.int64),
        np.zeros(params.leaf_index.shape, dtype=np.int64),
        np.zeros(params.leaf_index.shape, dtype=np.int64),
        np.zeros(half, dtype=np.int64),
        np.zeros(half, dtype=np.int64),
        spectrum_re,
        spectrum_im,
        np.zeros((4, half // 2), dtype=np.int64),
        None,
    )
    np.testing.assert_array_equal(spectrum_re, SPECTRUM[:, 0])
    np.testing.assert_array_equal(spectrum_im, SPECTRUM[:, 1])


# --- filterbank_test.cc -----------------------------------------------------------------------


def test_filterbank_starts_at_bin_1() -> None:
    """FilterbankTest_CheckStartIndex."""
    assert filterbank_params(CONFIG).start_bin == START_BIN


def test_filterbank_ends_before_bin_15() -> None:
    """FilterbankTest_CheckEndIndex."""
    assert filterbank_params(CONFIG).end_bin == END_BIN


def test_filterbank_weights() -> None:
    """FilterbankTest_CheckWeights: the rising slopes (Q12), in TFLM's padded layout."""
    expected = [0, 3277, 2217, 1200, 222, 0, 0, 0,
                0, 3376, 2468, 1591, 744, 0, 0, 0,
                0, 4020, 3226, 2456, 1708, 983, 277, 0]  # fmt: skip
    params = filterbank_params(CONFIG)
    assert in_tflm_layout(params, params.weights_q12) == expected


def test_filterbank_unweights() -> None:
    """FilterbankTest_CheckUnweights: the falling slopes (Q12), in TFLM's padded layout."""
    expected = [0, 819, 1879, 2896, 3874, 0, 0, 0,
                0, 720, 1628, 2505, 3352, 0, 0, 0,
                0, 76, 870, 1640, 2388, 3113, 3819, 0]  # fmt: skip
    params = filterbank_params(CONFIG)
    assert in_tflm_layout(params, params.unweights_q12) == expected


def test_filterbank_energy_of_each_bin() -> None:
    """FilterbankTest_CheckConvertFftComplexToEnergy: |X|^2 of bins 1..14."""
    _, run = filterbank_run()
    np.testing.assert_array_equal(run["energy"], ENERGY[START_BIN:END_BIN])


def test_filterbank_channel_sums() -> None:
    """FilterbankTest_CheckAccumulateChannels: the 64-bit weighted sums of the energies.

    TFLM feeds kEnergy directly; our stage takes the spectrum, so it gets the spectrum whose
    energies are kEnergy in every bin the filterbank reads (checked here as well).
    """
    _, run = filterbank_run()
    np.testing.assert_array_equal(run["energy"], ENERGY[START_BIN:END_BIN])
    np.testing.assert_array_equal(run["sums"], WORK)


def test_filterbank_square_root_of_the_sums() -> None:
    """FilterbankTest_CheckSqrt: rounded square roots of kWork's channels, shift 0."""
    _, run = filterbank_run()
    np.testing.assert_array_equal(run["sums"], WORK)
    np.testing.assert_array_equal(run["channels"], FILTERBANK_OUT)


# --- noise_reduction_test.cc ------------------------------------------------------------------


def run_noise_reduction() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """One frame of TFLM's filterbank output through a fresh noise reduction stage."""
    params = noise_reduction_params(CONFIG)
    estimate = noise_reduction_state(CONFIG.num_channels)
    signal = np.array(FILTERBANK_OUT, dtype=np.int64)
    apply_noise_reduction(
        signal,
        estimate,
        params.smoothing_bits,
        params.even_smoothing_q14,
        params.odd_smoothing_q14,
        params.min_signal_remaining_q14,
    )
    return signal, estimate


def test_noise_reduction_estimate() -> None:
    """NoiseReductionTest.TestNoiseReductionEstimate: the noise estimate after one frame."""
    _, estimate = run_noise_reduction()
    np.testing.assert_array_equal(estimate, NOISE_ESTIMATE)


def test_noise_reduction_output() -> None:
    """NoiseReductionTest.TestNoiseReduction: the signal less its noise estimate."""
    signal, _ = run_noise_reduction()
    np.testing.assert_array_equal(signal, NOISE_REDUCED)


# --- pcan_gain_control_test.cc ----------------------------------------------------------------


def test_pcan_gain_control() -> None:
    """PcanGainControlTest.TestPcanGainControl: smoothing bits 10, correction bits -1."""
    # TFLM passes the correction explicitly; ours follows from the 32-point FFT.
    assert input_correction_bits(CONFIG) == -1
    params = pcan_params(CONFIG)
    signal = np.array(NOISE_REDUCED, dtype=np.int64)
    apply_pcan(signal, np.array(NOISE_ESTIMATE, dtype=np.int64), params.gain_lut, params.snr_shift)
    np.testing.assert_array_equal(signal, PCAN_OUT)


# --- log_scale_test.cc ------------------------------------------------------------------------


def test_log_scale() -> None:
    """LogScaleTest_CheckOutputValues: scale shift 6, correction bits -1."""
    params = log_scale_params(CONFIG)
    assert (params.enabled, params.scale_shift, params.correction_bits) == (True, 6, -1)
    features = np.zeros(2, dtype=np.uint16)
    apply_log_scale(
        np.array(PCAN_OUT, dtype=np.int64),
        params.enabled,
        params.scale_shift,
        params.correction_bits,
        LOG_CORRECTION_Q16,
        features,
    )
    np.testing.assert_array_equal(features, LOGGED)


def test_log_scale_off_saturates_to_uint16() -> None:
    """LogScaleTest_CheckOutputValuesNoLog: values pass through, capped at 65535."""
    params = log_scale_params(FrontendConfig(**{**CONFIG.to_dict(), "log_scale": False}))
    assert (params.enabled, params.scale_shift, params.correction_bits) == (False, 6, -1)
    features = np.zeros(2, dtype=np.uint16)
    apply_log_scale(
        np.array([85964, 45998], dtype=np.int64),
        params.enabled,
        params.scale_shift,
        params.correction_bits,
        LOG_CORRECTION_Q16,
        features,
    )
    np.testing.assert_array_equal(features, [65535, 45998])


# --- frontend_test.cc -------------------------------------------------------------------------


def test_frontend_first_frame() -> None:
    """FrontendTest_CheckOutputValues: the whole pipeline's first frame."""
    features = Frontend(CONFIG).process(AUDIO[:WINDOW])
    np.testing.assert_array_equal(features, [LOGGED])


def test_frontend_consecutive_frame() -> None:
    """FrontendTest_CheckConsecutiveWindow: the second frame, streamed and in one batch."""
    frontend = Frontend(CONFIG)
    frontend.process(AUDIO[:WINDOW])
    np.testing.assert_array_equal(frontend.process(AUDIO[WINDOW : WINDOW + STEP]), [[436, 378]])
    np.testing.assert_array_equal(compute_features(AUDIO, CONFIG), [LOGGED, [436, 378]])


def test_frontend_gives_no_frame_without_a_full_step() -> None:
    """FrontendTest_CheckNotEnoughSamples: a third call with one sample gives no frame."""
    frontend = Frontend(CONFIG)
    frontend.process(AUDIO[:WINDOW])
    frontend.process(AUDIO[WINDOW : WINDOW + STEP])
    features = frontend.process(AUDIO[WINDOW + STEP :])
    assert features.shape == (0, CONFIG.num_channels)
