"""The one counting rule (``kws.metrics``): firings with a refractory time, per hour, FRR; and
that importing it costs neither Numba nor LiteRT."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from kws import metrics


def test_each_firing_counts_once_then_the_refractory_time_is_deaf() -> None:
    scores = np.zeros(100, np.float32)
    scores[[0, 5, 24, 25, 60, 61]] = 0.9  # stride 3 hops: 0.75 s = 75 hops = 25 steps deaf
    assert metrics.firings(scores, 0.5, stride_hops=3) == 3  # steps 0, 25, 60
    assert metrics.firings(scores, 0.9, stride_hops=3) == 3  # at the threshold fires
    assert metrics.firings(scores, 0.95, stride_hops=3) == 0
    assert metrics.firings(scores, 0.5, stride_hops=3, refractory_s=1.0) == 2  # 34 steps: 0, 60
    assert metrics.firings(scores, 0.5, stride_hops=1, refractory_s=0.0) == 6


def test_the_refractory_time_is_the_runtimes_hop_count() -> None:
    assert metrics.deaf_hops(metrics.REFRACTORY_S) == 75  # ANCHORS: 75 slices of 10 ms
    assert metrics.deaf_hops(1.0) == 100


def test_per_hour_and_false_reject_rate() -> None:
    assert metrics.per_hour(3, 1800.0) == 6.0
    assert metrics.false_reject_rate(np.array([True, False, True, True])) == 0.25
    assert metrics.false_reject_rate(np.zeros(0, bool)) == 1.0
    with pytest.raises(ValueError, match="positive duration"):
        metrics.per_hour(1, 0.0)
    with pytest.raises(ValueError, match="stride_hops"):
        metrics.firings(np.ones(3), 0.5, stride_hops=0)


def test_importing_the_metrics_loads_neither_numba_nor_litert() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, kws.metrics; "
            "print(sorted(m for m in ('numba', 'ai_edge_litert', 'tensorflow') "
            "if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"
