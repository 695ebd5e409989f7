"""The energy model against hand calculations."""

from __future__ import annotations

import pytest

from firmware_sim.energy import ModelCost, Workload, energy
from firmware_sim.profile import Battery, Mcu, Memory, Microphone, Profile


def hand_profile() -> Profile:
    return Profile(
        name="hand",
        description="round numbers",
        battery=Battery(capacity_mah=100.0, nominal_voltage_v=3.7, usable_fraction=0.5),
        mcu=Mcu(
            part="x",
            clock_mhz=10.0,
            run_current_ma=2.0,
            sleep_current_ma=0.01,
            wakeup_us=10.0,
            cycles_per_mac=2.0,
            layer_overhead_cycles=100.0,
            inference_overhead_cycles=1000.0,
            frontend_cycles_per_hop=5000.0,
        ),
        microphone=Microphone(part="m", current_ma=0.5, interface_current_ma=0.1),
        memory=Memory(flash_bytes=1, ram_bytes=1),
    )


def test_one_second_by_hand() -> None:
    # 1 s of audio: 100 hops, 33 tiny inferences, 10 full inferences.
    tiny = ModelCost(macs=1000, layers=5)  # 2000 + 500 + 1000 = 3500 cycles
    full = ModelCost(macs=50_000, layers=10)  # 100000 + 1000 + 1000 = 102000 cycles
    report = energy(hand_profile(), Workload(1.0, 100, 33, 10, tiny, full))
    # busy seconds at 10 MHz: frontend 500000/1e7 = 0.05, tiny 115500/1e7 = 0.01155,
    # full 1020000/1e7 = 0.102, wake-ups 100 x 10 us = 0.001  -> active 0.16455 s
    assert report.current_ma["microphone"] == pytest.approx(0.6)
    assert report.current_ma["frontend"] == pytest.approx(2.0 * 0.05)
    assert report.current_ma["tiny"] == pytest.approx(2.0 * 0.01155)
    assert report.current_ma["full"] == pytest.approx(2.0 * 0.102)
    assert report.current_ma["wakeup"] == pytest.approx(2.0 * 0.001)
    assert report.current_ma["sleep"] == pytest.approx(0.01 * (1 - 0.16455))
    total = 0.6 + 2.0 * 0.16455 + 0.01 * (1 - 0.16455)
    assert report.avg_current_ma == pytest.approx(total)
    assert report.battery_hours == pytest.approx(100 * 0.5 / total)
    assert sum(report.energy_share.values()) == pytest.approx(1.0)


def test_duty_cycle_workload() -> None:
    tiny, full = ModelCost(1000, 5), ModelCost(50_000, 10)
    workload = Workload.from_duty_cycle(3600.0, tiny, full, 3, 3, duty_cycle_full=0.1)
    assert workload.hops == 360_000
    assert workload.tiny_inferences == 120_000
    assert workload.full_inferences == 12_000


def test_more_full_inferences_cost_more_battery() -> None:
    tiny, full = ModelCost(1000, 5), ModelCost(50_000, 10)
    profile = hand_profile()
    low = energy(profile, Workload(10.0, 1000, 333, 10, tiny, full))
    high = energy(profile, Workload(10.0, 1000, 333, 333, tiny, full))
    assert high.battery_hours < low.battery_hours
    assert high.current_ma["full"] == pytest.approx(low.current_ma["full"] * 33.3)


def test_zero_duration_is_refused() -> None:
    with pytest.raises(ValueError):
        energy(hand_profile(), Workload(0.0, 0, 0, 0, ModelCost(0, 0), ModelCost(0, 0)))
