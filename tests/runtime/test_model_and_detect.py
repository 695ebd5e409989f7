"""The LiteRT runner on real int8 models, and `kws detect`'s output contract."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kws.bundle import read_bundle
from kws.errors import BundleError
from kws.loading import load_cascade, load_model
from kws.manifest import ModelSpec
from kws.model import TfliteModel


def test_streaming_model_carries_state(random_bundle: Path) -> None:
    bundle = read_bundle(random_bundle)
    spec = bundle.models["tiny"]
    model = load_model(random_bundle, spec, bundle.feature_scale)
    frames = np.random.default_rng(0).integers(0, 700, (3, 40)).astype(np.uint16)
    first = [model.step(frames) for _ in range(30)]
    model.reset()
    again = [model.step(frames) for _ in range(30)]
    assert first == again  # reset really restores the initial state
    assert all(0.0 <= s <= 1.0 for s in first)
    assert spec.states and all(out == f"next_{inp}" for inp, out in spec.states)


def test_a_step_scores_a_window_alike_however_its_frames_are_laid_out(
    random_bundle: Path,
) -> None:
    # C-contiguous writeable uint16 windows take the lookup's machine code; read-only, strided
    # or other-typed ones take the dispatcher or numpy: the same features, the same scores
    bundle = read_bundle(random_bundle)
    model = load_model(random_bundle, bundle.models["tiny"], bundle.feature_scale)
    frames = np.random.default_rng(1).integers(0, 900, (3, 40)).astype(np.uint16)
    read_only = frames.copy()
    read_only.setflags(write=False)
    strided = np.repeat(frames, 2, axis=1)[:, ::2]
    layouts = [frames, read_only, strided, frames.astype(np.int64)]
    scores = []
    for window in layouts:
        model.reset()
        scores.append([model.step(window) for _ in range(5)])
    assert not strided.flags.c_contiguous
    assert all(run == scores[0] for run in scores[1:])


def test_load_model_loads_only_a_model_matching_its_checksum(
    random_bundle: Path, tmp_path: Path
) -> None:
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(random_bundle, bundle)
    loaded = read_bundle(bundle)
    payload = bytearray((bundle / "tiny.tflite").read_bytes())
    payload[-1] ^= 0xFF
    (bundle / "tiny.tflite").write_bytes(bytes(payload))
    with pytest.raises(BundleError, match="sha256"):
        load_model(bundle, loaded.models["tiny"], loaded.feature_scale)


def test_logit_output_goes_through_the_sigmoid(random_bundle: Path) -> None:
    bundle = read_bundle(random_bundle)
    spec = bundle.models["full"]
    assert spec.score_activation == "sigmoid"
    raw_spec = replace(spec, score_activation="none")
    as_probability = load_model(random_bundle, spec, bundle.feature_scale)
    as_logit = load_model(random_bundle, raw_spec, bundle.feature_scale)
    rng = np.random.default_rng(1)
    for _ in range(5):
        frames = rng.integers(0, 900, (150, 40)).astype(np.uint16)
        logit = as_logit.step(frames)
        assert as_probability.step(frames) == pytest.approx(1.0 / (1.0 + np.exp(-logit)))


def test_unknown_score_activation_is_refused(random_bundle: Path) -> None:
    spec = {**read_bundle(random_bundle).models["full"].to_dict(), "score_activation": "softmax"}
    with pytest.raises(BundleError, match="score_activation"):
        ModelSpec.from_dict("full", spec)


def test_manifest_shape_mismatch_is_refused(random_bundle: Path) -> None:
    bundle = read_bundle(random_bundle)
    spec = bundle.models["full"].to_dict()
    spec["inputs"][0]["shape"] = [1, 99, 1, 40]
    with pytest.raises(BundleError, match="shape"):
        load_model(random_bundle, ModelSpec.from_dict("full", spec), bundle.feature_scale)


@pytest.mark.parametrize("zero_point", [128, -129, 10**20])
def test_zero_point_outside_the_tensor_type_is_refused(
    zero_point: int, random_bundle: Path
) -> None:
    """An OverflowError from numpy escaped as a traceback (found by the manifest fuzz test):
    the spec refuses it, naming the tensor type's range."""
    bundle = read_bundle(random_bundle)
    spec = bundle.models["tiny"].to_dict()
    state_input = next(t for t in spec["inputs"] if t["name"] != "features")
    state_input["zero_point"] = zero_point
    with pytest.raises(BundleError, match=r"zero_point must be an integer -128\.\.127 for int8"):
        ModelSpec.from_dict("tiny", spec)


def test_not_a_model_is_refused(random_bundle: Path) -> None:
    spec = read_bundle(random_bundle).models["full"]
    with pytest.raises(BundleError, match="not a loadable"):
        TfliteModel(b"definitely not a flatbuffer", spec, 0.04)


def test_detect_json_contract(random_bundle: Path, noise_wav: Path) -> None:
    # threshold 0 makes every full-model step a detection: the contract is what is tested here
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kws",
            "detect",
            "--model",
            str(random_bundle),
            "--no-cascade",
            "--threshold",
            "0",
            "--json",
            str(noise_wav),
            str(noise_wav),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) >= 4
    assert {tuple(sorted(r)) for r in rows} == {("file", "keyword", "score", "stage", "time_s")}
    assert {r["file"] for r in rows} == {str(noise_wav)}
    times = [r["time_s"] for r in rows[: len(rows) // 2]]
    assert times == sorted(times) and all(0 < t <= 3.0 for t in times)


def test_detect_bad_inputs_exit_2_with_one_line(
    random_bundle: Path, tmp_path: Path, noise_wav: Path
) -> None:
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("hello")
    for args in (
        ["--model", str(tmp_path / "none"), str(noise_wav)],
        ["--model", str(random_bundle), str(not_audio)],
        ["--model", str(random_bundle), str(tmp_path)],
        ["--model", str(random_bundle), "--threshold", "7", str(noise_wav)],
        ["--model", str(random_bundle), "--noise-floor", "5", str(noise_wav)],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "kws", "detect", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, args
        errors = [
            line for line in result.stderr.splitlines() if line.startswith("kws detect: error")
        ]
        assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr


def test_a_bundle_keyword_with_control_characters_never_reaches_the_terminal(
    random_bundle: Path, tmp_path: Path, noise_wav: Path
) -> None:
    import shutil

    bundle = tmp_path / "bundle"
    shutil.copytree(random_bundle, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["keyword"] = "hey \x1b]0;owned\x07\x1b[2J"
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    result = subprocess.run(
        [sys.executable, "-m", "kws", "detect", "--model", str(bundle), "--threshold", "0"]
        + [str(noise_wav)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "\x1b" not in result.stdout + result.stderr and "\x07" not in result.stderr
    assert result.stderr.count("\n") == 1 and "control characters" in result.stderr


def test_no_cascade_baseline_runs_full_every_stride(random_bundle: Path) -> None:
    pcm = (np.random.default_rng(2).standard_normal(32000) * 500).astype(np.int16)
    cascade = load_cascade(random_bundle, full_only=True)
    cascade.process(pcm)
    assert cascade.counters.full_inferences == cascade.counters.hops // 3
    assert cascade.counters.tiny_inferences == 0
