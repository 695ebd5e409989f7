"""`kws bench cascade`: CPU seconds per hour of audio, kws cascade against microWakeWord.

One run, the same generated audio (the firmware simulator's office scenario: speech 35% of the
time, the keyword 12 times an hour), streamed in the same chunks to every row (default 30 ms,
one model stride, what a device's audio DMA delivers; ``--chunk-ms 10`` for 10 ms): the kws cascade
(tiny always on, full when woken), kws with the full model always on, and pymicro-wakeword's
hey_jarvis model (its own TFLM frontend + LiteRT C library). Each row includes its frontend.
CPU time is process time of this single-threaded loop; lower is better.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from kws.bench.frontend import machine_name
from kws.errors import KwsError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cascade", help="CPU per hour of audio vs pymicro-wakeword", description=__doc__
    )
    parser.add_argument("--minutes", type=float, default=60.0, help="audio length (default 60)")
    parser.add_argument("--model", type=Path, help="bundle folder or name (default hey_jarvis)")
    parser.add_argument(
        "--chunk-ms", type=int, default=30, help="audio chunk per call (default 30)"
    )
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run_target=run)


def _cpu_seconds(process_chunk: Any, pcm: np.ndarray, chunk_samples: int) -> float:
    start = time.process_time()
    for offset in range(0, pcm.size, chunk_samples):
        process_chunk(pcm[offset : offset + chunk_samples])
    return time.process_time() - start


def measure(minutes: float, model_dir: Path, chunk_ms: int = 30) -> dict[str, Any]:
    try:
        import pymicro_wakeword
    except ImportError as error:
        raise KwsError(
            "the cascade bench races pymicro-wakeword: pip install 'kws[dev]'"
        ) from error
    from firmware_sim.scenarios import generate, get_scenario
    from kws.cascade import load_cascade

    cascade = load_cascade(model_dir)
    baseline = load_cascade(model_dir, full_only=True)
    pcm = np.concatenate(
        [c for c, _ in generate(get_scenario("office"), cascade.keyword, minutes, 1)]
    )
    hours = pcm.size / 16000 / 3600
    warm = pcm[:16000]
    mww = pymicro_wakeword.MicroWakeWord.from_builtin(pymicro_wakeword.Model.HEY_JARVIS)
    features = pymicro_wakeword.MicroWakeWordFeatures()

    def mww_chunk(chunk: np.ndarray) -> None:
        for frame in features.process_streaming(chunk.tobytes()):
            mww.process_streaming(frame)

    rows: list[dict[str, Any]] = []
    for name, runner, target in (
        ("kws cascade", cascade.process, cascade),
        ("kws full always on", baseline.process, baseline),
        ("pymicro-wakeword hey_jarvis", mww_chunk, None),
    ):
        _cpu_seconds(runner, warm, chunk_ms * 16)  # warm-up: JIT, interpreter allocation
        if target is not None:
            target.reset()
        cpu_s = _cpu_seconds(runner, pcm, chunk_ms * 16)
        rows.append(
            {"name": name, "cpu_s": round(cpu_s, 3), "cpu_s_per_hour": round(cpu_s / hours, 3)}
        )
    reference = rows[-1]["cpu_s_per_hour"]
    for row in rows:
        row["ratio_vs_microwakeword"] = round(row["cpu_s_per_hour"] / reference, 3)
    return {
        "audio_s": round(pcm.size / 16000, 1),
        "chunk_ms": chunk_ms,
        "rows": rows,
        "cascade_counters": cascade.counters.as_dict(),
        "machine": f"{machine_name()}, Python {platform.python_version()}",
    }


def run(args: argparse.Namespace) -> int:
    from kws.defaults import resolve_bundle

    if args.minutes <= 0 or args.chunk_ms <= 0:
        raise KwsError("--minutes and --chunk-ms must be positive")
    figures = measure(args.minutes, resolve_bundle(args.model), args.chunk_ms)
    if args.json:
        print(json.dumps(figures))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"CPU per hour of audio ({figures['audio_s'] / 60:.1f} min of office scenario, "
        f"{figures['chunk_ms']} ms chunks)"
    )
    for column in ("detector", "CPU s", "CPU s per hour", "x pymicro-wakeword"):
        table.add_column(column, justify="right" if column != "detector" else "left")
    for row in figures["rows"]:
        table.add_row(
            row["name"],
            f"{row['cpu_s']:.2f}",
            f"{row['cpu_s_per_hour']:.1f}",
            f"{row['ratio_vs_microwakeword']:.2f}",
        )
    console = Console()
    console.print(table)
    console.print(f"cascade: {figures['cascade_counters']}")
    console.print(f"Machine: {figures['machine']}")
    return 0
