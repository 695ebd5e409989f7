"""Microphone power states and options: parsing, refusals, and their energy by hand."""

from __future__ import annotations

import copy
import re
import tomllib
from typing import Any

import pytest

from firmware_sim.energy import ModelCost, Workload, energy, microphone_current_ma
from firmware_sim.microphone import (
    MICROPHONE_DIR,
    load_microphone,
    parse_microphone,
    with_microphone,
)
from firmware_sim.profile import PROFILE_DIR, MicState, load_profile, parse_profile
from kws.errors import ProfileError

SHIPPED = sorted(p.stem for p in MICROPHONE_DIR.glob("*.toml"))


def test_two_new_options_ship_besides_the_watch_microphone() -> None:
    assert {"knowles_sph0641lu4h", "vesper_vm3011", "st_mp34dt05a"} <= set(SHIPPED)
    assert load_microphone("knowles_sph0641lu4h").listen_state == "low_power"
    assert "wake_on_sound" in load_microphone("vesper_vm3011").states


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_option_loads_and_every_number_has_a_source(name: str) -> None:
    microphone = load_microphone(name)
    assert microphone.current_ma == microphone.states[microphone.listen_state].current_ma
    numeric = re.compile(r"^\w+\s*=\s*-?[\d.]+")
    lines = (MICROPHONE_DIR / f"{name}.toml").read_text().splitlines()
    numbers = [line.strip() for line in lines if numeric.match(line.strip())]
    assert len(numbers) == 4 * len(microphone.states)
    for line in numbers:
        assert "#" in line and len(line.split("#", 1)[1].strip()) > 5, f"{name}: {line!r}"


def test_an_option_fits_any_profile_on_that_profile_s_interface() -> None:
    for profile_name in (p.stem for p in PROFILE_DIR.glob("*.toml")):
        profile = load_profile(profile_name)
        fitted = with_microphone(profile, load_microphone("vesper_vm3011"))
        assert fitted.microphone.current_ma == pytest.approx(0.25)
        assert fitted.microphone.interface_current_ma == profile.microphone.interface_current_ma
        assert fitted.mcu == profile.mcu and fitted.battery == profile.battery


def test_a_profile_without_states_listens_in_one_clocked_state() -> None:
    microphone = load_profile("smartwatch_300mah").microphone
    (name, state), *others = microphone.all_states().items()
    assert (name, others) == ("standard", [])
    assert state.current_ma == 0.65 and state.clocked


def _option_raw() -> dict[str, Any]:
    return tomllib.loads((MICROPHONE_DIR / "vesper_vm3011.toml").read_text())


def _states(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["microphone"]["states"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: _states(r).update(loud={}), "unknown microphone state microphone.states.loud"),
        (
            lambda r: _states(r)["standard"].update(exit_ms=-1.0),
            "microphone.states.standard.exit_ms must not be negative",
        ),
        (
            lambda r: _states(r)["standard"].update(current_ma="a lot"),
            "microphone.states.standard.current_ma must be a number",
        ),
        (
            lambda r: _states(r)["sleep"].pop("exit_ms"),
            "missing key microphone.states.sleep.exit_ms",
        ),
        (
            lambda r: _states(r)["sleep"].update(colour=1.0),
            "unknown key microphone.states.sleep.colour",
        ),
        (
            lambda r: _states(r)["standard"].update(clock_min_mhz=4.0),
            "microphone.states.standard.clock_min_mhz (4.0) is above clock_max_mhz",
        ),
        (
            lambda r: r["microphone"].update(listen_state="wake_on_sound"),
            "microphone.listen_state must be one of low_power, standard",
        ),
        (
            lambda r: r["microphone"].update(listen_state="low_power"),
            "microphone.listen_state 'low_power' is not among microphone.states",
        ),
        (
            lambda r: _states(r)["standard"].update(clock_min_mhz=0.0, clock_max_mhz=0.0),
            "microphone.states.standard.clock_max_mhz must be positive",
        ),
        (
            lambda r: r["microphone"].update(interface_current_ma=0.1),
            "interface_current_ma belongs to the device profile",
        ),
        (lambda r: r["microphone"].update(states=[]), "microphone.states must"),
        (lambda r: r["microphone"].pop("part"), "missing key microphone.part"),
    ],
)
def test_bad_option_names_the_key(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = _option_raw()
    edit(raw)
    with pytest.raises(ProfileError, match=re.escape(message)):
        parse_microphone(raw, "edited")


def _profile_with_states() -> dict[str, Any]:
    raw = tomllib.loads((PROFILE_DIR / "smartwatch_300mah.toml").read_text())
    raw["microphone"]["states"] = copy.deepcopy(_states(_option_raw()))
    raw["microphone"]["current_ma"] = 0.25
    return raw


def test_a_profile_may_state_its_microphone_states() -> None:
    profile = parse_profile(_profile_with_states(), "edited")
    assert set(profile.microphone.states) == {"wake_on_sound", "standard", "sleep"}


def test_a_profile_current_that_contradicts_its_listening_state_is_refused() -> None:
    raw = _profile_with_states()
    raw["microphone"]["current_ma"] = 0.65
    with pytest.raises(ProfileError, match="differs from microphone.states.standard.current_ma"):
        parse_profile(raw, "edited")


def test_unknown_option_lists_known_ones() -> None:
    with pytest.raises(ProfileError, match="vesper_vm3011"):
        load_microphone("no_such_microphone")


def test_state_energy_by_hand() -> None:
    """10 s: 6 s in wake-on-sound (10 uA, no clock), 4 s listening (250 uA + 50 uA interface).
    Average: (6 x 0.01 + 4 x (0.25 + 0.05)) / 10 = 0.126 mA."""
    profile = with_microphone(load_profile("smartwatch_300mah"), load_microphone("vesper_vm3011"))
    state_s = {"wake_on_sound": 6.0, "standard": 4.0}
    assert microphone_current_ma(profile.microphone, 10.0, state_s) == pytest.approx(0.126)
    none = ModelCost(0, 0)
    report = energy(profile, Workload(10.0, 0, 0, 0, none, none, 0, 0.0, state_s))
    assert report.current_ma["microphone"] == pytest.approx(0.126)
    # the MCU did nothing: it slept the whole time
    assert report.avg_current_ma == pytest.approx(0.126 + profile.mcu.sleep_current_ma)
    with pytest.raises(ValueError, match="no state 'low_power'"):
        microphone_current_ma(profile.microphone, 1.0, {"low_power": 1.0})


def test_without_state_times_the_microphone_listens_all_the_time() -> None:
    profile = load_profile("smartwatch_300mah")
    assert microphone_current_ma(profile.microphone, 5.0) == pytest.approx(0.65 + 0.05)


def test_an_unclocked_state_draws_no_interface_current() -> None:
    assert not MicState(0.01, 0.0, 0.0, 2.2).clocked
    assert MicState(0.25, 1.0, 3.0, 0.0).clocked
