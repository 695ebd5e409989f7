"""Other libraries' lines kept off stderr: LiteRT's INFO line, libmpg123's notes, TensorFlow's
logs and warnings from training's worker processes; anything else still gets through."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kws.stderr_filter import LITERT_INFO, TensorflowNoise, dropping, filtered

TENSORFLOW_LINES = textwrap.dedent(
    """\
    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796274601.098865   15580 port.cc:153] oneDNN custom operations are on.
    E0000 00:00:1796274945.546904   18674 cuda_platform.cc:52] failed call to cuInit: INTERNAL
    /x/site-packages/tensorflow/lite/python/convert.py:846: UserWarning: Statistics for inputs
      warnings.warn(
    /x/site-packages/tensorflow/lite/python/interpreter.py:457: UserWarning:     Warning: tf.lite
        TF 2.20. Please use the LiteRT interpreter from the ai_edge_litert package.
      warnings.warn(_INTERPRETER_DELETION_WARNING)
    fully_quantize: 0, inference_type: 6, input_inference_type: INT8, output_inference_type: INT8
    INFO: Created TensorFlow Lite XNNPACK delegate for CPU.

    """
)
KEPT_LINES = "kws train: error: a line of our own\nTraceback (most recent call last):\n  File x\n"


def test_dropping_keeps_every_line_that_is_not_noise(capfd: pytest.CaptureFixture[str]) -> None:
    with dropping(LITERT_INFO):
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"ERROR: Didn't find op for builtin opcode 'X'\n")
    assert capfd.readouterr().err == "ERROR: Didn't find op for builtin opcode 'X'\n"


def test_tensorflow_noise_is_told_from_other_lines() -> None:
    noise = TensorflowNoise()
    assert all(noise(line) for line in TENSORFLOW_LINES.splitlines())
    assert not any(noise(line) for line in KEPT_LINES.splitlines())
    assert not noise("F0000 00:00:1796274945.546904   18674 x.cc:1] Check failed: fatal")


def test_filtered_drops_the_noise_of_child_processes_as_it_comes(
    capfd: pytest.CaptureFixture[str],
) -> None:
    child = f"import sys; sys.stderr.write({TENSORFLOW_LINES + KEPT_LINES!r})"
    with filtered(TensorflowNoise()) as terminal:
        subprocess.run([sys.executable, "-c", child], check=True)
        print("progress", file=terminal)
    err = capfd.readouterr().err
    assert err.replace("progress\n", "", 1) == KEPT_LINES  # the child's lines may come later


def test_loading_a_model_prints_nothing(tmp_path: Path) -> None:
    """`import kws; kws.load_bundle(...)` (the Python API) and `kws detect` say nothing on
    stderr about a clean file: LiteRT's "INFO: Created TensorFlow Lite XNNPACK delegate for
    CPU." was on every run."""
    from kws.defaults import default_bundle_dir

    load = f"import kws; kws.load_bundle({str(default_bundle_dir())!r})"
    result = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""
    clip = tmp_path / "silence.wav"
    import numpy as np
    import soundfile

    soundfile.write(clip, np.zeros(16000, np.int16), 16000)
    result = subprocess.run(
        [sys.executable, "-m", "kws", "detect", str(clip)], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stderr == ""
