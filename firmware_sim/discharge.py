"""A whole charge, full to empty, under a battery-aware policy: pure functions of measured
stretches (no audio here; ``firmware_sim.stretches`` measures them).

How a charge is extrapolated: the day is a fixed schedule of scenes (``DAY``, repeated). For
each scene and each device setting a short stretch of that scene was simulated (the real
cascade on generated audio): its average current, and its recall on a keyword-dense stretch of
the same scene. The charge is then walked in steps of ``STEP_H``: at each step the policy picks a
setting from the charge left and the scene; the step draws that setting's measured current for
that scene and hears the scene's keywords at that setting's recall. The walk ends when the
usable charge is spent (the last step cut to the charge left).

The policies (``choose``):
- ``fixed``: the bundle's wake threshold, no gate, all the time: the device as shipped.
- ``adaptive``: the stage-0 gate in quiet scenes whatever the charge (keywords are rare there
  and the gate is closed most of the time); the gate in every scene at or below
  ``GATE_EVERYWHERE_AT`` of the charge; the gate and a stricter wake threshold
  (``STRICT_WAKE``) at or below ``STRICT_AT``. The gate is the microphone's wake-on-sound when
  the microphone has one, else the MCU's energy gate.
The tiny model's stride is not a lever: it is a streaming model trained on every 3-frame
stride, so skipping strides would feed it input it never saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kws.errors import KwsError

STEP_H = 0.1
# a day of scenes (scene, hours), from midnight; repeated until the battery is empty
DAY: tuple[tuple[str, float], ...] = (
    ("quiet", 7.0),  # asleep
    ("tv", 1.0),  # breakfast, the news on
    ("office", 9.0),
    ("tv", 5.0),  # an evening at home
    ("quiet", 2.0),
)
POLICIES = ("fixed", "adaptive")
GATE_SCENES = frozenset({"quiet"})  # scenes where the adaptive policy gates at any charge
GATE_EVERYWHERE_AT = 0.5  # share of the usable charge left
STRICT_AT = 0.2
STRICT_WAKE = 0.9
MAX_HOURS = 1e6  # a walk longer than this means a current of ~0: a profile error


@dataclass(frozen=True)
class Setting:
    """What the device runs: the tiny model's wake threshold (None: the bundle's) and the
    stage-0 gate (``none``, ``energy`` or ``mic``)."""

    wake: float | None = None
    gate: str = "none"

    @property
    def name(self) -> str:
        wake = "bundle wake" if self.wake is None else f"wake {self.wake:g}"
        return f"{wake}, gate {self.gate}"


FIXED = Setting()


@dataclass(frozen=True)
class Measured:
    """One scene at one setting: average current (mA) and recall (keywords found / spoken)."""

    current_ma: float
    recall: float


def settings_for(gate: str) -> tuple[Setting, ...]:
    """Every setting a policy may pick when the device's gate is ``gate`` (``mic``/``energy``)."""
    return (FIXED, Setting(gate=gate), Setting(wake=STRICT_WAKE, gate=gate))


def choose(policy: str, charge_left: float, scene: str, gate: str) -> Setting:
    """The setting ``policy`` runs with ``charge_left`` (share of the usable charge, 0-1) in
    ``scene``, the device's gate being ``gate``.

    Raises:
        KwsError: an unknown policy.
    """
    if policy == "fixed":
        return FIXED
    if policy != "adaptive":
        raise KwsError(f"unknown policy {policy!r}; one of {', '.join(POLICIES)}")
    if charge_left <= STRICT_AT:
        return Setting(wake=STRICT_WAKE, gate=gate)
    if charge_left <= GATE_EVERYWHERE_AT or scene in GATE_SCENES:
        return Setting(gate=gate)
    return FIXED


def scene_at(hours: float, day: tuple[tuple[str, float], ...] = DAY) -> tuple[str, float]:
    """The scene at ``hours`` from the start (midnight) and the hours until it changes."""
    day_h = sum(length for _, length in day)
    into = hours % day_h
    for scene, length in day:
        if into < length - 1e-9:
            return scene, length - into
        into -= length
    return day[0][0], day[0][1]  # rounding at the very end of a day


@dataclass
class DischargeRun:
    """One charge under a policy: its hours, keywords, and a series per step."""

    policy: str
    battery_hours: float
    keywords_spoken: float
    keywords_found: float
    hours: list[float] = field(default_factory=list)  # at the start of each step
    charge_left: list[float] = field(default_factory=list)  # share of the usable charge
    current_ma: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    found_so_far: list[float] = field(default_factory=list)  # at the end of each step
    hours_by_setting: dict[str, float] = field(default_factory=dict)

    def found_by(self, hours: float) -> float:
        """Keywords found in the first ``hours`` (linear within a step)."""
        found_before = 0.0
        for index, start in enumerate(self.hours):
            end = self.hours[index + 1] if index + 1 < len(self.hours) else self.battery_hours
            if hours <= start:
                break
            if hours < end:
                share = (hours - start) / (end - start)
                return found_before + share * (self.found_so_far[index] - found_before)
            found_before = self.found_so_far[index]
        return found_before


def discharge(
    usable_mah: float,
    measured: Mapping[tuple[str, Setting], Measured],
    policy: str,
    gate: str,
    keywords_per_hour: Mapping[str, float],
    day: tuple[tuple[str, float], ...] = DAY,
    step_h: float = STEP_H,
) -> DischargeRun:
    """Walk a charge of ``usable_mah`` from full to empty under ``policy`` (see the module
    docstring); a step never crosses a scene change.

    Raises:
        KwsError: a setting the policy picks was not measured, or the charge never runs out.
    """
    run = DischargeRun(policy, 0.0, 0.0, 0.0)
    charge, hours = usable_mah, 0.0
    while charge > 0:
        scene, scene_left_h = scene_at(hours, day)
        setting = choose(policy, charge / usable_mah, scene, gate)
        if (scene, setting) not in measured:
            raise KwsError(f"no measurement of {setting.name} in the {scene} scene")
        stretch = measured[scene, setting]
        if not stretch.current_ma > 0:
            raise KwsError(
                f"{setting.name} in the {scene} scene draws no current: check the profile"
            )
        step = min(step_h, scene_left_h)
        if stretch.current_ma * step >= charge:
            step = charge / stretch.current_ma
        heard = keywords_per_hour[scene] * step
        run.hours.append(hours)
        run.charge_left.append(charge / usable_mah)
        run.current_ma.append(stretch.current_ma)
        run.recall.append(stretch.recall)
        run.keywords_spoken += heard
        run.keywords_found += heard * stretch.recall
        run.found_so_far.append(run.keywords_found)
        run.hours_by_setting[setting.name] = run.hours_by_setting.get(setting.name, 0.0) + step
        charge -= stretch.current_ma * step
        hours += step
        if hours > MAX_HOURS:
            raise KwsError(f"the battery lasts over {MAX_HOURS:g} h: check the profile's currents")
    run.battery_hours = hours
    return run
