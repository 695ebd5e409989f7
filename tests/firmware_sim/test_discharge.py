"""A whole charge under a policy: the policy's switch points, the walk by hand, and
`kws battery --discharge` end to end on scripted audio."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from firmware_sim.discharge import (
    FIXED,
    GATE_EVERYWHERE_AT,
    STRICT_AT,
    STRICT_WAKE,
    Measured,
    Setting,
    choose,
    discharge,
    scene_at,
    settings_for,
)
from kws.errors import KwsError
from kws_cli.main import main

GATED = Setting(gate="energy")
STRICT = Setting(wake=STRICT_WAKE, gate="energy")


@pytest.mark.parametrize(
    ("charge", "scene", "expected"),
    [
        (1.0, "office", FIXED),
        (GATE_EVERYWHERE_AT + 0.01, "tv", FIXED),
        (GATE_EVERYWHERE_AT + 0.01, "quiet", GATED),  # quiet: gated at any charge
        (1.0, "quiet", GATED),
        (GATE_EVERYWHERE_AT, "office", GATED),  # at the switch point: switched
        (STRICT_AT + 0.01, "tv", GATED),
        (STRICT_AT, "office", STRICT),
        (STRICT_AT, "quiet", STRICT),
        (0.0, "tv", STRICT),
    ],
)
def test_adaptive_switch_points(charge: float, scene: str, expected: Setting) -> None:
    assert choose("adaptive", charge, scene, "energy") == expected
    assert choose("fixed", charge, scene, "energy") == FIXED


def test_the_gate_is_the_devices() -> None:
    assert choose("adaptive", 0.1, "tv", "mic") == Setting(wake=STRICT_WAKE, gate="mic")
    assert set(settings_for("mic")) == {FIXED, Setting(gate="mic"), Setting(STRICT_WAKE, "mic")}
    with pytest.raises(KwsError, match="unknown policy 'greedy'"):
        choose("greedy", 0.5, "tv", "energy")


def test_scene_at_follows_the_day() -> None:
    day = (("quiet", 7.0), ("tv", 1.0), ("office", 16.0))
    assert scene_at(0.0, day) == ("quiet", 7.0)
    assert scene_at(7.0, day) == ("tv", 1.0)
    assert scene_at(8.5, day) == ("office", 15.5)
    assert scene_at(24.0 + 7.25, day) == ("tv", 0.75)  # the next day


def _measured(scene: str) -> dict[tuple[str, Setting], Measured]:
    return {
        (scene, FIXED): Measured(current_ma=1.0, recall=0.8),
        (scene, GATED): Measured(current_ma=0.5, recall=0.6),
        (scene, STRICT): Measured(current_ma=0.4, recall=0.4),
    }


def test_a_charge_by_hand() -> None:
    # 100 mAh, one scene: fixed 1 mA all the way, 100 h. Adaptive: 1 mA down to 50% (50 h),
    # 0.5 mA to 20% (30 mAh, 60 h), 0.4 mA to empty (20 mAh, 50 h): 160 h.
    day, rates = (("office", 24.0),), {"office": 10.0}
    fixed = discharge(100.0, _measured("office"), "fixed", "energy", rates, day)
    adaptive = discharge(100.0, _measured("office"), "adaptive", "energy", rates, day)
    assert fixed.battery_hours == pytest.approx(100.0)
    assert fixed.keywords_spoken == pytest.approx(1000.0)
    assert fixed.keywords_found == pytest.approx(800.0)
    assert adaptive.battery_hours == pytest.approx(160.0, abs=0.15)
    # the switch points, in hours: where the current and the recall change
    steps = list(zip(adaptive.hours, adaptive.current_ma, strict=True))
    first_gated = next(h for h, ma in steps if ma == 0.5)
    first_strict = next(h for h, ma in steps if ma == 0.4)
    assert first_gated == pytest.approx(50.0, abs=0.15)
    assert first_strict == pytest.approx(110.0, abs=0.15)
    at_switch = adaptive.charge_left[adaptive.hours.index(first_gated)]
    assert at_switch <= GATE_EVERYWHERE_AT and at_switch > GATE_EVERYWHERE_AT - 0.002
    # keywords: 50 h x 10 x 0.8 + 60 h x 10 x 0.6 + 50 h x 10 x 0.4 = 400 + 360 + 200
    assert adaptive.keywords_found == pytest.approx(960.0, abs=2.0)
    # in the fixed policy's 100 h the adaptive one found 400 + 50 x 10 x 0.6 = 700: 100 lost
    assert fixed.keywords_found - adaptive.found_by(100.0) == pytest.approx(100.0, abs=2.0)
    assert adaptive.hours_by_setting[GATED.name] == pytest.approx(60.0, abs=0.15)


def test_quiet_scenes_are_gated_from_the_start() -> None:
    day, rates = (("quiet", 2.0), ("office", 2.0)), {"quiet": 0.0, "office": 10.0}
    measured = {**_measured("quiet"), **_measured("office")}
    run = discharge(100.0, measured, "adaptive", "energy", rates, day)
    assert run.current_ma[0] == 0.5 and run.hours[0] == 0.0  # quiet, full charge: gated
    office = run.hours.index(2.0)
    assert run.current_ma[office] == 1.0  # office, still over half full: as shipped


def test_an_unmeasured_setting_or_no_current_is_an_error() -> None:
    rates = {"office": 1.0}
    with pytest.raises(KwsError, match="no measurement of bundle wake, gate none in the tv"):
        discharge(10.0, _measured("office"), "fixed", "energy", {"tv": 1.0}, (("tv", 24.0),))
    none = {("office", FIXED): Measured(current_ma=0.0, recall=1.0)}
    with pytest.raises(KwsError, match="draws no current"):
        discharge(10.0, none, "fixed", "energy", rates, (("office", 24.0),))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "fixed"], "--policy chooses the policy of a whole charge: add --discharge"),
        (["--discharge", "--gate", "energy"], "--gate is not available with --discharge"),
        (["--discharge", "--scenario", "tv"], "--scenario is not available with --discharge"),
        (["--discharge", "--benchmark", "sww"], "--benchmark is not available with --discharge"),
        (["--discharge", "--minutes", "0"], "--minutes must be a positive number"),
        (["--discharge", "--plot", "TMP/notes.txt"], "cannot write .txt images"),
    ],
)
def test_bad_discharge_flags_are_one_line(
    args: list[str],
    message: str,
    random_bundle: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object) -> Iterator[tuple[np.ndarray, list[float]]]:
        raise AssertionError("the simulation started")
        yield

    monkeypatch.setattr("firmware_sim.stretches.generate", refuse)
    args = [a.replace("TMP", str(tmp_path)) for a in args]
    code = main(["battery", "--model", str(random_bundle), *args])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert len(captured.err.splitlines()) == 1 and message in captured.err


def test_discharge_report_and_plot(
    bursty_noise: Callable[..., Any],
    random_bundle: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("firmware_sim.stretches.generate", bursty_noise)
    plot = tmp_path / "charge.png"
    common = ["battery", "--discharge", "--model", str(random_bundle), "--minutes", "0.5"]
    code = main([*common, "--json", "--plot", str(plot)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert report["policy"] == "adaptive" and report["gate"] == "energy"  # the watch's own mic
    assert report["hours_gained"] == pytest.approx(
        report["battery_hours"] - report["fixed"]["battery_hours"], abs=0.011
    )
    assert len(report["measured"]) == 9  # 3 scenes x 3 settings
    for row in report["measured"]:
        assert row["keywords_spoken"] == 1 and row["avg_current_ma"] > 0
    # the fixed policy ran as shipped all its hours: its time is all in one setting
    assert list(report["fixed"]["hours_by_setting"]) == ["bundle wake, gate none"]
    assert sum(report["hours_by_setting"].values()) == pytest.approx(
        report["battery_hours"], abs=0.02
    )
    code = main([*common, "--json", "--policy", "fixed"])
    fixed = json.loads(capsys.readouterr().out)
    assert code == 0 and fixed["policy"] == "fixed"
    assert fixed["hours_gained"] == 0 and fixed["keywords_lost"] == 0
