"""The energy model: a pure function of (power profile, workload) -> average current per
component and battery hours. No simulation state here; the simulator feeds it measured work.

Charge model: the microphone (and its interface) draws all the time; the MCU draws its run
current while executing cycles (frontend, tiny model, full model) and while waking up from sleep
once per 10 ms audio hop; it draws its sleep current for the rest of the time.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_sim.profile import Profile

COMPONENTS = ("microphone", "frontend", "tiny", "full", "wakeup", "sleep")


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
    busy_s = {name: count / clock_hz for name, count in cycles.items()}
    busy_s["wakeup"] = workload.hops * mcu.wakeup_us * 1e-6
    active_s = sum(busy_s.values())
    active_fraction = min(1.0, active_s / workload.duration_s)
    current = {
        "microphone": profile.microphone.current_ma + profile.microphone.interface_current_ma
    }
    for name in ("frontend", "tiny", "full", "wakeup"):
        current[name] = mcu.run_current_ma * busy_s[name] / workload.duration_s
    current["sleep"] = mcu.sleep_current_ma * (1.0 - active_fraction)
    total = sum(current.values())
    battery = profile.battery
    hours = battery.capacity_mah * battery.usable_fraction / total if total > 0 else float("inf")
    return EnergyReport(current, total, hours, active_fraction)
