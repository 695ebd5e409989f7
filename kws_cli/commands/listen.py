"""`kws listen`: live detection on the microphone with a live display; Ctrl-C for a summary."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kws.frontend.config import SAMPLE_RATE_HZ
from kws_cli.commands.options import add_noise_floor

MAX_SILENT_READS = 5  # consecutive 1 s timeouts before the device counts as gone


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("listen", help="live detection on the microphone")
    parser.add_argument(
        "--model", type=Path, help="bundle folder or name (kws models; default: hey_jarvis)"
    )
    parser.add_argument("--device", type=int, help="input device index (see --list-devices)")
    parser.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    parser.add_argument(
        "--threshold", type=float, help="detect threshold, 0-1 (overrides the bundle's)"
    )
    add_noise_floor(parser)
    parser.set_defaults(run=run)


@dataclass
class ListenSummary:
    seconds: float = 0.0
    detections: list[tuple[float, str, float]] = field(default_factory=list)
    wakes: int = 0
    dropped_s: float = 0.0
    ended_because: str = "interrupted"
    detector_cpu_s: float = 0.0  # this thread's CPU time inside the cascade

    @property
    def cpu_s_per_hour(self) -> float:
        """The detector's CPU seconds per hour of audio (``kws bench cascade``'s measure)."""
        return self.detector_cpu_s / (self.seconds / 3600) if self.seconds else 0.0

    def lines(self) -> list[str]:
        return [
            f"listened {self.seconds / 60:.2f} min; wakes {self.wakes}; detections "
            f"{len(self.detections)}; audio dropped {self.dropped_s:.2f} s ({self.ended_because}); "
            f"detector CPU {self.cpu_s_per_hour:.2f} s per hour of audio",
            *[f"  {t:8.2f} s  {k}  score {s:.6f}" for t, k, s in self.detections],
        ]


def listen_loop(
    cascade: Any,
    source: Any,
    on_update: Callable[[Any, float, ListenSummary], None],
    should_stop: Callable[[], bool] = lambda: False,
) -> ListenSummary:
    """Pump blocks from ``source`` through ``cascade`` until ``should_stop``, the source ends
    (returns None ``MAX_SILENT_READS`` times in a row: the device is gone) or Ctrl-C."""
    summary = ListenSummary()
    silent_reads = 0
    try:
        while not should_stop():
            block = source.read(1.0)
            if block is None:
                silent_reads += 1
                if silent_reads >= MAX_SILENT_READS:
                    summary.ended_because = "input device stopped delivering audio"
                    break
                continue
            silent_reads = 0
            summary.seconds += block.size / SAMPLE_RATE_HZ
            started = time.thread_time()
            detections = cascade.process(block)
            summary.detector_cpu_s += time.thread_time() - started
            for detection in detections:
                summary.detections.append((detection.time_s, detection.keyword, detection.score))
            level_db = 20 * np.log10(max(1.0, float(np.abs(block).max())) / 32768)
            summary.wakes = cascade.counters.wakes
            summary.dropped_s = source.stats.dropped_s
            on_update(cascade, level_db, summary)
        else:
            summary.ended_because = "stopped"
    except KeyboardInterrupt:
        summary.ended_because = "interrupted"
    summary.dropped_s = source.stats.dropped_s
    return summary


def print_summary(console: Any, summary: ListenSummary) -> None:
    """The summary lines, as plain text: a keyword like "[/b]" is not rich markup."""
    for line in summary.lines():
        console.print(line, markup=False)


def render_status(cascade: Any, level_db: float, summary: ListenSummary) -> Any:
    from rich.markup import escape
    from rich.table import Table

    keyword = escape(cascade.keyword)  # shown as text, not read as rich markup
    table = Table(title=f"kws listen — '{keyword}'  (Ctrl-C to stop)", show_header=False)
    bar = "█" * int(max(0.0, (level_db + 60) / 60) * 30)
    table.add_row("input level", f"{level_db:6.1f} dBFS {bar}")
    table.add_row(
        "tiny score", f"{cascade.last_tiny_score:.3f} (wake ≥ {cascade.thresholds.wake:g})"
    )
    table.add_row(
        "full score", f"{cascade.last_full_score:.6f} (detect ≥ {cascade.thresholds.detect:g})"
    )
    table.add_row("state", "AWAKE (full model)" if cascade.awake else "listening (tiny model)")
    table.add_row("wakes / detections", f"{summary.wakes} / {len(summary.detections)}")
    table.add_row("audio dropped", f"{summary.dropped_s:.2f} s")
    for t, _, score in summary.detections[-5:]:
        table.add_row("detection", f"{t:8.2f} s  {keyword}  {score:.6f}")
    return table


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live

    from kws.defaults import resolve_bundle
    from kws.errors import DeviceError
    from kws.loading import load_cascade
    from kws.microphone import MicrophoneSource, list_input_devices
    from kws.thresholds import check_threshold
    from kws_cli.fast_start import skip_numba_blas_check

    skip_numba_blas_check()
    if args.threshold is not None:
        check_threshold("detect", args.threshold, "--threshold")
    console = Console()
    if args.list_devices:
        devices = list_input_devices()
        if not devices:
            raise DeviceError("no audio input device found")
        for index, name, channels in devices:
            console.print(f"{index:3d}  {name}  ({channels} in)")
        return 0
    cascade = load_cascade(
        resolve_bundle(args.model), detect=args.threshold, noise_floor_dbfs=args.noise_floor
    )
    if not list_input_devices():
        raise DeviceError("no audio input device found (is a microphone connected?)")
    started = time.monotonic()
    with (
        MicrophoneSource(args.device) as source,
        Live(console=console, refresh_per_second=10) as live,
    ):
        summary = listen_loop(
            cascade, source, lambda c, level, s: live.update(render_status(c, level, s))
        )
    print_summary(console, summary)
    console.print(f"(wall time {time.monotonic() - started:.1f} s)")
    return 0
