"""`kws train`: make a bundle (tiny + full QAT INT8 models) for any keyword phrase."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a keyword bundle from a phrase (needs the [train] extra)",
        description="Synthesize speech, train QAT INT8 tiny + full models, evaluate on held-out "
        "voices, and write the bundle atomically.",
    )
    parser.add_argument("--keyword", required=True, help="the phrase, e.g. 'hey nova'")
    parser.add_argument("--out", type=Path, help="bundle folder (default models/<keyword>)")
    parser.add_argument(
        "--quick", action="store_true", help="tiny dataset and few epochs (minutes)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target-fa-per-hour", type=float, default=0.5)
    parser.add_argument("--recordings", type=Path, help="folder of your own keyword recordings")
    parser.add_argument("--negatives", type=Path, help="folder of keyword-free audio")
    parser.add_argument("--speech-commands", type=Path, help="dataset in Speech Commands layout")
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/kws"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from kws.errors import TrainingError

    try:
        from training.pipeline import TrainOptions, train
    except ImportError as error:
        raise TrainingError(
            f"training needs TensorFlow: pip install 'kws[train]' ({error.name} is missing)"
        ) from error
    out = args.out or Path("models") / "_".join(args.keyword.lower().split())
    options = TrainOptions(
        keyword=args.keyword,
        out_dir=out,
        quick=args.quick,
        seed=args.seed,
        target_fa_per_hour=args.target_fa_per_hour,
        cache_dir=args.cache_dir,
        recordings_dir=args.recordings,
        negatives_dir=args.negatives,
        speech_commands_dir=args.speech_commands,
    )
    import signal

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # same clean exit as Ctrl-C: temporary files removed

    signal.signal(signal.SIGTERM, interrupted)
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description:<24}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        bundle = train(options, progress)
    manifest = json.loads((bundle / "manifest.json").read_text())
    evaluation = manifest["evaluation"]
    console.print(f"bundle written: {bundle}")
    console.print(
        json.dumps(
            {
                "cascade": evaluation["cascade_at_shipped_thresholds"],
                "qat_vs_ptq": evaluation["qat_vs_ptq"],
                "wall_time_s": manifest["training"]["wall_time_s"],
            },
            indent=2,
        )
    )
    return 0
