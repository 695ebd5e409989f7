"""Streaming == batch, bit for bit, over any chunking; input validation; empty and odd input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kws.errors import AudioError
from kws.frontend import Frontend, FrontendConfig, compute_features
from kws.frontend.signals import bench_pcm

AUDIO = bench_pcm(1.5, seed=2)
BATCH = compute_features(AUDIO)


def _stream(pcm: np.ndarray, sizes: list[int], config: FrontendConfig | None = None) -> np.ndarray:
    frontend = Frontend(config)
    frames = []
    start = 0
    index = 0
    while start < pcm.shape[0]:
        size = sizes[index % len(sizes)]
        frames.append(frontend.process(pcm[start : start + size]))
        start += size
        index += 1
    return np.concatenate(frames) if frames else np.zeros((0, 40), np.uint16)


@pytest.mark.parametrize("chunk_samples", [1, 7, 160, 161, 479, 480, 16000])
def test_fixed_chunk_sizes_match_batch(chunk_samples: int) -> None:
    pcm = AUDIO if chunk_samples > 1 else AUDIO[:4000]
    expected = BATCH if chunk_samples > 1 else compute_features(pcm)
    streamed = _stream(pcm, [chunk_samples])
    assert streamed.dtype == np.uint16
    assert np.array_equal(streamed, expected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=12))
def test_random_chunkings_match_batch(sizes: list[int]) -> None:
    if not any(sizes):
        sizes = sizes + [1]
    assert np.array_equal(_stream(AUDIO, sizes), BATCH)


def test_frame_count_and_pending_samples() -> None:
    frontend = Frontend()
    assert frontend.process(np.zeros(479, np.int16)).shape == (0, 40)
    assert frontend.pending_samples == 479
    assert frontend.process(np.zeros(1, np.int16)).shape == (1, 40)
    assert frontend.pending_samples == 320  # the next window reuses two hops
    assert frontend.process(np.zeros(480, np.int16)).shape == (3, 40)


def test_reset_forgets_state() -> None:
    frontend = Frontend()
    first = frontend.process(AUDIO)
    frontend.reset()
    assert frontend.pending_samples == 0
    assert np.array_equal(frontend.process(AUDIO), first)


def test_other_config_streams_like_its_batch() -> None:
    config = FrontendConfig(window_ms=25, num_channels=32, pcan=False)
    expected = compute_features(AUDIO, config)
    assert expected.shape == ((AUDIO.shape[0] - 400) // 160 + 1, 32)
    assert np.array_equal(_stream(AUDIO, [333], config), expected)


def test_empty_and_odd_length_input() -> None:
    assert compute_features(np.zeros(0, np.int16)).shape == (0, 40)
    odd = AUDIO[:16001]
    assert compute_features(odd).shape == ((16001 - 480) // 160 + 1, 40)
    assert np.array_equal(compute_features(odd), BATCH[: compute_features(odd).shape[0]])


def test_full_scale_square_wave_and_clipping_do_not_overflow() -> None:
    t = np.arange(16000)
    square = np.where((t // 8) % 2 == 0, 32767, -32768).astype(np.int16)  # 1 kHz, full scale
    clipped = np.clip(np.round(3 * 32767 * np.sin(2 * np.pi * 440 * t / 16000)), -32768, 32767)
    for pcm in (square, clipped.astype(np.int16)):
        features = compute_features(pcm)
        assert features.shape == (98, 40)
        assert features.max() < 2000  # ln of 32-bit values * 64 stays near 1400
        assert np.array_equal(_stream(pcm, [160]), features)


def test_read_only_and_strided_input_work() -> None:
    read_only = np.frombuffer(AUDIO.tobytes(), dtype=np.int16)
    assert not read_only.flags.writeable
    assert np.array_equal(compute_features(read_only), BATCH)
    doubled = np.repeat(AUDIO, 2)[::2]
    assert not doubled.flags.c_contiguous
    assert np.array_equal(compute_features(doubled), BATCH)
    # a writeable array one byte off its alignment: copied (the kernel's machine code takes
    # aligned arrays only), the same frames
    unaligned = np.frombuffer(bytearray(AUDIO.nbytes + 1), np.uint8)[1:].view(np.int16)
    unaligned[:] = AUDIO
    assert unaligned.flags.writeable and not unaligned.flags.aligned
    assert np.array_equal(compute_features(unaligned), BATCH)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((100, 2), dtype=np.int16), "mono"),
        (np.zeros(100, dtype=np.float32), "int16"),
        (np.array([0.0, np.nan, 0.1], dtype=np.float64), "NaN"),
        (np.zeros(100, dtype=np.int32), "int16"),
        ([0, 1, 2], "numpy"),
    ],
)
def test_bad_input_raises_audio_error(bad: object, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        compute_features(bad)  # type: ignore[arg-type]
    with pytest.raises(AudioError, match=message):
        Frontend().process(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("chunk_samples", [160, 480, 2000, 16000])
def test_frames_written_into_a_ring_match_batch(chunk_samples: int) -> None:
    # 61 rows: every chunk size wraps around the ring's end; halves of the 16000-sample chunks
    # (50 frames) take the 16-frame batch path
    frontend, ring, rows = Frontend(), np.zeros((61, 40), np.uint16), []
    written = 0
    for start in range(0, AUDIO.shape[0], chunk_samples):
        chunk = AUDIO[start : start + chunk_samples]
        expected_count = frontend.frames_completed(chunk.shape[0])
        count = frontend.process_into(chunk[: chunk_samples // 2], ring, written % 61)
        written += count
        rows += [ring[(written - count + i) % 61].copy() for i in range(count)]
        count += (later := frontend.process_into(chunk[chunk_samples // 2 :], ring, written % 61))
        written += later
        rows += [ring[(written - later + i) % 61].copy() for i in range(later)]
        assert count == expected_count
    assert np.array_equal(np.array(rows), BATCH)


@pytest.mark.parametrize("in_place", [False, True])
def test_a_mixed_call_frames_the_sum_and_leaves_it(in_place: bool) -> None:
    # the cascade's noise floor: audio plus a looped table, saturating, in one kernel call
    table = np.random.default_rng(3).integers(-40000, 40000, 997).astype(np.int32)
    loud = np.clip(AUDIO.astype(np.int64) * 40, -32768, 32767).astype(np.int16)  # saturates
    positions = (np.arange(loud.size) + 500) % table.size
    expected_sum = np.clip(loud + table[positions].astype(np.int64), -32768, 32767)
    frontend, ring, rows = Frontend(), np.zeros((40, 40), np.uint16), []
    scratch = np.zeros(480, np.int16)
    for start in range(0, loud.size, 480):
        chunk = loud[start : start + 480].copy()
        into = chunk if in_place else scratch
        count = frontend.process_mixed_into_unchecked(
            chunk, table, (500 + start) % table.size, into, ring, 0
        )
        assert np.array_equal(into[: chunk.size], expected_sum[start : start + 480])
        rows += [ring[i].copy() for i in range(count)]
    assert np.array_equal(np.array(rows), compute_features(expected_sum.astype(np.int16)))
    before = frontend.pending_samples
    short = np.zeros(100, np.int16)
    assert frontend.process_mixed_into_unchecked(loud[:480], table, 0, short, ring, 0) == -1
    assert frontend.pending_samples == before and not short.any()


def test_a_ring_too_small_for_the_chunk_is_refused() -> None:
    with pytest.raises(ValueError, match="a row per frame"):
        Frontend().process_into(AUDIO[:16000], np.zeros((10, 40), np.uint16), 0)


@pytest.mark.parametrize(
    "ring",
    [
        np.zeros((10, 39), np.uint16),  # wrong channel count
        np.zeros((10, 40), np.int16),  # wrong dtype
        np.zeros((10, 40, 1), np.uint16),  # wrong rank
        np.zeros((40, 10), np.uint16).T,  # not C-contiguous
        np.frombuffer(bytearray(801), np.uint8)[1:].view(np.uint16).reshape(10, 40),  # unaligned
    ],
)
def test_a_wrong_ring_is_refused_and_consumes_nothing(ring: np.ndarray) -> None:
    frontend = Frontend()
    frontend.process(AUDIO[:800])
    before = frontend.pending_samples
    with pytest.raises(ValueError, match="a row per frame"):
        frontend.process_into(AUDIO[800:1280], ring, 0)
    assert frontend.pending_samples == before


def test_a_read_only_ring_is_refused() -> None:
    ring = np.zeros((10, 40), np.uint16)
    ring.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        Frontend().process_into(AUDIO[:1280], ring, 0)
