"""`kws bench TARGET`: side-by-side speed benchmarks against the peers, in one run.

Each target lives in ``kws_cli.bench.<target>`` with ``register(subparsers)`` and ``run(args)``.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

BENCH_TARGETS = ("frontend", "cascade", "soak", "realspeech", "model")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark kws against its peers (frontend, cascade), soak-test memory, profile a "
        "model per operator",
    )
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    for name in BENCH_TARGETS:
        module = importlib.import_module(f"kws_cli.bench.{name}")
        module.register(targets)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    code: int = args.run_target(args)
    return code
