"""`kws eval`: false rejects and false accepts per hour of a bundle on any labelled folder.

DATA_DIR holds ``positives/`` and ``negatives/`` subfolders of audio files, or is a Google Speech
Commands-style folder (a folder per word; the word matching the keyword is positive, the rest
and ``_background_noise_`` negative).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("eval", help="measure a bundle on a labelled audio folder")
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    parser.add_argument(
        "--model",
        type=Path,
        help="bundle folder or microWakeWord .json (default: models/hey_jarvis)",
    )
    parser.add_argument("--threshold", type=float, help="detect threshold (overrides the bundle's)")
    parser.add_argument("--no-cascade", action="store_true", help="full model on every step")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=run)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)


def labelled_files(data_dir: Path, keyword: str) -> tuple[list[Path], list[Path]]:
    """(positive files, negative files) from either supported layout."""
    from kws.errors import KwsError

    if not data_dir.is_dir():
        raise KwsError(f"{data_dir} is not a folder")
    if (data_dir / "positives").is_dir() or (data_dir / "negatives").is_dir():
        positives = _files(data_dir / "positives") if (data_dir / "positives").is_dir() else []
        negatives = _files(data_dir / "negatives") if (data_dir / "negatives").is_dir() else []
    else:
        target = keyword.lower().replace(" ", "_")
        positives, negatives = [], []
        for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()):
            is_positive = folder.name.lower() in (target, target.replace("_", ""))
            (positives if is_positive else negatives).extend(_files(folder))
    if not positives and not negatives:
        raise KwsError(f"{data_dir} has no audio in positives/, negatives/ or word folders")
    return positives, negatives


def evaluate_folder(cascade: Any, positives: list[Path], negatives: list[Path]) -> dict[str, Any]:
    from kws.audio import iter_audio_chunks

    def detections_in(path: Path) -> int:
        cascade.reset()
        count = 0
        for pcm, _ in iter_audio_chunks(path):
            count += len(cascade.process(pcm))
        return count

    hits = sum(detections_in(p) > 0 for p in positives)
    false_accepts = 0
    negative_s = 0.0
    for path in negatives:
        false_accepts += detections_in(path)
        negative_s += cascade.counters.hops * 0.01
    hours = negative_s / 3600
    return {
        "positives": len(positives),
        "detected": hits,
        "frr": round(1 - hits / len(positives), 4) if positives else None,
        "negatives": len(negatives),
        "negative_hours": round(hours, 4),
        "false_accepts": false_accepts,
        "fa_per_hour": round(false_accepts / hours, 3) if hours > 0 else None,
        "thresholds": cascade.thresholds.__dict__,
    }


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from kws.cascade import load_cascade
    from kws.defaults import default_bundle_dir

    cascade = load_cascade(
        args.model or default_bundle_dir(), full_only=args.no_cascade, detect=args.threshold
    )
    positives, negatives = labelled_files(args.data_dir, cascade.keyword)
    result = evaluate_folder(cascade, positives, negatives)
    if args.json:
        print(json.dumps(result))
    else:
        console = Console()
        console.print(f"keyword '{cascade.keyword}' on {args.data_dir}")
        console.print(
            f"  false rejects: {result['frr']} ({result['detected']}/{result['positives']} "
            "positives detected)"
        )
        console.print(
            f"  false accepts: {result['false_accepts']} in {result['negative_hours']} h "
            f"= {result['fa_per_hour']} per hour"
        )
    return 0
