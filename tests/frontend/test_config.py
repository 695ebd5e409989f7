"""FrontendConfig: defaults, dict round trip, a stable hash that changes with every field."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from kws.errors import FrontendConfigError
from kws.frontend import FrontendConfig


def test_defaults_are_microwakeword_settings() -> None:
    config = FrontendConfig()
    assert (config.window_samples, config.hop_samples, config.num_channels) == (480, 160, 40)
    assert config.fft_size == 512
    assert (config.lower_band_hz, config.upper_band_hz) == (125.0, 7500.0)
    assert config.noise_reduction and config.pcan and config.log_scale
    assert config.log_scale_shift == 6


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        FrontendConfig().num_channels = 32  # type: ignore[misc]


def test_dict_round_trip_keeps_hash() -> None:
    config = FrontendConfig(num_channels=32, pcan=False, window_ms=25)
    again = FrontendConfig.from_dict(config.to_dict())
    assert again == config
    assert again.hash() == config.hash()


def test_hash_is_stable_across_processes() -> None:
    code = "from kws.frontend.config import FrontendConfig; print(FrontendConfig().hash())"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == FrontendConfig().hash()
    assert len(other) == 16 and int(other, 16) >= 0


def _changed(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    assert isinstance(value, float)
    return value * 0.9


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(FrontendConfig)])
def test_hash_changes_with_every_field(field: str) -> None:
    base = FrontendConfig()
    values = base.to_dict()
    values[field] = _changed(values[field])
    if field == "sample_rate_hz":
        values[field] = 22050
    assert FrontendConfig.from_dict(values).hash() != base.hash()


@pytest.mark.parametrize(
    "changes",
    [
        {"num_channels": 0},
        {"hop_ms": 0},
        {"hop_ms": 40},
        {"lower_band_hz": 8000.0},
        {"upper_band_hz": 9000.0},
        {"even_smoothing": 1.5},
        {"window_ms": 0},
        {"log_scale_shift": 40},
    ],
)
def test_impossible_values_raise(changes: dict[str, object]) -> None:
    with pytest.raises(FrontendConfigError):
        FrontendConfig(**changes)  # type: ignore[arg-type]


def test_from_dict_rejects_unknown_and_mistyped_keys() -> None:
    with pytest.raises(FrontendConfigError, match="unknown"):
        FrontendConfig.from_dict({"num_channel": 40})
    with pytest.raises(FrontendConfigError, match="integer"):
        FrontendConfig.from_dict({"num_channels": 40.5})
    with pytest.raises(FrontendConfigError, match="true or false"):
        FrontendConfig.from_dict({"pcan": 1})
