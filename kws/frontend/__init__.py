"""Fixed-point feature frontend compatible with the TensorFlow Lite Micro audio frontend.

int16 PCM at 16 kHz in, uint16 feature frames out (40 channels every 10 ms by default), through
window -> FFT -> filterbank -> noise reduction -> PCAN -> log scale, one module per stage.

The Numba stages load when ``Frontend``, ``compute_features`` or ``validate_pcm`` is first
used, so what needs only the configuration and its timing (``kws.metrics``, ``kws models``)
does not pay Numba's import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kws.frontend.config import FEATURE_SCALE, HOP_S, SAMPLE_RATE_HZ, FrontendConfig

if TYPE_CHECKING:
    from kws.frontend.streaming import Frontend, compute_features, validate_pcm

__all__ = [
    "FEATURE_SCALE",
    "HOP_S",
    "SAMPLE_RATE_HZ",
    "Frontend",
    "FrontendConfig",
    "compute_features",
    "validate_pcm",
]
_STREAMING_NAMES = ("Frontend", "compute_features", "validate_pcm")


def __getattr__(name: str) -> Any:
    if name in _STREAMING_NAMES:
        from kws.frontend import streaming

        return getattr(streaming, name)
    raise AttributeError(f"module 'kws.frontend' has no attribute {name!r}")
