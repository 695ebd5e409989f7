"""The ``kws`` command line: one subcommand per module in ``kws.commands``.

Each command module exposes ``register(subparsers)`` and a ``run(args) -> int``. Modules keep
heavy imports (LiteRT, TensorFlow, Numba kernels) inside ``run`` so ``kws --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from kws import __version__
from kws.errors import KwsError
from kws.untrusted import escape_unprintable

# Order is the order shown in --help.
COMMAND_MODULES = (
    "detect",
    "listen",
    "models",
    "train",
    "eval",
    "battery",
    "bench",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kws",
        description="Always-on INT8 keyword spotting: detect, listen, train, evaluate, "
        "simulate battery life, benchmark.",
    )
    parser.add_argument("--version", action="version", version=f"kws {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"kws.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 failure, 2 user error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        code: int = args.run(args)
    except KwsError as error:
        # one line, whatever a file name or a bundle put into the message
        print(f"kws {args.command}: error: {escape_unprintable(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"kws {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    raise SystemExit(main())
