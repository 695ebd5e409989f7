"""Power profile validation: every shipped profile loads; bad ones name the bad key."""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path

import pytest

from firmware_sim.profile import PROFILE_DIR, load_profile, parse_profile
from kws.errors import ProfileError

SHIPPED = sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def test_at_least_four_profiles_ship() -> None:
    assert {"smartwatch_300mah", "cortex_m7_board", "esp32s3", "always_on_npu"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_loads_and_every_number_has_a_source(name: str) -> None:
    profile = load_profile(name)
    assert profile.battery.capacity_mah > 0
    numeric = re.compile(r"^\w+\s*=\s*-?[\d.]+")
    numbers = [
        line.strip()
        for line in (PROFILE_DIR / f"{name}.toml").read_text().splitlines()
        if numeric.match(line.strip())
    ]
    assert len(numbers) >= 14
    for line in numbers:
        assert "#" in line and len(line.split("#", 1)[1].strip()) > 5, (
            f"{name}: no source on {line!r}"
        )


def _raw() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((PROFILE_DIR / "smartwatch_300mah.toml").read_text())


def _no_current_between_hops(raw: dict) -> None:  # type: ignore[type-arg]
    raw["microphone"].update(current_ma=0.0, interface_current_ma=0.0)
    raw["mcu"].update(sleep_current_ma=0.0)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["battery"].pop("capacity_mah"), "missing key battery.capacity_mah"),
        (lambda r: r["mcu"].update(run_current_ma=-1.0), "mcu.run_current_ma must not be negative"),
        (lambda r: r["mcu"].update(clock_hz=1), "unknown key mcu.clock_hz"),
        (
            lambda r: r["microphone"].update(current_ma="lots"),
            "microphone.current_ma must be a number",
        ),
        (lambda r: r.pop("memory"), "missing section [memory]"),
        (lambda r: r["battery"].update(usable_fraction=1.5), "usable_fraction"),
        (lambda r: r.update(extra=1), "unknown key extra"),
        (
            lambda r: r["battery"].update(capacity_mah=math.inf),
            "battery.capacity_mah must be a finite",
        ),
        (lambda r: r["mcu"].update(run_current_ma=math.nan), "mcu.run_current_ma must be a finite"),
        (lambda r: r["memory"].update(flash_bytes=math.inf), "memory.flash_bytes must be a finite"),
        (lambda r: r["memory"].update(ram_bytes=math.nan), "memory.ram_bytes must be a finite"),
        (lambda r: r["memory"].update(ram_bytes=1.5), "memory.ram_bytes must be a whole number"),
        (lambda r: r["mcu"].update(run_current_ma=0.0), "mcu.run_current_ma must be positive"),
        (_no_current_between_hops, "a listening device draws current between hops"),
    ],
)
def test_bad_profile_names_the_key(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = _raw()
    edit(raw)
    with pytest.raises(ProfileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_profile(raw, "edited")


def test_unknown_profile_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="smartwatch_300mah"):
        load_profile("no_such_device")
    broken = tmp_path / "broken.toml"
    broken.write_text("[battery\n")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(broken)


@pytest.mark.parametrize(("digits", "message"), [(400, "too large"), (5000, "not valid TOML")])
def test_an_integer_too_large_for_a_float_is_refused(
    tmp_path: Path, digits: int, message: str
) -> None:
    text = (PROFILE_DIR / "smartwatch_300mah.toml").read_text()
    edited = re.sub(r"capacity_mah = [\d.]+", "capacity_mah = " + "9" * digits, text)
    assert edited != text
    (tmp_path / "huge.toml").write_text(edited)
    with pytest.raises(ProfileError, match=message):
        load_profile(tmp_path / "huge.toml")
