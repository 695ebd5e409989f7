"""The simulator on scripted models: deadlines, response times, duty cycle, JSON contract."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from firmware_sim.profile import load_profile
from firmware_sim.simulator import MAX_SERIES_POINTS, full_always_on, simulate
from kws.cascade import Cascade
from kws.manifest import Bundle
from kws.thresholds import Thresholds

RANDOM_MANIFEST = Path(__file__).parents[1] / "fixtures" / "random_bundle" / "manifest.json"


class Scripted:
    def __init__(self, stride: int, window: int, score) -> None:  # type: ignore[no-untyped-def]
        self.stride_frames, self.window_frames, self.score = stride, window, score
        self.calls = 0

    def step(self, frames: np.ndarray) -> float:
        self.calls += 1
        return float(self.score(self.calls))

    def reset(self) -> None:
        self.calls = 0


def cascade_with(full_macs: int, tiny_fires_every: int) -> Cascade:
    thresholds = Thresholds(
        wake=0.5, detect=0.5, smoothing_frames=1, wake_window_s=0.3, preroll_s=1.0, refractory_s=1.0
    )
    tiny = Scripted(3, 3, lambda n: 1.0 if n % tiny_fires_every == 0 else 0.0)
    full = Scripted(3, 100, lambda n: 1.0)
    base = Bundle.from_dict(json.loads(RANDOM_MANIFEST.read_text()))
    figures = {"tiny": (5000, 15000, 7000), "full": (full_macs, 30000, 20000)}
    models = {
        role: replace(base.models[role], macs_per_inference=macs, bytes=size, arena_bytes=arena)
        for role, (macs, size, arena) in figures.items()
    }
    return Cascade("word", full, thresholds, tiny=tiny, bundle=replace(base, models=models))


FRAMES = [np.zeros((1000, 40), np.uint16)]  # 10 s


def test_response_time_and_duty_cycle_by_hand() -> None:
    profile = load_profile("smartwatch_300mah")
    result = simulate(cascade_with(600_000, tiny_fires_every=100), FRAMES, profile)
    # tiny fires at its 100th call (hop 300): the full model confirms at once -> detections
    assert len(result.detections) == 3
    clock = profile.mcu.clock_mhz * 1e6
    # scripted models have no flatbuffer, so no operators to charge overhead for
    full_cycles = 600_000 * profile.mcu.cycles_per_mac + profile.mcu.inference_overhead_cycles
    high = (
        profile.mcu.frontend_cycles_per_hop
        + profile.mcu.wakeup_us * 1e-6 * clock
        + 5000 * profile.mcu.cycles_per_mac
        + profile.mcu.inference_overhead_cycles
    )
    # the background inference starts after the high-priority work and spills into the next hop
    per_hop_free = (
        clock * 0.01 - profile.mcu.frontend_cycles_per_hop - profile.mcu.wakeup_us * 1e-6 * clock
    )
    first_hop_free = clock * 0.01 - high
    spill = full_cycles - first_hop_free
    expected_ms = (
        0.01
        + (profile.mcu.frontend_cycles_per_hop + profile.mcu.wakeup_us * 1e-6 * clock + spill)
        / clock
    ) * 1000
    assert spill < per_hop_free
    assert result.detection_response_ms[0] == pytest.approx(expected_ms, rel=1e-6)
    assert sum(result.response_ms_counts.values()) == result.counters["full_inferences"]
    assert result.missed_deadlines == 0
    assert result.counters["duty_cycle_full"] == pytest.approx(3 / 1000)
    assert result.memory["fits"]


def test_too_much_work_misses_deadlines() -> None:
    profile = load_profile("smartwatch_300mah")
    # a 3M-MAC full model needs ~63 ms at 48 MHz: far past its 30 ms deadline
    result = simulate(cascade_with(3_000_000, tiny_fires_every=10), FRAMES, profile)
    assert result.missed_deadlines > 0
    slow = replace(profile, mcu=replace(profile.mcu, frontend_cycles_per_hop=600_000))
    result = simulate(cascade_with(600_000, tiny_fires_every=1000), FRAMES, slow)
    assert result.missed_deadlines == 1000  # every hop's frontend overruns its 10 ms


def test_baseline_costs_more_than_cascade() -> None:
    profile = load_profile("smartwatch_300mah")
    cascade = cascade_with(600_000, tiny_fires_every=100)
    result = simulate(cascade, FRAMES, profile)
    baseline = full_always_on(cascade, profile, result.duration_s)
    assert baseline.avg_current_ma > result.report.avg_current_ma
    assert baseline.current_ma["full"] > 10 * result.report.current_ma["full"]


@pytest.mark.parametrize("args", [["--profile", "nope"], ["--minutes", "0"]])
def test_battery_cli_errors_are_one_line(args: list[str], random_bundle: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kws", "battery", "--model", str(random_bundle), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("error:") == 1


def test_battery_json_contract(random_bundle: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kws",
            "battery",
            "--model",
            str(random_bundle),
            "--scenario",
            "quiet",
            "--minutes",
            "0.5",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in (
        "profile",
        "battery_hours",
        "avg_current_ma",
        "response_ms",
        "missed_deadlines",
        "duty_cycle_full",
        "energy_share",
        "memory",
        "baseline_full_always_on",
    ):
        assert key in report
    assert set(report["response_ms"]) >= {"p50", "p99", "max"}
    assert set(report["memory"]) >= {"flash_bytes", "ram_bytes", "fits"}
    assert set(report["baseline_full_always_on"]) == {"battery_hours", "avg_current_ma"}
    # without --microphone the profile as it is is that same device
    as_is = report["baseline_profile_as_is"]
    assert {k: as_is[k] for k in ("battery_hours", "avg_current_ma")} == report[
        "baseline_full_always_on"
    ]
    savings = report["savings_vs_full_always_on"]
    assert savings["system_current_ratio_vs_profile_as_is"] == savings["system_current_ratio"]
    assert report["audio_s"] == pytest.approx(30.0, abs=0.1)
    assert abs(sum(report["energy_share"].values()) - 1.0) < 1e-3


def test_battery_sweep_json_and_plot(random_bundle: Path, tmp_path: Path) -> None:
    plot = tmp_path / "sweep.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kws",
            "battery",
            "--model",
            str(random_bundle),
            "--scenario",
            "quiet",
            "--minutes",
            "0.5",
            "--sweep",
            "--json",
            "--plot",
            str(plot),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["sweep"]
    assert [row["wake"] for row in rows] == sorted(row["wake"] for row in rows)
    assert len(rows) >= 5
    for row in rows:
        assert row["battery_hours"] > 0
        assert 0 <= row["false_rejects"] <= row["keywords"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_response_percentiles_are_numpys_from_the_counts() -> None:
    result = simulate(
        cascade_with(600_000, tiny_fires_every=100), FRAMES, load_profile("smartwatch_300mah")
    )
    times = np.round(np.random.default_rng(4).gamma(4.0, 3.0, 501), 1)  # repeats, like real runs
    counted = replace(result, response_ms_counts=Counter(times.tolist()))
    for q in (0, 1, 50, 99, 99.9, 100):
        assert counted.response_percentile_ms(q) == pytest.approx(np.percentile(times, q))
    assert replace(result, response_ms_counts=Counter()).response_percentile_ms(50) is None


def test_memory_stays_flat_however_long_the_run() -> None:
    profile = load_profile("smartwatch_300mah")

    def peak_bytes(hops: int) -> int:
        cascade = cascade_with(600_000, tiny_fires_every=100)
        frames = (np.zeros((1000, 40), np.uint16) for _ in range(hops // 1000))
        tracemalloc.start()
        try:
            result = simulate(cascade, frames, profile)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert result.counters["hops"] == hops
        assert result.current_ma_series.size <= 2 * MAX_SERIES_POINTS
        return peak

    peak_bytes(1000)  # first-call allocations out of the way
    # 100,000 hops kept three per-hop lists (latency, current, awake): ~7 MB
    assert peak_bytes(100_000) - peak_bytes(10_000) < 500_000


def test_current_series_merges_steps_to_stay_bounded() -> None:
    profile = load_profile("smartwatch_300mah")
    cascade = cascade_with(600_000, tiny_fires_every=100)
    hours = 2  # 7,200 one-second steps: merged once, to 3,600 two-second steps
    frames = (np.zeros((6000, 40), np.uint16) for _ in range(hours * 60))
    result = simulate(cascade, frames, profile)
    assert result.current_series_step_s == pytest.approx(2.0)
    assert result.current_ma_series.size == hours * 3600 // 2
    mean_ma = float(result.current_ma_series.mean())
    assert mean_ma == pytest.approx(result.report.avg_current_ma, rel=1e-3)


def test_the_simulated_device_hears_the_bundles_noise_floor(
    demo_recordings: tuple[Path, Path],
) -> None:
    """The simulator frames the audio itself and calls ``process_features`` (no floor); with
    ``frames`` its device hears what ``Cascade.process`` hears, the bundle's floor included: the
    same detections and the same tiny scores, hop for hop, on the demo's keyword recording."""
    import soundfile

    from firmware_sim.simulator import Simulation
    from kws.defaults import resolve_bundle
    from kws.loading import load_cascade

    bundle = resolve_bundle(None)
    pcm, _ = soundfile.read(demo_recordings[0], dtype="int16")
    host = load_cascade(bundle, verifier=False)
    assert host.noise_floor is not None  # the shipped bundle records one
    host_scores, host_times = [], []
    device = Simulation(load_cascade(bundle, verifier=False), load_profile("smartwatch_300mah"))
    device_scores = []
    for start in range(0, pcm.size, 1600):  # 100 ms pieces, as audio arrives
        piece = pcm[start : start + 1600]
        host_times += [d.time_s for d in host.process(piece)]
        host_scores.append(host.last_tiny_score)
        device.feed_pcm(piece)
        device_scores.append(device.cascade.last_tiny_score)
    assert host_times  # the keyword is found
    assert device.result().detections == pytest.approx(host_times)
    assert device_scores == host_scores
