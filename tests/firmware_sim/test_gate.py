"""The stage-0 gate on scripted audio: when it opens and closes, the samples it loses, the
microphone's time per state and its energy, by hand; and `kws battery --gate` end to end."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_sim.gate import (
    LEVEL_CHECK_CYCLES_PER_HOP,
    ActivityDetector,
    GateConfig,
    GatedSimulation,
)
from firmware_sim.microphone import load_microphone, with_microphone
from firmware_sim.profile import Profile, load_profile
from kws.cascade import Cascade
from kws.errors import KwsError
from kws.thresholds import Thresholds
from kws_cli.main import main

ONSET = 16_000 + 5 * 16 + 3  # 3 samples into the 6th 1 ms block of the 101st hop
TONE_SAMPLES = 8_000  # 0.5 s
TOTAL = 48_000  # 3 s, 300 hops


class Silent:
    """A model that never fires: the cascade stays asleep, the gate alone decides."""

    def __init__(self, stride: int, window: int) -> None:
        self.stride_frames, self.window_frames = stride, window

    def step(self, frames: np.ndarray) -> float:
        return 0.0

    def reset(self) -> None:
        pass


def _cascade() -> Cascade:
    thresholds = Thresholds(
        wake=0.5, detect=0.5, smoothing_frames=1, wake_window_s=0.3, preroll_s=1.0, refractory_s=1.0
    )
    return Cascade("word", Silent(3, 100), thresholds, tiny=Silent(3, 3))  # no bundle: no costs


def _audio() -> np.ndarray:
    """Noise at about -60 dBFS with a -20 dBFS tone from ``ONSET`` for 0.5 s."""
    rng = np.random.default_rng(1)
    pcm = rng.normal(0, 32768 * 10 ** (-60 / 20), TOTAL)
    t = np.arange(TONE_SAMPLES) / 16000
    pcm[ONSET : ONSET + TONE_SAMPLES] += (
        32768 * 10 ** (-20 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 440 * t)
    )
    return np.round(pcm).astype(np.int16)


def _profile() -> Profile:
    return with_microphone(load_profile("smartwatch_300mah"), load_microphone("vesper_vm3011"))


def test_mic_gate_transitions_lost_samples_and_energy_by_hand() -> None:
    profile = _profile()
    gated = GatedSimulation(_cascade(), profile, GateConfig("mic", preroll_ms=0.0))
    audio = _audio()
    for start in range(0, TOTAL, 4_000):  # chunks that do not fall on hops
        gated.feed_pcm(audio[start : start + 4_000])
    # The tone's first 1 ms block starts at sample 16080: the interrupt. The microphone then
    # takes wake_on_sound.exit_ms = 2.2 ms to deliver audio: round(2.2 x 16) = 35 samples lost.
    assert gated.openings == 1
    assert gated.lost_samples == 35
    # Open from hop 100 (the onset) to hop 200: the tone is active up to hop 150, then 50
    # quiet hops (the 500 ms hangover) close it after hop 200.
    assert gated.open_hops == 101
    listening = (16_160 - 16_080) + 100 * 160
    assert gated.mic_samples == {"wake_on_sound": TOTAL - listening, "standard": listening}
    result = gated.result()
    wos_ma, listen_ma = 0.01, 0.25 + profile.microphone.interface_current_ma
    expected_ma = ((TOTAL - listening) * wos_ma + listening * listen_ma) / TOTAL
    assert result.report.current_ma["microphone"] == pytest.approx(expected_ma)
    # the MCU woke for the interrupt and for each open hop, and checked the level in each
    assert gated.wakeups == 1 + 101
    assert gated.gate_cycles == 101 * LEVEL_CHECK_CYCLES_PER_HOP
    assert gated.duty_cycle == pytest.approx(101 / 300)


def test_energy_gate_loses_nothing_and_checks_every_hop() -> None:
    profile = _profile()
    gated = GatedSimulation(_cascade(), profile, GateConfig("energy", preroll_ms=10.0))
    gated.feed_pcm(_audio())
    assert gated.openings == 1 and gated.lost_samples == 0
    # the energy gate decides on whole hops: the tone's hop (100) opens it
    assert gated.open_hops == 101
    assert gated.mic_samples == {"standard": TOTAL}  # the microphone never leaves listening
    assert gated.wakeups == 300
    assert gated.gate_cycles == 300 * LEVEL_CHECK_CYCLES_PER_HOP
    # the frontend started on the pre-roll hop and the tone's hop: 320 samples, so its first
    # 30 ms window completes 10 ms later than an always-on frontend's would
    assert gated.cascade.counters.hops == (320 + 100 * 160 - 480) // 160 + 1 == 100


def test_a_longer_wake_up_loses_more_of_the_onset() -> None:
    lost = []
    for exit_ms in (2.2, 20.0):
        profile = _profile()
        states = dict(profile.microphone.states)
        states["wake_on_sound"] = replace(states["wake_on_sound"], exit_ms=exit_ms)
        slower = replace(profile, microphone=replace(profile.microphone, states=states))
        gated = GatedSimulation(_cascade(), slower, GateConfig("mic", preroll_ms=0.0))
        gated.feed_pcm(_audio())
        lost.append(gated.lost_samples)
    assert lost == [35, 320]


def test_detector_opens_on_a_rise_above_the_floor_only() -> None:
    detector = ActivityDetector(GateConfig("mic", threshold_db=12.0, preroll_ms=0.0))
    quiet = np.full(160, 30, np.int16)
    assert detector.onset(quiet) is None
    assert detector.onset(quiet * 3) is None  # +9.5 dB: under the threshold
    loud = quiet.copy()
    loud[48:] = 3000  # +40 dB from sample 48: the 4th 1 ms block
    assert detector.onset(loud) == 48


def test_mic_gate_needs_a_wake_on_sound_state() -> None:
    with pytest.raises(KwsError, match="needs a microphone with a wake_on_sound state"):
        watch = load_profile("smartwatch_300mah")
        GatedSimulation(_cascade(), watch, GateConfig("mic", preroll_ms=0.0))
    with pytest.raises(KwsError, match="a mic gate has no pre-roll"):
        GateConfig("mic", preroll_ms=10.0)


def test_battery_gate_report(
    bursty_noise: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the shipped bundle: an untrained one's wakes (and so when the gate may close) change
    # with its random weights from session to session
    monkeypatch.setattr("firmware_sim.scenarios.generate", bursty_noise)
    args = ["battery", "--model", "hey_jarvis", "--minutes", "0.5", "--json"]
    code = main([*args, "--microphone", "vesper_vm3011", "--gate", "mic"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    gate = report["gate"]
    assert gate["kind"] == "mic" and gate["openings"] == 3
    assert gate["lost_samples"] == 3 * 35 and gate["lost_ms_per_opening"] == pytest.approx(2.188)
    assert 0 < gate["duty_cycle"] < 0.5
    # in quiet the gate saves the microphone's listening current
    assert report["battery_hours"] > 2 * gate["without_gate"]["battery_hours"]
    assert gate["keywords_cost"] is not None and gate["keywords_detected_without_gate"] is not None
    shares = report["microphone"]["time_share"]
    assert set(shares) == {"wake_on_sound", "standard"}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["standard"] == pytest.approx(gate["duty_cycle"], abs=0.01)
    for key in ("avg_current_ma", "energy_share", "baseline_full_always_on", "counters"):
        assert key in report
    # beside the full model on the same microphone: the profile as it is (its own microphone)
    as_is, same_mic = report["baseline_profile_as_is"], report["baseline_full_always_on"]
    assert as_is["microphone"] == load_profile("smartwatch_300mah").microphone.part
    assert report["microphone"]["part"] != as_is["microphone"]
    assert as_is["avg_current_ma"] > same_mic["avg_current_ma"]  # the stock part draws more
    savings = report["savings_vs_full_always_on"]
    assert savings["system_current_ratio_vs_profile_as_is"] == pytest.approx(
        as_is["avg_current_ma"] / report["avg_current_ma"], rel=2e-3
    )
    assert savings["system_current_ratio_vs_profile_as_is"] > savings["system_current_ratio"]
    # without --gate: the same keys, the gate null, the microphone listening all the time
    code = main([*args, "--microphone", "knowles_sph0641lu4h"])
    plain = json.loads(capsys.readouterr().out)
    assert code == 0 and plain["gate"] is None
    assert plain["microphone"]["time_share"] == {"low_power": 1.0}
    assert plain["current_ma"]["microphone"] == pytest.approx(0.235 + 0.05)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gate", "mic"], "--gate mic needs a microphone with a wake_on_sound state"),
        (["--gate-hangover-ms", "300"], "--gate-hangover-ms sets the stage-0 gate"),
        (["--gate", "energy", "--gate-threshold-db", "nan"], "--gate-threshold-db must be a fin"),
        (["--gate", "energy", "--sweep"], "--gate is not available with --sweep"),
        (["--microphone", "none_such"], "no microphone option 'none_such' (known: "),
        (
            ["--microphone", "vesper_vm3011", "--gate", "mic", "--gate-preroll-ms", "20"],
            "a mic gate has no pre-roll",
        ),
    ],
)
def test_bad_gate_flags_are_one_line(
    args: list[str], message: str, random_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["battery", "--model", str(random_bundle), "--minutes", "0.1", *args])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert len(captured.err.splitlines()) == 1 and message in captured.err


def test_help_states_the_gate_s_own_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["battery", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    defaults = GateConfig("energy")
    for flag, value in (
        ("--gate-threshold-db", defaults.threshold_db),
        ("--gate-hangover-ms", defaults.hangover_ms),
        ("--gate-preroll-ms", defaults.preroll_ms),
    ):
        shown = re.search(rf"{flag} [A-Z_]+ .*?\(default ([\d.]+)\)", text)
        assert shown is not None and float(shown.group(1)) == value, flag
