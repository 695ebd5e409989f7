"""The energy model: a pure function of (power profile, workload) -> average current per
component and battery hours. No simulation state here; the simulator feeds it measured work.

Charge model: the microphone draws the current of the power state it is in (all the time in its
listening state unless the workload says how long it spent in each), and the MCU's PDM interface
draws while the microphone is clocked; the MCU draws its run current while executing cycles
(frontend, tiny model, full model, a stage-0 gate's level check) and while waking up from sleep
(once per 10 ms audio hop unless the workload counts its wake-ups); it draws its sleep current
for the rest of the time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from firmware_sim.profile import Microphone, Profile

COMPONENTS = ("microphone", "frontend", "tiny", "full", "gate", "wakeup", "sleep")


@dataclass(frozen=True)
class ModelCost:
    """What one inference of a model costs in work: MACs and operators (layers)."""

    macs: int
    layers: int

    def cycles(self, profile: Profile) -> float:
        mcu = profile.mcu
        return (
            self.macs * mcu.cycles_per_mac
            + self.layers * mcu.layer_overhead_cycles
            + mcu.inference_overhead_cycles
        )


@dataclass(frozen=True)
class Workload:
    """Work done over ``duration_s`` of audio (the counters of a Cascade run)."""

    duration_s: float
    hops: int
    tiny_inferences: int
    full_inferences: int
    tiny: ModelCost
    full: ModelCost
    # MCU wake-ups from sleep; None: one per hop
    wakeups: int | None = None
    # cycles of a stage-0 gate's level checks on the MCU
    gate_cycles: float = 0.0
    # seconds the microphone spent in each power state; None: all in its listening state
    microphone_s: Mapping[str, float] | None = None

    @classmethod
    def from_duty_cycle(
        cls,
        duration_s: float,
        tiny: ModelCost,
        full: ModelCost,
        tiny_stride_frames: int,
        full_stride_frames: int,
        duty_cycle_full: float,
        hop_s: float = 0.01,
    ) -> Workload:
        """A stated workload: the tiny model every stride, the full model for a share of time."""
        hops = int(round(duration_s / hop_s))
        return cls(
            duration_s,
            hops,
            hops // tiny_stride_frames,
            int(round(hops * duty_cycle_full / full_stride_frames)),
            tiny,
            full,
        )


@dataclass(frozen=True)
class EnergyReport:
    current_ma: dict[str, float]  # average current per component
    avg_current_ma: float
    battery_hours: float
    active_fraction: float  # share of time the MCU is running

    @property
    def energy_share(self) -> dict[str, float]:
        total = self.avg_current_ma
        return {name: (value / total if total else 0.0) for name, value in self.current_ma.items()}


def microphone_current_ma(
    microphone: Microphone, duration_s: float, state_s: Mapping[str, float] | None = None
) -> float:
    """Average current (mA) of the microphone and the PDM interface over ``duration_s``:
    ``state_s`` seconds in each power state (None: all in the listening state); the interface
    draws while the state needs a clock.

    Raises:
        ValueError: a state the microphone does not have.
    """
    if state_s is None:
        return microphone.current_ma + microphone.interface_current_ma
    states = microphone.all_states()
    charge_ma_s = 0.0
    for name, seconds in state_s.items():
        if name not in states:
            raise ValueError(f"the microphone has no state {name!r} (it has {', '.join(states)})")
        state = states[name]
        interface_ma = microphone.interface_current_ma if state.clocked else 0.0
        charge_ma_s += seconds * (state.current_ma + interface_ma)
    return charge_ma_s / duration_s


def energy(profile: Profile, workload: Workload) -> EnergyReport:
    """Average current per component and battery hours for ``workload`` on ``profile``."""
    if workload.duration_s <= 0:
        raise ValueError("workload duration must be positive")
    mcu = profile.mcu
    clock_hz = mcu.clock_mhz * 1e6
    cycles = {
        "frontend": workload.hops * mcu.frontend_cycles_per_hop,
        "tiny": workload.tiny_inferences * workload.tiny.cycles(profile),
        "full": workload.full_inferences * workload.full.cycles(profile),
    }
    cycles["gate"] = workload.gate_cycles
    busy_s = {name: count / clock_hz for name, count in cycles.items()}
    wakeups = workload.hops if workload.wakeups is None else workload.wakeups
    busy_s["wakeup"] = wakeups * mcu.wakeup_us * 1e-6
    active_s = sum(busy_s.values())
    active_fraction = min(1.0, active_s / workload.duration_s)
    current = {
        "microphone": microphone_current_ma(
            profile.microphone, workload.duration_s, workload.microphone_s
        )
    }
    for name in ("frontend", "tiny", "full", "gate", "wakeup"):
        current[name] = mcu.run_current_ma * busy_s[name] / workload.duration_s
    current["sleep"] = mcu.sleep_current_ma * (1.0 - active_fraction)
    total = sum(current.values())
    battery = profile.battery
    hours = battery.capacity_mah * battery.usable_fraction / total if total > 0 else float("inf")
    return EnergyReport(current, total, hours, active_fraction)
