"""Power profiles: TOML files in ``firmware_sim/power_profiles/`` (package data, so an installed
wheel has them) describing a device's battery, MCU, microphone and memory. Loading validates
every key: a missing, negative, non-finite (inf, nan), non-numeric or unknown key is a
``ProfileError`` that names it.

The microphone may also list its power states (``[microphone.states.NAME]``: off, sleep,
low_power, standard, wake_on_sound), each with its current, the PDM clock it needs and the time
to come out of it, and name the state it listens in (``listen_state``, default ``standard``).
A profile without states listens in one state drawing ``current_ma``, as before.
"""

from __future__ import annotations

import math
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
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


# The microphone's power states, from least to most current for a typical PDM part. Only the
# listening states deliver audio; ``wake_on_sound`` watches the acoustic level without a clock
# and raises an interrupt.
MIC_STATES = ("off", "sleep", "wake_on_sound", "low_power", "standard")
LISTEN_STATES = ("low_power", "standard")


@dataclass(frozen=True)
class MicState:
    """One power state of a microphone: ``current_ma`` drawn in it, the PDM clock it needs
    (``clock_max_mhz`` 0: no clock, the MCU's PDM interface may stop), and ``exit_ms``, the time
    from leaving it until the microphone delivers valid audio in its listening state (the samples
    of that time are lost)."""

    current_ma: float
    clock_min_mhz: float
    clock_max_mhz: float
    exit_ms: float

    @property
    def clocked(self) -> bool:
        return self.clock_max_mhz > 0


@dataclass(frozen=True)
class Microphone:
    part: str
    current_ma: float  # in the listening state
    interface_current_ma: float  # the MCU's PDM interface, drawn while the microphone is clocked
    listen_state: str = "standard"
    states: Mapping[str, MicState] = field(default_factory=dict)

    def all_states(self) -> dict[str, MicState]:
        """The stated power states; a profile that states none listens in one state of
        ``current_ma``, clocked at a rate it does not state (0 to infinity MHz)."""
        if self.states:
            return dict(self.states)
        return {self.listen_state: MicState(self.current_ma, 0.0, math.inf, 0.0)}


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


def _section(
    raw: dict[str, Any], name: str, cls: type, optional: tuple[str, ...] = (), label: str = ""
) -> Any:
    """``raw[name]`` as ``cls``, every number checked; ``optional`` fields are not read here;
    errors name the key under ``label`` (default ``name``)."""
    label = label or name
    values = raw.get(name)
    if not isinstance(values, dict):
        raise ProfileError(f"missing section [{label}]")
    expected = {f.name: f.type for f in fields(cls) if f.name not in optional}
    for key in values:
        if key not in expected and key not in optional:
            raise ProfileError(f"unknown key {label}.{key}")
    converted: dict[str, Any] = {}
    for key, kind in expected.items():
        if key not in values:
            raise ProfileError(f"missing key {label}.{key}")
        value = values[key]
        if kind == "str":
            if not isinstance(value, str):
                raise ProfileError(f"{label}.{key} must be text")
            converted[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ProfileError(f"{label}.{key} must be a number, got {value!r}")
        if isinstance(value, int) and abs(value) > sys.float_info.max:  # float() would overflow
            raise ProfileError(f"{label}.{key} is too large ({len(str(value))} digits)")
        if not math.isfinite(value):
            raise ProfileError(f"{label}.{key} must be a finite number, got {value}")
        if value < 0:
            raise ProfileError(f"{label}.{key} must not be negative, got {value}")
        if kind == "int" and value != int(value):
            raise ProfileError(f"{label}.{key} must be a whole number, got {value}")
        converted[key] = int(value) if kind == "int" else float(value)
    return cls(**converted)


def parse_mic_states(
    values: dict[str, Any], current_ma: float | None
) -> tuple[str, dict[str, MicState]]:
    """``listen_state`` and ``states`` of a ``[microphone]`` table, validated: known state names,
    the listening state among them and clocked, ``clock_min_mhz <= clock_max_mhz``, and
    ``current_ma`` (when given) equal to the listening state's current.

    Raises:
        ProfileError: naming the bad key.
    """
    listen_state = values.get("listen_state", "standard")
    if listen_state not in LISTEN_STATES:
        raise ProfileError(
            f"microphone.listen_state must be one of {', '.join(LISTEN_STATES)} (the states that "
            f"deliver audio), got {listen_state!r}"
        )
    raw_states = values.get("states", {})
    if not isinstance(raw_states, dict):
        raise ProfileError("microphone.states must be a table of [microphone.states.NAME]")
    states: dict[str, MicState] = {}
    for name in raw_states:
        label = f"microphone.states.{name}"
        if name not in MIC_STATES:
            raise ProfileError(f"unknown microphone state {label} (one of {', '.join(MIC_STATES)})")
        state: MicState = _section(raw_states, name, MicState, label=label)
        if state.clock_min_mhz > state.clock_max_mhz:
            raise ProfileError(
                f"{label}.clock_min_mhz ({state.clock_min_mhz}) is above clock_max_mhz "
                f"({state.clock_max_mhz})"
            )
        states[name] = state
    if states:
        if listen_state not in states:
            raise ProfileError(
                f"microphone.listen_state {listen_state!r} is not among microphone.states "
                f"({', '.join(states)})"
            )
        listening = states[listen_state]
        if not listening.clocked:
            raise ProfileError(
                f"microphone.states.{listen_state}.clock_max_mhz must be positive: a PDM "
                "microphone delivers audio only while clocked"
            )
        if current_ma is not None and not math.isclose(current_ma, listening.current_ma):
            raise ProfileError(
                f"microphone.current_ma ({current_ma}) differs from microphone.states."
                f"{listen_state}.current_ma ({listening.current_ma}); they are the same figure"
            )
    return listen_state, states


def parse_profile(raw: dict[str, Any], source: str = "profile") -> Profile:
    """Validate a profile's TOML content. Raises ``ProfileError`` naming the bad key."""
    try:
        for key in raw:
            if key not in ("name", "description", *_SECTIONS):
                raise ProfileError(f"unknown key {key}")
        sections = {
            name: _section(raw, name, cls, ("listen_state", "states") if cls is Microphone else ())
            for name, cls in _SECTIONS.items()
        }
        microphone: Microphone = sections["microphone"]
        listen_state, states = parse_mic_states(raw["microphone"], microphone.current_ma)
        sections["microphone"] = replace(microphone, listen_state=listen_state, states=states)
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


def read_named_toml(
    name_or_path: str | Path, folder: Path, what: str
) -> tuple[dict[str, Any], str]:
    """The table of a TOML file named ``name`` in ``folder`` (or at a path), and its stem.

    Raises:
        ProfileError: no such file ("no <what> ..." with the known names), or not valid TOML.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = folder / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.toml")))
        raise ProfileError(f"no {what} {name_or_path!r} (known: {known})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    # ValueError: TOMLDecodeError, UnicodeDecodeError, and an integer over 4,300 digits
    except ValueError as error:
        raise ProfileError(f"{path}: not valid TOML ({error})") from error
    return raw, path.stem


def load_profile(name_or_path: str | Path) -> Profile:
    """A profile by name (``smartwatch_300mah``, looked up in ``PROFILE_DIR``) or TOML path."""
    raw, name = read_named_toml(name_or_path, PROFILE_DIR, "power profile")
    return parse_profile(raw, name)
