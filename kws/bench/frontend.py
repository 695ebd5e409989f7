"""`kws bench frontend`: placeholder until its issue lands."""

from __future__ import annotations

import argparse
from typing import Any

from kws.errors import KwsError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("frontend", help="(not yet available)")
    parser.set_defaults(run_target=run)


def run(args: argparse.Namespace) -> int:
    raise KwsError("'kws bench frontend' is not available yet")
