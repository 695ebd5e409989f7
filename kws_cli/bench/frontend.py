"""`kws bench frontend`: kws's fixed-point frontend against the TFLM C++ frontend and librosa.

All rows run on the same generated audio (speech-like signal over noise, ``kws.frontend.signals``)
in one process: kws streaming (10 ms chunks), kws batch, pymicro-features streaming (the TFLM
C++ frontend behind a Python binding, 10 ms chunks) and a librosa log-mel (batch, float). Every
kernel is warmed up first; each figure is the median of ``--repeats`` runs. The cold start (Numba
compiling the kernel with an empty cache) is measured in a subprocess with a fresh cache folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from kws.errors import KwsError

HOP_SAMPLES = 160
_COLD_START_SCRIPT = (
    "import time\n"
    "start = time.perf_counter()\n"
    "import numpy as np\n"
    "from kws.frontend import compute_features\n"
    "compute_features(np.zeros(16000, dtype=np.int16))\n"
    "print(time.perf_counter() - start)\n"
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "frontend",
        help="frontend speed and agreement vs the TFLM C++ frontend (pymicro-features) and librosa",
        description=__doc__,
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="seconds of generated audio (default 60)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per row (default 5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run_target=run)


def _median_seconds(action: Callable[[], object], repeats: int) -> float:
    action()  # warm-up: JIT, caches, allocator
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def _cold_start_seconds() -> float:
    """Import + first call of the batch kernel in a fresh interpreter with an empty Numba cache."""
    with tempfile.TemporaryDirectory(prefix="kws-numba-cache-") as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
        result = subprocess.run(
            [sys.executable, "-c", _COLD_START_SCRIPT],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"cold-start subprocess failed: {result.stderr.strip()}")
    return float(result.stdout.strip().splitlines()[-1])


def machine_name() -> str:
    """CPU model as /proc/cpuinfo names it (``lscpu``'s "Model name"), else the platform's."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure(seconds: float, repeats: int) -> dict[str, Any]:
    """Run every row and return the JSON-ready figures (keys as documented in README)."""
    try:
        from pymicro_features import MicroFrontend
    except ImportError as error:
        raise KwsError(
            "pymicro-features (the reference TFLM frontend) is not installed; "
            "install the dev extra: pip install -e '.[dev]'"
        ) from error
    import librosa
    import numpy as np

    from kws.frontend import FEATURE_SCALE, Frontend, FrontendConfig, compute_features
    from kws.frontend.signals import bench_pcm

    if seconds < 1.0:
        raise KwsError(f"--seconds must be at least 1 (got {seconds})")
    if repeats < 1:
        raise KwsError(f"--repeats must be at least 1 (got {repeats})")

    config = FrontendConfig()
    pcm = bench_pcm(seconds)
    audio_s = pcm.shape[0] / config.sample_rate_hz
    chunks = [pcm[i : i + HOP_SAMPLES] for i in range(0, pcm.shape[0], HOP_SAMPLES)]
    # The reference takes bytes; converting outside the timed loop favours it, not us.
    chunk_bytes = [chunk.tobytes() for chunk in chunks if chunk.shape[0] == HOP_SAMPLES]

    def kws_stream() -> None:
        frontend = Frontend(config)
        for chunk in chunks:
            frontend.process(chunk)

    def kws_batch() -> None:
        compute_features(pcm, config)

    def tflm_stream() -> None:
        # Like kws_stream, the frames are produced and dropped (no collecting in the timing).
        frontend = MicroFrontend()
        for chunk in chunk_bytes:
            frontend.process_samples(chunk)

    def tflm_features() -> list[list[float]]:
        frontend = MicroFrontend()
        frames = []
        for chunk in chunk_bytes:
            output = frontend.process_samples(chunk)
            if output.features:
                frames.append(output.features)
        return frames

    pcm_float = pcm.astype(np.float32) / 32768.0

    def librosa_logmel() -> None:
        mel = librosa.feature.melspectrogram(
            y=pcm_float,
            sr=config.sample_rate_hz,
            n_fft=config.fft_size,
            win_length=config.window_samples,
            hop_length=config.hop_samples,
            n_mels=config.num_channels,
            fmin=config.lower_band_hz,
            fmax=config.upper_band_hz,
            center=False,
        )
        librosa.power_to_db(mel)

    n_hops = max((pcm.shape[0] - config.window_samples) // config.hop_samples + 1, 1)
    # Row by row, librosa last: its BLAS worker threads keep spinning after each call and would
    # steal a core from whatever runs next (interleaving the rows made every other row slower).
    timings = {
        ("kws", "streaming (10 ms chunks)"): _median_seconds(kws_stream, repeats),
        ("kws", "batch"): _median_seconds(kws_batch, repeats),
        ("pymicro-features (TFLM C++)", "streaming (10 ms chunks)"): _median_seconds(
            tflm_stream, repeats
        ),
        ("librosa log-mel (float)", "batch"): _median_seconds(librosa_logmel, repeats),
    }
    tflm_s = timings[("pymicro-features (TFLM C++)", "streaming (10 ms chunks)")]
    rows = [
        {
            "name": name,
            "mode": mode,
            "us_per_hop": round(elapsed_s / n_hops * 1e6, 3),
            "rtf": round(elapsed_s / audio_s, 6),
            "ratio_vs_tflm": round(elapsed_s / tflm_s, 3),
        }
        for (name, mode), elapsed_s in timings.items()
    ]

    ours = compute_features(pcm, config).astype(np.int64)
    reference = np.rint(np.array(tflm_features(), dtype=np.float64) / FEATURE_SCALE).astype(
        np.int64
    )
    frames = min(ours.shape[0], reference.shape[0])
    difference = np.abs(ours[:frames] - reference[:frames])
    agreement = {
        "mean_abs": round(float(difference.mean()), 4) if difference.size else 0.0,
        "p99_abs": round(float(np.percentile(difference, 99)), 4) if difference.size else 0.0,
    }
    return {
        "audio_s": round(audio_s, 3),
        "rows": rows,
        "agreement_vs_tflm": agreement,
        "cold_start_s": round(_cold_start_seconds(), 3),
    }


def _print_table(figures: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"Frontend on {figures['audio_s']:.0f} s of generated audio "
        "(40 ch, 30 ms window, 10 ms hop)"
    )
    for header in ("frontend", "mode", "µs per 10 ms hop", "real-time factor", "× TFLM time"):
        table.add_column(header, justify="left" if header in ("frontend", "mode") else "right")
    for row in figures["rows"]:
        table.add_row(
            row["name"],
            row["mode"],
            f"{row['us_per_hop']:.2f}",
            f"{row['rtf']:.5f}",
            f"{row['ratio_vs_tflm']:.2f}",
        )
    console = Console(width=max(Console().width, 100))
    console.print(table)
    agreement = figures["agreement_vs_tflm"]
    console.print(
        f"Agreement with TFLM (uint16 feature units): mean |diff| {agreement['mean_abs']}, "
        f"p99 |diff| {agreement['p99_abs']}"
    )
    console.print(f"Cold start (import + Numba compile, empty cache): {figures['cold_start_s']} s")
    console.print(f"Machine: {machine_name()}, Python {platform.python_version()}")


def run(args: argparse.Namespace) -> int:
    figures = measure(args.seconds, args.repeats)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        _print_table(figures)
    return 0
