"""Microphone options: TOML files in ``firmware_sim/microphones/`` (package data) that describe a
microphone's power states, to put on any device profile (``kws battery --microphone NAME``).

An option holds ``part``, ``listen_state`` and ``[microphone.states.NAME]`` tables (see
``firmware_sim.profile.MicState``); the PDM interface current stays the device profile's, since
it is the MCU that draws it. Every number carries a source comment, as in the profiles.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from firmware_sim.profile import Microphone, Profile, parse_mic_states, read_named_toml
from kws.errors import ProfileError

MICROPHONE_DIR = Path(__file__).resolve().parent / "microphones"
_KEYS = ("part", "listen_state", "states")


def parse_microphone(raw: dict[str, Any], source: str = "microphone") -> Microphone:
    """Validate a microphone option's TOML content (its interface current is left 0: it is the
    device's). Raises ``ProfileError`` naming the bad key."""
    try:
        for key in raw:
            if key not in ("name", "description", "microphone"):
                raise ProfileError(f"unknown key {key}")
        values = raw.get("microphone")
        if not isinstance(values, dict):
            raise ProfileError("missing section [microphone]")
        for key in values:
            if key == "interface_current_ma":
                raise ProfileError(
                    "microphone.interface_current_ma belongs to the device profile (the MCU's "
                    "PDM interface draws it), not to a microphone option"
                )
            if key not in _KEYS:
                raise ProfileError(f"unknown key microphone.{key}")
        for key in _KEYS:
            if key not in values:
                raise ProfileError(f"missing key microphone.{key}")
        if not isinstance(values["part"], str):
            raise ProfileError("microphone.part must be text")
        if not values["states"]:
            raise ProfileError("microphone.states must list at least the listening state")
        listen_state, states = parse_mic_states(values, None)
    except ProfileError as error:
        raise ProfileError(f"{source}: {error}") from None
    return Microphone(
        part=values["part"],
        current_ma=states[listen_state].current_ma,
        interface_current_ma=0.0,
        listen_state=listen_state,
        states=states,
    )


def load_microphone(name_or_path: str | Path) -> Microphone:
    """A microphone option by name (``vesper_vm3011``, looked up in ``MICROPHONE_DIR``) or TOML
    path.

    Raises:
        ProfileError: no such option, not valid TOML, or a bad key (named).
    """
    raw, name = read_named_toml(name_or_path, MICROPHONE_DIR, "microphone option")
    return parse_microphone(raw, name)


def with_microphone(profile: Profile, microphone: Microphone) -> Profile:
    """``profile`` with ``microphone`` in place of its own, on the profile's PDM interface."""
    fitted = replace(microphone, interface_current_ma=profile.microphone.interface_current_ma)
    description = f"{profile.description}; microphone replaced by {microphone.part}"
    return replace(profile, microphone=fitted, description=description)
