"""Options several commands share, with one help text each."""

from __future__ import annotations

import argparse

from kws.errors import KwsError
from kws.noise_floor import FROM_BUNDLE, FloorChoice, parse_floor

NOISE_FLOOR_HELP = (
    "pink noise at DBFS RMS under all audio before the frontend, or 'off' (default: the level "
    "the bundle was trained with, -60 for bundles kws trains; kws.noise_floor)"
)


def floor_argument(text: str) -> FloorChoice:
    """``--noise-floor``'s value: a level in dBFS, None for 'off', ``FROM_BUNDLE`` for 'bundle'
    (the default; argparse passes a string default through this too)."""
    if text == FROM_BUNDLE:
        return FROM_BUNDLE
    try:
        return parse_floor(text)
    except KwsError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def add_noise_floor(parser: argparse.ArgumentParser) -> None:
    """``--noise-floor DBFS|off`` (default: the bundle's, ``FROM_BUNDLE``)."""
    parser.add_argument(
        "--noise-floor",
        type=floor_argument,
        default=FROM_BUNDLE,
        metavar="DBFS|off",
        help=NOISE_FLOOR_HELP,
    )
