"""How kws counts: one rule for training's DET curves, `kws eval`, the benches and the simulator.

A detector *fires* when its score reaches the threshold outside its refractory time, then stays
deaf for ``refractory_s``. On audio without the keyword each firing is a false accept; false
accepts per hour are firings divided by the hours of that audio. A keyword clip is a false
reject when the detector, started fresh, never fires in it.

``REFRACTORY_S`` is 0.75 s: the way microWakeWord's ``test.py`` and openWakeWord count (one
false accept per crossing, the next 75 hops ignored; ``../shared/ANCHORS.md``), so figures sit
beside theirs. Bundles kws trains carry it as their ``refractory_s``, and kws counts its peers
with it. The runtime's ``Cascade`` applies the rule hop by hop with each bundle's own
``refractory_s`` (``deaf_hops``); ``firings`` applies it to a score sequence, one score per
stride, which is how training draws a model's DET curve. So a curve's false accepts per hour,
the cascade's figures in a manifest and `kws eval` on the same audio are one count
(``tests/test_metrics.py`` runs them on one stream). Bundles trained before 2026-12-03 (both
shipped ones) carry 1.0 s: their runtime and `kws eval` figures use it, their manifests' model
curves 0.75 s.

Numpy only: importing this loads neither Numba nor LiteRT.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from kws.frontend.config import HOP_S

REFRACTORY_S = 0.75  # deaf time after a firing (75 hops)


def deaf_hops(refractory_s: float) -> int:
    """Hops (``HOP_S`` each) a detector stays deaf after firing."""
    return int(round(refractory_s / HOP_S))


def firings(
    scores: npt.NDArray[np.floating],
    threshold: float,
    stride_hops: int,
    refractory_s: float = REFRACTORY_S,
) -> int:
    """How often a detector scoring ``scores`` (one every ``stride_hops`` hops, from a fresh
    start) fires at ``threshold``: each score at or above it fires unless it falls within
    ``refractory_s`` of the last firing."""
    if stride_hops < 1:
        raise ValueError(f"stride_hops must be at least 1, got {stride_hops}")
    deaf_steps = math.ceil(deaf_hops(refractory_s) / stride_hops)
    count, next_allowed = 0, -1
    for step in np.flatnonzero(np.asarray(scores) >= threshold):
        if step >= next_allowed:
            count += 1
            next_allowed = int(step) + deaf_steps
    return count


def per_hour(count: int, seconds: float) -> float:
    """``count`` events in ``seconds`` of audio (its samples / the sample rate), per hour."""
    if not seconds > 0:
        raise ValueError(f"per_hour needs a positive duration, got {seconds} s")
    return count * 3600.0 / seconds


def false_reject_rate(fired: npt.NDArray[np.bool_]) -> float:
    """Share of keyword clips on which the detector never fired (1.0 for no clips)."""
    return float(1.0 - np.mean(fired)) if np.size(fired) else 1.0
