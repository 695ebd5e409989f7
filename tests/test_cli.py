"""The command line's public face: help, version, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import kws
from kws.cli import main


def test_version_flag_prints_version(capsys: object) -> None:
    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert kws.__version__ in out


def test_help_lists_every_subcommand() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kws", "--help"], capture_output=True, text=True, check=True
    )
    for name in ("detect", "listen", "models", "train", "eval", "battery", "bench"):
        assert name in result.stdout


def test_unknown_subcommand_exits_nonzero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kws", "frobnicate"], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


def test_an_error_line_never_carries_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = tmp_path / "x\x1b[2J\nsecond line"
    assert main(["detect", "--model", str(hostile), "-"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err
    assert "\\x1b[2J\\nsecond line" in err
