"""What the `kws battery` variants share: progress on stderr, checks of ``--minutes`` and
``--plot`` before simulating, strict JSON, keywords found, the current plot and its writing.
The variants (``battery``, ``battery_gate``, ``battery_discharge``, ``battery_benchmark``) import
this, not each other's command module."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from bisect import bisect_left
from pathlib import Path
from typing import Any

LONG_RUN_S = 15 * 60  # progress on stderr for runs longer than this even when not a terminal
PROGRESS_EVERY_S = {True: 1.0, False: 30.0}  # wall seconds between progress lines, by isatty


class Progress:
    """How much audio is simulated so far, on stderr, never stdout (``--json`` stays clean): on a
    terminal, rewritten in place every second; otherwise a line every 30 s, and only for runs
    longer than ``LONG_RUN_S``, so that a log shows a long run is alive."""

    def __init__(self, planned_s: float | None) -> None:
        self.planned_s = planned_s
        self.tty = sys.stderr.isatty()
        self._last = time.monotonic()
        self._shown = False

    def update(self, seconds: float) -> None:
        if not self.tty and max(seconds, self.planned_s or 0.0) <= LONG_RUN_S:
            return
        now = time.monotonic()
        if now - self._last < PROGRESS_EVERY_S[self.tty]:
            return
        self._last = now
        of = f" of {self.planned_s / 60:.1f}" if self.planned_s else ""
        line = f"kws battery: simulated {seconds / 60:.1f}{of} min of audio"
        print(f"\r{line}" if self.tty else line, end="" if self.tty else "\n", file=sys.stderr)
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self.tty and self._shown:
            print("\r\033[K", end="", file=sys.stderr, flush=True)  # clear the progress line


def check_minutes(minutes: float | None, audio: Path | None) -> None:
    """Raises KwsError: ``--minutes`` not a positive finite number, or given with ``--audio``."""
    from kws.errors import KwsError

    if minutes is None:
        return
    if audio is not None:
        raise KwsError(
            "--minutes sets the length of a generated scenario; with --audio the file sets the "
            "length (cut the file to simulate less)"
        )
    if not (math.isfinite(minutes) and minutes > 0):
        raise KwsError(f"--minutes must be a positive number of minutes, got {minutes}")


def check_plot_path(path: Path) -> None:
    """Refuse, before simulating, a ``--plot`` path that cannot be written: a directory, a
    missing or unwritable folder, a file that cannot be replaced, a format matplotlib cannot
    write (which also keeps a non-image file, ``notes.txt``, from being overwritten).

    Raises:
        KwsError: naming the path and the problem.
    """
    from matplotlib.backend_bases import FigureCanvasBase

    from kws.errors import KwsError

    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = path.suffix.lower().lstrip(".")
    if path.is_dir():
        raise KwsError(f"--plot {path} is a directory; name a file, e.g. {path / 'battery.png'}")
    if suffix and suffix not in formats:
        raise KwsError(
            f"--plot {path}: cannot write .{suffix} images (one of: "
            f"{', '.join(f'.{name}' for name in sorted(formats))})"
        )
    if not path.parent.is_dir():
        raise KwsError(f"--plot {path}: there is no folder {path.parent}")
    if not os.access(path.parent, os.W_OK | os.X_OK) or (
        path.exists() and not os.access(path, os.W_OK)
    ):
        raise KwsError(f"--plot {path}: not writable")


def json_line(value: Any) -> str:
    """``value`` as strict JSON: no ``Infinity`` or ``NaN``, which JSON has not.

    Raises:
        KwsError: a figure is not finite (a power profile's numbers too large).
    """
    from kws.errors import KwsError

    try:
        return json.dumps(value, allow_nan=False)
    except ValueError as error:
        raise KwsError(
            f"the report holds a figure that is not a finite number ({error}); check the power "
            "profile's numbers"
        ) from None


def keywords_found(
    keyword_times: list[float], detections: list[float], tolerance_s: float = 1.5
) -> int:
    """Keywords followed within ``tolerance_s`` by a detection; both lists in time order."""
    found = 0
    for spoken in keyword_times:
        index = bisect_left(detections, spoken)
        found += index < len(detections) and detections[index] - spoken <= tolerance_s
    return found


def plot_result(result: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    series, step_s = result.current_ma_series, result.current_series_step_s
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6))
    top.plot(np.arange(series.size) * step_s, series, lw=0.8)
    top.set_xlabel("time (s)")
    top.set_ylabel(f"current (mA, {step_s:g} s mean)")
    top.set_title(
        f"{result.profile.name}: {result.report.battery_hours:.1f} h on "
        f"{result.profile.battery.capacity_mah:.0f} mAh"
    )
    shares = result.report.energy_share
    bottom.barh(list(shares), [100 * v for v in shares.values()])
    bottom.set_xlabel("share of energy (%)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_plot(draw: Any, path: Path) -> None:
    """Run ``draw(path)``; a write that fails (disk full) is one line, after the report."""
    from kws.errors import KwsError

    try:
        draw(path)
    except OSError as error:
        raise KwsError(f"--plot {path}: {error.strerror or error}") from None
