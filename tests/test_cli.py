"""The command line's public face: help, version, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

import kws
from kws_cli.main import main


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


def test_no_arguments_prints_usage_on_stderr_and_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("usage: kws")


def _help(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # wrapping undone


def test_help_shows_defaults_and_threshold_ranges(capsys: pytest.CaptureFixture[str]) -> None:
    train = _help(capsys, "train")
    for shown in (
        "--seed SEED data, augmentation and weights (default: 0)",
        "(default: 0.5)",
        "(default: .cache/kws)",
    ):
        assert shown in train
    battery = _help(capsys, "battery")
    for shown in ("(default: smartwatch_300mah)", "(default: office)", "(default 10;"):
        assert shown in battery
    assert "(default: 24.0)" in _help(capsys, "bench", "soak")
    assert "(default: False)" not in train  # flags say nothing
    detect = _help(capsys, "detect")
    assert "detect threshold, 0-1" in detect and "wake threshold of the tiny model, 0-1" in detect
    assert "detect threshold, 0-1" in _help(capsys, "eval")
    assert "detect threshold, 0-1" in _help(capsys, "listen")


@pytest.mark.parametrize("target", ["frontend", "cascade", "soak", "realspeech", "model"])
def test_bench_help_reads_as_plain_text(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "bench", target)
    assert "``" not in text
    assert len(text) > 200  # the docstring is there


def _tone_wav(folder: Path) -> Path:
    path = folder / "tone.wav"
    t = np.arange(48_000) / 16_000
    soundfile.write(path, (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16), 16_000)
    return path


# --threshold 0 detects at every chance (once a second): output on demand, whatever the model.
EVERY_STEP = ("--threshold", "0", "--wake-threshold", "0")


def test_output_on_a_full_disk_is_one_line_exit_2(tmp_path: Path, random_bundle: Path) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "kws",
                "detect",
                *EVERY_STEP,
                "--model",
                str(random_bundle),
                str(_tone_wav(tmp_path)),
                str(_tone_wav(tmp_path)),
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == ["kws detect: error: cannot write the output: No space left on device"]


def test_reader_closing_the_pipe_ends_quietly(tmp_path: Path, random_bundle: Path) -> None:
    """`kws detect - | head -1`: the reader goes after one line; kws ends at its next line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "kws", "detect", *EVERY_STEP, "--model", str(random_bundle), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin and process.stdout and process.stderr
    second = np.zeros(16_000, np.int16).tobytes()
    try:
        process.stdin.write(second * 2)
        process.stdin.flush()
        assert process.stdout.readline()
        process.stdout.close()
        try:
            process.stdin.write(second * 3)
            process.stdin.close()
        except BrokenPipeError:
            pass  # kws has ended, as it should, before reading all of it
        process.wait(timeout=120)
        stderr = process.stderr.read()
    finally:
        process.kill()
    assert process.returncode == 0
    assert stderr == b""


def test_train_presets_stand_for_their_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from kws_cli.commands.train import PRESETS, apply_preset

    chosen = {}
    for preset in PRESETS:
        args = argparse.Namespace(preset=preset, quick=False, verifier=False)
        apply_preset(args)
        chosen[preset] = (args.quick, args.verifier)
    assert chosen == {
        "quick": (True, False),
        "default": (False, False),
        "thorough": (False, True),
    }
    assert "thorough: the cascade and a verifier of three heads" in _help(capsys, "train")
    # a contradiction is one line before anything is made (no TensorFlow, no folder)
    out = tmp_path / "bundle"
    code = main(["train", "--keyword", "hey nova", "--preset", "thorough", "--quick"])
    code_out = main(
        ["train", "--keyword", "hey nova", "--preset", "thorough", "--quick", "--out", str(out)]
    )
    err = capsys.readouterr().err.splitlines()
    assert code == code_out == 2
    assert (
        err
        == ["kws train: error: --preset thorough and --quick contradict each other: give one"] * 2
    )
    assert not out.exists()
