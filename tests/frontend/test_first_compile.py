"""The first run after an install says that it compiles the frontend; later runs do not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

NOTICE = "compiling the frontend for this machine, once"
SCRIPT = (
    "import numpy as np; from kws.frontend import compute_features; "
    "print(compute_features(np.zeros(1600, np.int16)).shape)"
)


def _run(cache_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True
    )


def test_a_cold_cache_is_announced_once(tmp_path: Path) -> None:
    first = _run(tmp_path)
    assert NOTICE in first.stderr and first.stdout.strip() == "(8, 40)"
    again = _run(tmp_path)
    assert NOTICE not in again.stderr and again.stdout.strip() == "(8, 40)"
