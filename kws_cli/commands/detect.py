"""`kws detect`: find the keyword in audio files, one line (or JSON object) per detection."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kws.paths import printable
from kws_cli.commands.options import add_noise_floor

if TYPE_CHECKING:
    from kws.cascade import Detection


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "detect",
        help="find the keyword in audio files",
        description="Run the cascade over each file (any rate, channels or format soundfile "
        "reads; resampled and down-mixed) and print each detection.",
    )
    parser.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="audio files; '-' reads stdin: raw 16 kHz mono int16 PCM, or a WAV, FLAC, Ogg "
        "or MP3 file",
    )
    parser.add_argument(
        "--model",
        type=Path,
        help="bundle folder, bundle name (kws models) or microWakeWord .json (default: hey_jarvis)",
    )
    parser.add_argument(
        "--threshold", type=float, help="detect threshold, 0-1 (overrides the bundle's)"
    )
    parser.add_argument(
        "--wake-threshold", type=float, help="wake threshold of the tiny model, 0-1"
    )
    parser.add_argument(
        "--no-cascade", action="store_true", help="run the full model on every step"
    )
    add_noise_floor(parser)
    parser.add_argument("--json", action="store_true", help="one JSON object per detection")
    parser.add_argument("--stats", action="store_true", help="print the cascade counters per file")
    parser.set_defaults(run=run)


def _print_detection(path: Path, detection: Detection, as_json: bool) -> None:
    # Flushed one by one: a pipe's reader (or Ctrl-C) must not wait for the end of the input.
    name = printable(path)
    if as_json:
        print(json.dumps({"file": name, **detection.to_dict()}), flush=True)
    else:
        print(
            f"{name}\t{detection.time_s:8.2f} s\t{detection.keyword}\t"
            f"score {detection.score:.6f}\t({detection.stage})",
            flush=True,
        )


def run(args: argparse.Namespace) -> int:
    from kws.audio import iter_audio_chunks
    from kws.defaults import resolve_bundle
    from kws.errors import AudioError
    from kws.loading import load_cascade
    from kws.stdin_audio import stdin_chunks
    from kws.thresholds import check_threshold
    from kws_cli.fast_start import skip_numba_blas_check

    skip_numba_blas_check()
    if args.threshold is not None:
        check_threshold("detect", args.threshold, "--threshold")
    if args.wake_threshold is not None:
        check_threshold("wake", args.wake_threshold, "--wake-threshold")
    cascade = load_cascade(
        resolve_bundle(args.model),
        full_only=args.no_cascade,
        detect=args.threshold,
        wake=args.wake_threshold,
        noise_floor_dbfs=args.noise_floor,
    )
    failures = 0
    for path in args.files:
        cascade.reset()
        chunks = stdin_chunks() if str(path) == "-" else iter_audio_chunks(path)
        try:
            for pcm, warnings in chunks:
                for warning in warnings:
                    print(f"kws detect: warning: {warning}", file=sys.stderr, flush=True)
                for detection in cascade.process(pcm):
                    _print_detection(path, detection, args.json)
        except AudioError as error:
            # One bad file does not stop the others; the exit code says something failed.
            print(f"kws detect: error: {error}", file=sys.stderr)
            failures += 1
            continue
        if args.stats:
            print(
                json.dumps({"file": printable(path), "counters": cascade.counters.as_dict()}),
                file=sys.stderr,
            )
    return 2 if failures else 0
