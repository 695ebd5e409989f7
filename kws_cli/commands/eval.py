"""`kws eval`: false rejects and false accepts per hour of a bundle on any labelled folder.

DATA_DIR holds ``positives/`` and ``negatives/`` subfolders of audio files (``positive/`` and
``negative/`` too, any case), or is a Google Speech Commands-style folder (a folder per word; the
folder named like the keyword, with spaces, underscores, hyphens or nothing between its words,
is positive, the rest and ``_background_noise_`` negative). The layout it read, and how many
files it took as keyword clips and as other audio, goes to stderr before the evaluation and into
the result. A word-folder layout without the keyword's folder is refused: reading every clip as
a negative would report the keyword's detections as false accepts.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kws.paths import printable
from kws_cli.commands.options import add_noise_floor

POSITIVE_FOLDER_NAMES = ("positives", "positive")
NEGATIVE_FOLDER_NAMES = ("negatives", "negative")
LABELLED_LAYOUT = "positives/negatives folders"
WORD_FOLDER_LAYOUT = "Speech Commands word folders"
FOUND_FOLDERS_SHOWN = 8  # how many of the folders found a refusal names


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure a bundle on a labelled audio folder",
        description="False rejects on keyword clips and false accepts per hour on other audio. "
        "DATA_DIR holds positives/ and negatives/ (or positive/, negative/), or a folder per "
        "word, Speech Commands style, one of them named like the keyword.",
    )
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    parser.add_argument(
        "--model",
        type=Path,
        help="bundle folder, bundle name (kws models) or microWakeWord .json (default: hey_jarvis)",
    )
    parser.add_argument(
        "--threshold", type=float, help="detect threshold, 0-1 (overrides the bundle's)"
    )
    add_noise_floor(parser)
    parser.add_argument("--no-cascade", action="store_true", help="full model on every step")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class Layout:
    """How DATA_DIR was read: which files are keyword clips (positives) and which are not."""

    name: str  # LABELLED_LAYOUT or WORD_FOLDER_LAYOUT
    positives: tuple[Path, ...]
    negatives: tuple[Path, ...]
    positive_folders: tuple[str, ...]
    negative_folders: tuple[str, ...]
    ignored_folders: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line: the layout, and how many files each side took from which folders."""

        def side(count: int, kind: str, folders: tuple[str, ...]) -> str:
            plural = "" if count == 1 else "s"
            if len(folders) > 3:
                return f"{count} {kind} file{plural} from {len(folders)} folders"
            return f"{count} {kind} file{plural} from {', '.join(f'{f}/' for f in folders) or '-'}"

        line = (
            f"{self.name}: {side(len(self.positives), 'keyword', self.positive_folders)}, "
            f"{side(len(self.negatives), 'other', self.negative_folders)}"
        )
        if self.ignored_folders:
            line += f"; ignored: {', '.join(f'{f}/' for f in self.ignored_folders)}"
        return line


def _layout(name: str, positive: list[Path], negative: list[Path], ignored: list[Path]) -> Layout:
    from kws.audio import audio_files

    return Layout(
        name,
        positives=tuple(p for folder in positive for p in audio_files(folder)),
        negatives=tuple(p for folder in negative for p in audio_files(folder)),
        positive_folders=tuple(printable(f.name) for f in positive),
        negative_folders=tuple(printable(f.name) for f in negative),
        ignored_folders=tuple(printable(f.name) for f in ignored),
    )


def read_layout(data_dir: Path, keyword: str) -> Layout:
    """Sort DATA_DIR's audio files into positives and negatives (see the module docstring).

    Raises:
        KwsError: DATA_DIR is not a folder, has no audio, or is a word-folder layout without a
            folder named like the keyword.
    """
    from kws.audio import is_keyword_folder, keyword_folder_spellings
    from kws.errors import KwsError

    if not data_dir.is_dir():
        raise KwsError(f"{printable(data_dir)} is not a folder")
    folders = sorted(p for p in data_dir.iterdir() if p.is_dir())
    positive = [f for f in folders if f.name.lower() in POSITIVE_FOLDER_NAMES]
    negative = [f for f in folders if f.name.lower() in NEGATIVE_FOLDER_NAMES]
    if positive or negative:
        ignored = [f for f in folders if f not in positive + negative]
        layout = _layout(LABELLED_LAYOUT, positive, negative, ignored)
    else:
        spellings = keyword_folder_spellings(keyword)
        positive = [f for f in folders if is_keyword_folder(f.name, keyword)]
        if not positive:
            shown = folders[:FOUND_FOLDERS_SHOWN]
            found = ", ".join(printable(f.name) for f in shown) or "no folders"
            hidden = len(folders) - FOUND_FOLDERS_SHOWN
            more = f" and {hidden} more" if hidden > 0 else ""
            raise KwsError(
                f"{printable(data_dir)} has no folder named like the keyword '{keyword}' "
                f"(looked for {', '.join(spellings)}, any case) and no positives/ or negatives/ "
                f"folder; found {found}{more}"
            )
        negative = [f for f in folders if f not in positive]
        layout = _layout(WORD_FOLDER_LAYOUT, positive, negative, [])
    if not layout.positives and not layout.negatives:
        raise KwsError(f"{printable(data_dir)} has no audio files in {layout.describe()}")
    return layout


def _detections_and_seconds(cascade: Any, path: Path) -> tuple[int, float]:
    """Detections in one file and its length in seconds; its reader's warnings to stderr.

    Raises:
        AudioError: the file cannot be read.
    """
    from kws.audio import iter_audio_chunks
    from kws.frontend.config import SAMPLE_RATE_HZ

    cascade.reset()
    detections = samples = 0
    for pcm, warnings in iter_audio_chunks(path):
        for warning in warnings:
            print(f"kws eval: warning: {warning}", file=sys.stderr, flush=True)
        detections += len(cascade.process(pcm))
        samples += pcm.size
    return detections, samples / SAMPLE_RATE_HZ


def evaluate_folder(cascade: Any, layout: Layout) -> dict[str, Any]:
    """FRR over the positives, false accepts per hour over the negatives, and the layout.

    A file that cannot be read is skipped with one warning line naming it, and listed under
    ``skipped``; the others are still measured.
    """
    import numpy as np

    from kws import metrics
    from kws.errors import AudioError

    skipped: list[dict[str, str]] = []

    def measured(paths: tuple[Path, ...]) -> list[tuple[int, float]]:
        results = []
        for path in paths:
            try:
                results.append(_detections_and_seconds(cascade, path))
            except AudioError as error:
                print(f"kws eval: warning: skipped {error}", file=sys.stderr, flush=True)
                skipped.append({"file": printable(path), "reason": str(error)})
        return results

    positives = measured(layout.positives)
    negatives = measured(layout.negatives)
    fired = np.array([detections > 0 for detections, _ in positives], dtype=bool)
    false_accepts = sum(detections for detections, _ in negatives)
    seconds = sum(seconds for _, seconds in negatives)
    return {
        "positives": len(positives),
        "detected": int(fired.sum()),
        "frr": round(metrics.false_reject_rate(fired), 4) if positives else None,
        "negatives": len(negatives),
        "negative_hours": round(seconds / 3600, 4),
        "false_accepts": false_accepts,
        "fa_per_hour": round(metrics.per_hour(false_accepts, seconds), 3) if seconds > 0 else None,
        "thresholds": cascade.thresholds.__dict__,
        "layout": layout.name,
        "positive_folders": list(layout.positive_folders),
        "negative_folders": list(layout.negative_folders),
        "ignored_folders": list(layout.ignored_folders),
        "skipped": skipped,
    }


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from kws.defaults import resolve_bundle
    from kws.loading import load_cascade
    from kws.thresholds import check_threshold

    if args.threshold is not None:
        check_threshold("detect", args.threshold, "--threshold")
    cascade = load_cascade(
        resolve_bundle(args.model),
        full_only=args.no_cascade,
        detect=args.threshold,
        noise_floor_dbfs=args.noise_floor,
    )
    layout = read_layout(args.data_dir, cascade.keyword)
    data_dir = printable(args.data_dir)
    print(f"kws eval: read {data_dir} as {layout.describe()}", file=sys.stderr, flush=True)
    result = evaluate_folder(cascade, layout)
    if args.json:
        print(json.dumps(result))
        return 0
    console = Console(highlight=False, soft_wrap=True)  # a path is never broken over lines
    console.print(f"keyword '{cascade.keyword}' on {data_dir}", markup=False)
    console.print(f"  read as {layout.describe()}", markup=False)
    console.print(
        f"  false rejects: {result['frr']} ({result['detected']}/{result['positives']} "
        "positives detected)"
    )
    console.print(
        f"  false accepts: {result['false_accepts']} in {result['negative_hours']} h "
        f"= {result['fa_per_hour']} per hour"
    )
    if result["skipped"]:
        count = len(result["skipped"])
        names = ", ".join(skip["file"] for skip in result["skipped"])
        console.print(
            f"  skipped {count} unreadable file{'' if count == 1 else 's'}: {names}", markup=False
        )
    return 0
