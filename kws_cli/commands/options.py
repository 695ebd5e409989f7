"""Options several commands share, with one help text each."""

from __future__ import annotations

import argparse

NOISE_FLOOR_HELP = (
    "pink noise at DBFS RMS under all audio before the frontend (e.g. -60, the quietest noise "
    "in a kws training clip): very clean recordings then sound as training did (kws.noise_floor)"
)


def add_noise_floor(parser: argparse.ArgumentParser) -> None:
    """``--noise-floor DBFS`` (default: none)."""
    parser.add_argument("--noise-floor", type=float, metavar="DBFS", help=NOISE_FLOOR_HELP)
