"""Power profiles: TOML files in ``firmware_sim/power_profiles/`` (package data, so an installed
wheel has them) describing a device's battery, MCU, microphone and memory. Loading validates
every key: a missing, negative, non-finite (inf, nan), non-numeric or unknown key is a
``ProfileError`` that names it.
"""

from __future__ import annotations

import math
import sys
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kws.errors import ProfileError

PROFILE_DIR = Path(__file__).resolve().parent / "power_profiles"


@dataclass(frozen=True)
class Battery:
    capacity_mah: float
    nominal_voltage_v: float
    usable_fraction: float


@dataclass(frozen=True)
class Mcu:
    part: str
    clock_mhz: float
    run_current_ma: float
    sleep_current_ma: float
    wakeup_us: float
    cycles_per_mac: float
    layer_overhead_cycles: float
    inference_overhead_cycles: float
    frontend_cycles_per_hop: float


@dataclass(frozen=True)
class Microphone:
    part: str
    current_ma: float
    interface_current_ma: float


@dataclass(frozen=True)
class Memory:
    flash_bytes: int
    ram_bytes: int


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    battery: Battery
    mcu: Mcu
    microphone: Microphone
    memory: Memory


_SECTIONS = {"battery": Battery, "mcu": Mcu, "microphone": Microphone, "memory": Memory}


def _section(raw: dict[str, Any], name: str, cls: type) -> Any:
    values = raw.get(name)
    if not isinstance(values, dict):
        raise ProfileError(f"missing section [{name}]")
    expected = {f.name: f.type for f in fields(cls)}
    for key in values:
        if key not in expected:
            raise ProfileError(f"unknown key {name}.{key}")
    converted: dict[str, Any] = {}
    for key, kind in expected.items():
        if key not in values:
            raise ProfileError(f"missing key {name}.{key}")
        value = values[key]
        if kind == "str":
            if not isinstance(value, str):
                raise ProfileError(f"{name}.{key} must be text")
            converted[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProfileError(f"{name}.{key} must be a number, got {value!r}")
        if isinstance(value, int) and abs(value) > sys.float_info.max:  # float() would overflow
            raise ProfileError(f"{name}.{key} is too large ({len(str(value))} digits)")
        if not math.isfinite(value):
            raise ProfileError(f"{name}.{key} must be a finite number, got {value}")
        if value < 0:
            raise ProfileError(f"{name}.{key} must not be negative, got {value}")
        if kind == "int" and value != int(value):
            raise ProfileError(f"{name}.{key} must be a whole number, got {value}")
        converted[key] = int(value) if kind == "int" else float(value)
    return cls(**converted)


def parse_profile(raw: dict[str, Any], source: str = "profile") -> Profile:
    """Validate a profile's TOML content. Raises ``ProfileError`` naming the bad key."""
    try:
        for key in raw:
            if key not in ("name", "description", *_SECTIONS):
                raise ProfileError(f"unknown key {key}")
        sections = {name: _section(raw, name, cls) for name, cls in _SECTIONS.items()}
        profile = Profile(
            name=str(raw.get("name", source)),
            description=str(raw.get("description", "")),
            **sections,
        )
    except ProfileError as error:
        raise ProfileError(f"{source}: {error}") from None
    checks = [
        (profile.battery.capacity_mah > 0, "battery.capacity_mah must be positive"),
        (0 < profile.battery.usable_fraction <= 1, "battery.usable_fraction must be in (0, 1]"),
        (profile.mcu.clock_mhz > 0, "mcu.clock_mhz must be positive"),
        (profile.battery.nominal_voltage_v > 0, "battery.nominal_voltage_v must be positive"),
        (profile.mcu.run_current_ma > 0, "mcu.run_current_ma must be positive"),
        # with these two positive the average current is too, whatever the MCU does: battery
        # hours (capacity / current) are finite
        (
            profile.microphone.current_ma
            + profile.microphone.interface_current_ma
            + profile.mcu.sleep_current_ma
            > 0,
            "microphone.current_ma + microphone.interface_current_ma + mcu.sleep_current_ma "
            "must be positive (a listening device draws current between hops)",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ProfileError(f"{source}: {message}")
    return profile


def load_profile(name_or_path: str | Path) -> Profile:
    """A profile by name (``smartwatch_300mah``, looked up in ``PROFILE_DIR``) or TOML path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROFILE_DIR.glob("*.toml")))
        raise ProfileError(f"no power profile {name_or_path!r} (known: {known})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    # ValueError: TOMLDecodeError, UnicodeDecodeError, and an integer over 4,300 digits
    except ValueError as error:
        raise ProfileError(f"{path}: not valid TOML ({error})") from error
    return parse_profile(raw, path.stem)
