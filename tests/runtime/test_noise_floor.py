"""The noise floor under the audio (``kws.noise_floor``, ``--noise-floor``): its level and
spectrum, the same output in any chunking, and the cascade hearing exactly audio + floor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kws.audio import read_audio
from kws.defaults import resolve_bundle
from kws.errors import ThresholdError
from kws.loading import load_cascade
from kws.noise_floor import (
    DEFAULT_DBFS,
    PERIOD_SAMPLES,
    NoiseFloor,
    add_floor,
    parse_floor,
    pink_period,
)

REPLAY = Path(__file__).parents[1] / "fixtures" / "replay"


def test_the_floor_is_at_its_level_and_pink() -> None:
    floor = NoiseFloor(-60.0).add(np.zeros(PERIOD_SAMPLES, np.int16)).astype(np.float64)
    rms_dbfs = 20 * np.log10(np.sqrt(np.mean(floor**2)) / 32768)
    assert abs(rms_dbfs - -60.0) < 0.1
    power = np.abs(np.fft.rfft(pink_period())) ** 2
    hz = np.fft.rfftfreq(PERIOD_SAMPLES, 1 / 16000)
    octaves = [power[(hz >= low) & (hz < 2 * low)].sum() for low in (125, 500, 2000)]
    assert max(octaves) / min(octaves) < 1.3  # pink: the same power in every octave


def test_any_chunking_gives_the_same_audio_and_reset_starts_over() -> None:
    pcm = np.random.default_rng(1).integers(-3000, 3000, 3 * PERIOD_SAMPLES // 2, np.int16)
    floor = NoiseFloor(-50.0)
    whole = floor.add(pcm)
    floor.reset()
    pieces, taken = [], 0
    for size in (160, 480, 7, PERIOD_SAMPLES, 1, pcm.size):
        pieces.append(floor.add(pcm[taken : taken + size]))
        taken += pieces[-1].size
    assert np.array_equal(np.concatenate(pieces), whole)
    assert not np.array_equal(whole, pcm)
    assert np.array_equal(NoiseFloor(-50.0).add(pcm[:1000]), whole[:1000])


def test_the_floor_is_the_rounded_period_added_sample_by_sample_and_saturated() -> None:
    rng = np.random.default_rng(2)
    pcm = rng.integers(-32768, 32768, 2 * PERIOD_SAMPLES + 999, np.int16)
    floor = NoiseFloor(-20.0)
    table = np.rint(pink_period() * 32768.0 * 10.0 ** (-20.0 / 20.0)).astype(np.int64)
    floor.add(pcm[: PERIOD_SAMPLES - 100])  # the next call starts 100 samples before the wrap
    start = PERIOD_SAMPLES - 100
    looped = table[(start + np.arange(pcm.size)) % PERIOD_SAMPLES]
    expected = np.clip(pcm.astype(np.int64) + looped, -32768, 32767).astype(np.int16)
    assert np.array_equal(floor.add(pcm), expected)


def test_loud_audio_is_clipped_not_wrapped() -> None:
    loud = np.full(1000, 32767, np.int16)
    assert NoiseFloor(-20.0).add(loud).min() > 0
    assert NoiseFloor(-20.0).add(-loud - 1).max() < 0


@pytest.mark.parametrize("level", [0.0, -10.0, -121.0, float("nan"), True, "-60"])
def test_a_floor_out_of_range_is_refused(level: object) -> None:
    with pytest.raises(ThresholdError, match="noise floor"):
        NoiseFloor(level)  # type: ignore[arg-type]


def test_the_cascade_hears_the_audio_with_the_floor_in_any_chunking() -> None:
    pcm = read_audio(REPLAY / "hey_jarvis_in_a_sentence.flac")[0]
    bundle = resolve_bundle("hey_jarvis")
    floored = load_cascade(bundle, noise_floor_dbfs=-60.0)
    results = []
    for chunk in (pcm.size, 480, 160):
        floored.reset()
        found = [d for s in range(0, pcm.size, chunk) for d in floored.process(pcm[s : s + chunk])]
        results.append(([d.to_dict() for d in found], floored.counters.as_dict()))
    assert results[0] == results[1] == results[2]
    by_hand = load_cascade(bundle, noise_floor_dbfs=None)
    found = by_hand.process(NoiseFloor(-60.0).add(pcm))
    assert ([d.to_dict() for d in found], by_hand.counters.as_dict()) == results[0]
    assert results[0][0], "the keyword is still found over a -60 dBFS floor"


def test_a_bundle_brings_its_floor_unless_the_caller_says_otherwise() -> None:
    bundle = resolve_bundle("hey_jarvis")
    own = load_cascade(bundle)
    assert own.bundle is not None and own.bundle.noise_floor_dbfs == DEFAULT_DBFS
    assert own.noise_floor is not None and own.noise_floor.dbfs == DEFAULT_DBFS
    assert load_cascade(bundle, noise_floor_dbfs=None).noise_floor is None
    other = load_cascade(bundle, noise_floor_dbfs=-70.0).noise_floor
    assert other is not None and other.dbfs == -70.0
    with pytest.raises(ThresholdError, match="noise floor"):
        load_cascade(bundle, noise_floor_dbfs="loud")  # type: ignore[arg-type]


def test_add_floor_is_the_cascade_s_floor_from_the_start() -> None:
    pcm = np.zeros(5000, np.int16)
    assert add_floor(pcm, None) is pcm
    assert np.array_equal(add_floor(pcm, -60.0), NoiseFloor(-60.0).add(pcm))


@pytest.mark.parametrize(("text", "level"), [("off", None), ("OFF", None), ("-60", -60.0)])
def test_a_command_line_names_a_level_or_off(text: str, level: float | None) -> None:
    assert parse_floor(text) == level


@pytest.mark.parametrize("text", ["", "quiet", "-10", "nan"])
def test_a_command_line_level_out_of_range_is_refused(text: str) -> None:
    with pytest.raises(ThresholdError, match="noise floor .*'off'"):
        parse_floor(text)
