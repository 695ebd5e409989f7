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


@pytest.mark.parametrize(
    ("command", "flag", "value", "expected"),
    [
        ("detect", "--wake-threshold", "5", "--wake-threshold must be a probability"),
        ("detect", "--wake-threshold", "nan", "--wake-threshold must be a probability"),
        ("detect", "--threshold", "-0.5", "--threshold must be a probability"),
        ("eval", "--threshold", "5", "--threshold must be a probability"),
        ("listen", "--threshold", "inf", "--threshold must be a probability"),
    ],
)
def test_threshold_flags_out_of_range_are_one_line_exit_2(
    command: str,
    flag: str,
    value: str,
    expected: str,
    random_bundle: Path,
    noise_wav: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = (
        [] if command == "listen" else [str(noise_wav if command == "detect" else noise_wav.parent)]
    )
    code = main([command, "--model", str(random_bundle), flag, value, *target])
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines() == [
        f"kws {command}: error: {expected} between 0 and 1, got {float(value)}"
    ]
