"""Endless streams: `kws detect -` on a generated stream keeps constant memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np


def test_stdin_detect_reads_raw_pcm(random_bundle: Path) -> None:
    pcm = (
        (np.random.default_rng(0).standard_normal(48001) * 300).astype("<i2").tobytes()[:-1]
    )  # odd byte count
    result = subprocess.run(
        [sys.executable, "-m", "kws", "detect", "--model", str(random_bundle), "--stats", "-"],
        input=pcm,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    counters = json.loads(result.stderr.decode().strip().splitlines()[-1])["counters"]
    assert counters["hops"] == (48000 - 480) // 160 + 1


def test_one_hour_soak_memory_is_flat(random_bundle: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kws",
            "bench",
            "soak",
            "--hours",
            "1",
            "--model",
            str(random_bundle),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["hours"] == 1.0
    rss = report["rss_mb"]
    assert rss["settled_max"] - rss["settled_min"] < 8.0
    assert len(report["samples"]) >= 5
