"""Fixed-point feature frontend compatible with the TensorFlow Lite Micro audio frontend.

int16 PCM at 16 kHz in, uint16 feature frames out (40 channels every 10 ms by default), through
window -> FFT -> filterbank -> noise reduction -> PCAN -> log scale, one module per stage.
"""

from __future__ import annotations

from kws.frontend.config import FEATURE_SCALE, FrontendConfig
from kws.frontend.streaming import Frontend, compute_features, validate_pcm

__all__ = ["FEATURE_SCALE", "Frontend", "FrontendConfig", "compute_features", "validate_pcm"]
