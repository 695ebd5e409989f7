"""The frontend's one configuration: a frozen dataclass with a stable hash.

Defaults are the TensorFlow Lite Micro audio frontend as microWakeWord (and ``pymicro-features``)
run it: 30 ms window, 10 ms hop, 40 channels over 125-7500 Hz, noise reduction, PCAN on, log
scale shift 6. Bundles record ``to_dict()`` and ``hash()``; a bundle whose hash differs from the
runtime's is refused, so every field that changes the features must be in the hash.

The configuration is fixed for bundles: training, the cascade (``Cascade`` builds ``Frontend()``
and a ring of its ``num_channels``) and the bundle loader use the defaults only. The other
settings serve the frontend on its own (``Frontend(config)``, ``compute_features``), its tests
against TFLM's own configurations and the benchmarks; making them reach a bundle would need the
cascade, the C export and training to take the bundle's configuration.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kws.errors import FrontendConfigError

# Models read features as ``uint16 * FEATURE_SCALE`` (microWakeWord's convention, = 1/25.6).
FEATURE_SCALE = 0.0390625

# The frontend cannot run faster than this hop or on a window shorter than this: the fixed-point
# FFT needs at least a few radix-4 stages to keep its scaling meaningful.
MIN_WINDOW_SAMPLES = 16


@dataclass(frozen=True)
class FrontendConfig:
    """Every setting that changes the feature values, with TFLM/microWakeWord defaults.

    Fractions (``even_smoothing`` ...) are floats as in the TFLM config; they are quantized to
    fixed point exactly the way TFLM does (float32, truncation) when the tables are built.
    """

    sample_rate_hz: int = 16000
    window_ms: int = 30
    hop_ms: int = 10
    num_channels: int = 40
    lower_band_hz: float = 125.0
    upper_band_hz: float = 7500.0
    noise_reduction: bool = True
    smoothing_bits: int = 10
    even_smoothing: float = 0.025
    odd_smoothing: float = 0.06
    min_signal_remaining: float = 0.05
    pcan: bool = True
    pcan_strength: float = 0.95
    pcan_offset: float = 80.0
    pcan_gain_bits: int = 21
    log_scale: bool = True
    log_scale_shift: int = 6

    def __post_init__(self) -> None:
        problems = list(_problems(self))
        if problems:
            raise FrontendConfigError("invalid frontend config: " + "; ".join(problems))

    @property
    def window_samples(self) -> int:
        """Samples in one analysis window (TFLM: ``size_ms * rate / 1000``, truncated)."""
        return self.window_ms * self.sample_rate_hz // 1000

    @property
    def hop_samples(self) -> int:
        """Samples between the starts of consecutive windows."""
        return self.hop_ms * self.sample_rate_hz // 1000

    @property
    def fft_size(self) -> int:
        """The power of two at or above the window length (the window is zero-padded to it)."""
        size = 1
        while size < self.window_samples:
            size <<= 1
        return size

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field (what bundles store)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> FrontendConfig:
        """Build a config from ``to_dict()`` output; unknown keys raise ``FrontendConfigError``."""
        known = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise FrontendConfigError(
                f"unknown frontend config key(s) {unknown}; known keys: {sorted(known)}"
            )
        converted: dict[str, Any] = {}
        for name, value in values.items():
            default = known[name].default
            if isinstance(default, bool):
                if not isinstance(value, bool):
                    raise FrontendConfigError(f"frontend config {name!r} must be true or false")
                converted[name] = value
            elif isinstance(default, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise FrontendConfigError(f"frontend config {name!r} must be an integer")
                converted[name] = value
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise FrontendConfigError(f"frontend config {name!r} must be a number")
                converted[name] = float(value)
        return cls(**converted)

    def hash(self) -> str:
        """Stable hex digest (sha256, first 16 hex digits) of the canonical JSON of every field."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _problems(config: FrontendConfig) -> list[str]:
    """Why a config cannot run (empty when it can)."""
    problems = []
    if config.sample_rate_hz <= 0:
        problems.append("sample_rate_hz must be positive")
    elif config.window_samples < MIN_WINDOW_SAMPLES:
        problems.append(f"window_ms must give at least {MIN_WINDOW_SAMPLES} samples")
    elif not 0 < config.hop_samples <= config.window_samples:
        problems.append("hop_ms must be positive and no longer than window_ms")
    if config.num_channels < 1:
        problems.append("num_channels must be at least 1")
    if not 0.0 <= config.lower_band_hz < config.upper_band_hz:
        problems.append("need 0 <= lower_band_hz < upper_band_hz")
    elif config.sample_rate_hz > 0 and config.upper_band_hz >= config.sample_rate_hz / 2:
        problems.append("upper_band_hz must be below half the sample rate")
    if not 0 <= config.smoothing_bits <= 16:
        problems.append("smoothing_bits must be in 0..16")
    for name in ("even_smoothing", "odd_smoothing", "min_signal_remaining"):
        if not 0.0 <= getattr(config, name) < 1.0:
            problems.append(f"{name} must be in [0, 1)")
    if not 0.0 < config.pcan_strength < 4.0:
        problems.append("pcan_strength must be in (0, 4)")
    if config.pcan_offset <= 0.0:
        problems.append("pcan_offset must be positive")
    if not 12 <= config.pcan_gain_bits <= 30:
        problems.append("pcan_gain_bits must be in 12..30")
    if not 0 <= config.log_scale_shift <= 15:
        problems.append("log_scale_shift must be in 0..15")
    return problems


# The timing every kws bundle runs at: the default config's (the bundle loader refuses others).
DEFAULT_CONFIG = FrontendConfig()
SAMPLE_RATE_HZ = DEFAULT_CONFIG.sample_rate_hz
HOP_S = DEFAULT_CONFIG.hop_ms / 1000
