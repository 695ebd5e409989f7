"""The ``kws`` command line: one subcommand per module in ``kws_cli.commands``.

Each command module exposes ``register(subparsers)`` and a ``run(args) -> int``. Modules keep
heavy imports (LiteRT, TensorFlow, Numba kernels) inside ``run`` so ``kws --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from typing import Any, TextIO, cast

from kws import __version__
from kws.errors import KwsError, OutputError
from kws.untrusted import escape_unprintable

# Order is the order shown in --help.
COMMAND_MODULES = (
    "detect",
    "listen",
    "models",
    "train",
    "eval",
    "battery",
    "export",
    "bench",
)
RST_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)  # docstrings serve as help text


class HelpFormatter(argparse.HelpFormatter):
    """``--help`` that shows each option's default, keeps a description's paragraphs and reads
    docstrings as plain text (``literal`` becomes 'literal')."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help
        if (
            not help_text
            or not action.option_strings
            or action.default is None
            or action.default is False  # a flag (store_true)
            or action.default == argparse.SUPPRESS
            or "default" in help_text
        ):
            return help_text
        return f"{help_text} (default: %(default)s)"

    # Lines break at spaces only: "--snr-db" and "soak-test" stay whole.
    def _split_lines(self, text: str, width: int) -> list[str]:
        words = " ".join(RST_LITERAL.sub(r"'\1'", text).split())
        return textwrap.wrap(words, width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = re.split(r"\n\s*\n", RST_LITERAL.sub(r"'\1'", text).strip())
        return "\n\n".join(
            textwrap.fill(
                " ".join(paragraph.split()),
                width,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
            for paragraph in paragraphs
        )


class ArgumentParser(argparse.ArgumentParser):
    """Every ``kws`` parser and subparser: ``HelpFormatter`` unless told otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="kws",
        description="Always-on INT8 keyword spotting: detect, listen, train, evaluate, "
        "simulate battery life, benchmark.",
    )
    parser.add_argument("--version", action="version", version=f"kws {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"kws_cli.commands.{name}")
        module.register(subparsers)
    return parser


class _CheckedOutput:
    """stdout, whose write failures other than a closed pipe (a full disk: ENOSPC, EIO) raise
    ``OutputError``: one line for the user instead of a traceback, or worse, a message from
    the interpreter's last flush that the exit code does not reflect."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputError(f"cannot write the output: {error.strerror or error}") from error

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputError(f"cannot write the output: {error.strerror or error}") from error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _discard_output(stream: TextIO) -> None:
    """Point stdout's descriptor at /dev/null: what is still buffered in ``stream`` cannot
    fail again when the interpreter flushes it on exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # not a real file descriptor (a test's captured stdout): nothing is flushed at exit


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.run(args)
    except OutputError:
        raise
    except KwsError as error:
        # one line, whatever a file name or a bundle put into the message
        print(f"kws {args.command}: error: {escape_unprintable(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"kws {args.command}: interrupted", file=sys.stderr)
        return 130
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 failure, 2 user error).

    A reader that closes the pipe early (``kws detect ... | head -1``) ends the command quietly
    with exit code 0; stdout that cannot be written (a full disk) is one line and exit 2.
    """
    stdout = sys.stdout
    if stdout is not None:
        sys.stdout = cast(TextIO, _CheckedOutput(stdout))
    parser = build_parser()
    prog = "kws"
    try:
        try:
            args = parser.parse_args(argv)
            prog = f"kws {args.command}" if getattr(args, "command", None) else "kws"
            return _run(parser, args)
        finally:
            if stdout is not None:
                sys.stdout.flush()  # here, where a failure can still be reported
    except BrokenPipeError:
        _discard_output(stdout)
        return 0
    except OutputError as error:
        _discard_output(stdout)
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    finally:
        sys.stdout = stdout


if __name__ == "__main__":
    raise SystemExit(main())
