"""microWakeWord configs (``kws detect --model x.json``) that are broken or hostile: refused with
one line, and the file a config names is opened only when it is a regular file beside it.

kws's own untrained full model stands in for a microWakeWord model (one input, one output)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kws.errors import BundleError
from kws.loading import load_cascade
from kws.mww import load_microwakeword
from kws.untrusted import MAX_JSON_BYTES, MAX_MODEL_BYTES

VALID = {
    "type": "micro",
    "wake_word": "Test Word",
    "model": "m.tflite",
    "micro": {"probability_cutoff": 0.9, "sliding_window_size": 5},
}


@pytest.fixture()
def folder(tmp_path: Path, random_bundle: Path) -> Path:
    """``config/`` holding ``m.tflite``, and ``outside/`` beside it holding a copy."""
    (tmp_path / "config").mkdir()
    (tmp_path / "outside").mkdir()
    shutil.copy(random_bundle / "full.tflite", tmp_path / "config" / "m.tflite")
    shutil.copy(random_bundle / "full.tflite", tmp_path / "outside" / "m.tflite")
    return tmp_path / "config"


def _config(folder: Path, config: Any) -> Path:
    path = folder / "c.json"
    path.write_text(json.dumps(config))
    return path


def _never_opened(monkeypatch: pytest.MonkeyPatch, *targets: Path) -> None:
    """Fail the test as soon as one of ``targets`` is opened (before it can hang or fill RAM)."""
    forbidden = {os.path.realpath(target) for target in targets}

    def guard(real: Any) -> Any:
        def opener(file: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(file, (str, os.PathLike)) and os.path.realpath(file) in forbidden:
                raise AssertionError(f"{file} was opened")
            return real(file, *args, **kwargs)

        return opener

    monkeypatch.setattr(io, "open", guard(io.open))
    monkeypatch.setattr(os, "open", guard(os.open))


def test_a_valid_config_loads(folder: Path) -> None:
    cascade = load_cascade(_config(folder, VALID))
    assert cascade.keyword == "test word"
    assert cascade.thresholds.detect == 0.9 and cascade.thresholds.smoothing_frames == 5


@pytest.mark.parametrize(
    "target", ["/etc/shadow", "/dev/zero", "fifo", "../outside/m.tflite", "link", "zero_link"]
)
def test_a_model_outside_its_folder_or_not_a_file_is_refused_unopened(
    folder: Path, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.mkfifo(folder / "fifo")
    (folder / "link").symlink_to(folder.parent / "outside" / "m.tflite")
    (folder / "zero_link").symlink_to("/dev/zero")
    config = _config(folder, {**VALID, "model": target})
    _never_opened(monkeypatch, folder / target if not target.startswith("/") else Path(target))
    with pytest.raises(BundleError, match="leaves its folder|not a regular file"):
        load_microwakeword(config)


def test_an_oversized_model_or_config_is_refused(folder: Path) -> None:
    with open(folder / "huge.tflite", "wb") as handle:
        handle.truncate(MAX_MODEL_BYTES + 1)  # sparse: no disk used
    with pytest.raises(BundleError, match="larger than"):
        load_microwakeword(_config(folder, {**VALID, "model": "huge.tflite"}))
    padded = folder / "c.json"
    padded.write_text(json.dumps(VALID) + " " * MAX_JSON_BYTES)
    with pytest.raises(BundleError, match="larger than"):
        load_microwakeword(padded)


def test_a_config_that_is_a_fifo_is_refused_unopened(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    os.mkfifo(folder / "pipe.json")
    _never_opened(monkeypatch, folder / "pipe.json")
    with pytest.raises(BundleError, match="not a regular file"):
        load_microwakeword(folder / "pipe.json")


BAD_CONFIGS = {
    "top level a list": [1, 2],
    "no micro section": {k: v for k, v in VALID.items() if k != "micro"},
    "micro a list": {**VALID, "micro": [0.9]},
    "no probability_cutoff": {**VALID, "micro": {"sliding_window_size": 5}},
    "cutoff high": {**VALID, "micro": {"probability_cutoff": "high", "sliding_window_size": 5}},
    "cutoff above 1": {**VALID, "micro": {"probability_cutoff": 1.5, "sliding_window_size": 5}},
    "cutoff negative": {**VALID, "micro": {"probability_cutoff": -0.1, "sliding_window_size": 5}},
    "cutoff true": {**VALID, "micro": {"probability_cutoff": True, "sliding_window_size": 5}},
    "window text": {**VALID, "micro": {"probability_cutoff": 0.9, "sliding_window_size": "5"}},
    "window zero": {**VALID, "micro": {"probability_cutoff": 0.9, "sliding_window_size": 0}},
    "window 2.5": {**VALID, "micro": {"probability_cutoff": 0.9, "sliding_window_size": 2.5}},
    "no model": {k: v for k, v in VALID.items() if k != "model"},
    "model a number": {**VALID, "model": 5},
    "model empty": {**VALID, "model": ""},
    "model a folder": {**VALID, "model": "."},
    "model missing": {**VALID, "model": "gone.tflite"},
    "wake_word a list": {**VALID, "wake_word": ["x"]},
    "wake_word blank": {**VALID, "wake_word": "  "},
    "wake_word with escapes": {**VALID, "wake_word": "hey \x1b]0;owned\x07\x1b[2J"},
    "wake_word bidi override": {**VALID, "wake_word": "hey \u202ejarvis"},
}


@pytest.mark.parametrize("name", list(BAD_CONFIGS))
def test_bad_configs_are_refused(folder: Path, name: str) -> None:
    with pytest.raises(BundleError):
        load_cascade(_config(folder, BAD_CONFIGS[name]))


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_non_finite_cutoff_is_refused(folder: Path, text: str) -> None:
    config = folder / "c.json"
    config.write_text(json.dumps(VALID).replace("0.9", text))
    with pytest.raises(BundleError, match="probability_cutoff"):
        load_cascade(config)


@pytest.mark.parametrize(
    "payload", [os.urandom(300), b"\xff\xfe{}", b"[" * 100_000, b"1" * 5000, b""]
)
def test_bytes_that_are_not_a_json_config_are_refused(folder: Path, payload: bytes) -> None:
    (folder / "c.json").write_bytes(payload)
    with pytest.raises(BundleError):
        load_cascade(folder / "c.json")


@pytest.mark.parametrize("model", [b"", b"junk" * 100, b"TFL3" + bytes(200)])
def test_a_model_file_that_is_not_a_model_is_refused(folder: Path, model: bytes) -> None:
    (folder / "m.tflite").write_bytes(model)
    with pytest.raises(BundleError, match="not a loadable TFLite model"):
        load_cascade(_config(folder, VALID))


def test_kws_detect_with_a_bad_config_is_one_line_exit_2(folder: Path, noise_wav: Path) -> None:
    for config in (os.urandom(300), json.dumps(BAD_CONFIGS["cutoff high"]).encode()):
        (folder / "c.json").write_bytes(config)
        result = subprocess.run(
            [sys.executable, "-m", "kws", "detect", "--model", str(folder / "c.json")]
            + [str(noise_wav)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("kws detect: error: ")
