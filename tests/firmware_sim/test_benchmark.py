"""The streaming wake-word benchmark: MLPerf's layout and count, held-out voices, the same audio
for a seed in every process, and `kws battery --benchmark sww` end to end on a short build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from firmware_sim import benchmark
from firmware_sim.benchmark import (
    FA_MASK_S,
    FOUND_WITHIN_S,
    KEYWORDS_END_SHARE,
    MIN_INTERVAL_S,
    keyword_starts,
    score,
)
from kws import music
from kws_cli.main import main

HASH_CODE = (
    "import sys\n"
    "from firmware_sim.benchmark import build\n"
    "print(build('hey jarvis', int(sys.argv[1]), length_s=60.0, keywords=4).sha256)\n"
)


def test_same_seed_same_audio_in_every_process() -> None:
    def start(seed: int) -> subprocess.Popen[str]:
        command = [sys.executable, "-c", HASH_CODE, str(seed)]
        return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)

    runs = [start(seed) for seed in (3, 3, 4)]
    hashes = [run.communicate(timeout=120)[0].strip() for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert len(hashes[0]) == 64
    assert hashes[0] == hashes[1]  # same seed, two processes
    assert hashes[2] != hashes[0]  # another seed, other audio


def test_keyword_times_follow_mlperf_spacing() -> None:
    starts = keyword_starts(np.random.default_rng(0), 50, 1200.0)
    assert len(starts) == 50
    assert starts[-1] == pytest.approx(KEYWORDS_END_SHARE * 1200.0)  # 570 s, as MLPerf's
    gaps = np.diff([0.0, *starts])
    # intervals under 3 s are dropped, then the whole stretched to 570 s (by more than 1 here)
    assert gaps.min() > MIN_INTERVAL_S


def test_a_short_build_scales_the_segments_and_places_the_keywords() -> None:
    audio = benchmark.build("hey jarvis", seed=1, length_s=120.0, keywords=6)
    assert audio.pcm.dtype == np.int16 and audio.pcm.size == 120 * 16_000
    assert [name for name, _, _ in audio.segments] == ["quiet", "babble", "music", "speech"]
    assert audio.segments[-1] == ("speech", 60.0, 120.0)  # 600-1200 s scaled by 1/10
    assert len(audio.windows) == 6
    assert audio.windows[-1][0] == pytest.approx(KEYWORDS_END_SHARE * 120.0)
    for (start, stop), segment in zip(audio.windows, audio.keyword_segments, strict=True):
        assert 0.3 < stop - start < 2.0  # a trimmed "hey jarvis"
        assert segment != "speech"  # the second half holds no keyword: false accepts only
    held = set(benchmark.held_out_voices())
    assert audio.voices and set(audio.voices) <= held
    assert int(np.max(np.abs(audio.pcm.astype(np.int32)))) >= 32766  # peak at full scale


def test_held_out_voices_are_the_training_test_split() -> None:
    from kws import synth
    from training.data.dataset import split_voices

    expected = [
        voice
        for voice in split_voices(seed=0)["test"]
        if voice.split("+")[1] not in synth.UNSEEDED_VARIANTS
    ]
    assert benchmark.held_out_voices() == expected
    assert not set(benchmark.background_voices()) & set(split_voices(seed=0)["test"])


def test_count_as_mlperf() -> None:
    windows = [(10.0, 11.0), (20.0, 21.0)]
    # found: in the window or up to 0.5 s after it; 0.6 s after is a miss but not a false
    # accept (up to 1.0 s after is masked); 1.2 s after is a false accept
    sww = score(windows, [11.0 + FOUND_WITHIN_S - 0.01, 21.0 + FOUND_WITHIN_S + 0.1])
    assert sww.found == [True, False] and sww.false_accept_s == []
    sww = score(windows, [21.0 + FA_MASK_S + 0.2])
    assert sww.false_accept_s == [pytest.approx(22.2)]
    # false accepts under 1 s apart count once, more than 1 s apart twice
    assert len(score(windows, [30.0, 30.5, 30.9]).false_accept_s) == 1
    assert len(score(windows, [30.0, 31.1]).false_accept_s) == 2


def test_pass_bar_is_eight_misses_and_eight_false_accepts() -> None:
    windows = [(10.0 * i, 10.0 * i + 1) for i in range(1, 51)]
    hits = [10.0 * i + 1 for i in range(1, 43)]  # 42 of 50 found: 8 misses
    fas = [600.0 + 2 * i for i in range(8)]
    assert score(windows, hits + fas).passes
    assert not score(windows, hits[1:] + fas).passes  # 9 misses
    assert not score(windows, hits + fas + [700.0]).passes  # 9 false accepts


def test_music_is_seeded_at_unit_rms() -> None:
    for piece in (music.chamber, music.band):
        first = piece(4.0, np.random.default_rng(5))
        again = piece(4.0, np.random.default_rng(5))
        other = piece(4.0, np.random.default_rng(6))
        assert first.size == 64_000 and np.array_equal(first, again)
        assert not np.array_equal(first, other)
        assert float(np.sqrt(np.mean(first.astype(np.float64) ** 2))) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--minutes", "5"], "--minutes is not available with --benchmark"),
        (["--scenario", "tv"], "--scenario is not available with --benchmark"),
        (["--sweep"], "--sweep is not available with --benchmark"),
        (["--gate-hangover-ms", "100"], "--gate-hangover-ms sets the stage-0 gate"),
    ],
)
def test_flags_the_benchmark_cannot_honour_are_one_line(
    extra: list[str],
    message: str,
    random_bundle: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the audio was built")

    monkeypatch.setattr(benchmark, "build", refuse)
    code = main(["battery", "--benchmark", "sww", "--model", str(random_bundle), *extra])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert len(captured.err.splitlines()) == 1 and message in captured.err


def test_benchmark_json_on_a_short_build(
    random_bundle: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_build = benchmark.build

    def short(keyword: str, seed: int = 0) -> benchmark.SwwAudio:
        return real_build(keyword, seed, length_s=60.0, keywords=3)

    monkeypatch.setattr(benchmark, "build", short)
    code = main(["battery", "--benchmark", "sww", "--model", str(random_bundle), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads(out)
    assert report["benchmark"] == "sww" and report["audio_s"] == 60.0
    assert report["full_length"] is False and report["keywords"]["spoken"] == 3
    found, missed = report["keywords"]["found"], report["keywords"]["missed"]
    assert found + missed == 3 and len(report["keywords"]["missed_at_s"]) == missed
    assert report["passes"] == (missed <= 8 and report["false_accepts"] <= 8)
    power = report["power_mw"]
    assert power["with_microphone"] == pytest.approx(
        power["without_microphone"] + power["microphone"], abs=1e-4
    )
    volts = power["voltage_v"]
    assert power["with_microphone"] == pytest.approx(report["avg_current_ma"] * volts, rel=1e-3)
    assert report["meets_kws_power_goal"] == (power["without_microphone"] <= 1.0)
    rows = {row["system"]: row for row in report["mlperf_v1_3"]["rows"]}
    assert rows["Syntiant NDP120"]["power_mw"] == 0.507 and rows["STM32U385"]["found"] == 44
    assert "MLPerf Tiny v1.3" in report["mlperf_v1_3"]["source"]
    # energy per inference by hand: cycles / clock x run current x volts
    from firmware_sim.profile import load_profile

    mcu = load_profile("smartwatch_300mah").mcu
    frontend_uj = mcu.frontend_cycles_per_hop / (mcu.clock_mhz * 1e6) * mcu.run_current_ma
    frontend_uj *= volts * 1000
    assert report["energy_per_inference_uj"]["frontend_per_hop"] == pytest.approx(
        frontend_uj, abs=1e-4
    )
