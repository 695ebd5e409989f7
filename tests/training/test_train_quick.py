"""`kws train --quick` end to end, then the bundle's int8 models in ai-edge-litert."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kws.bundle import read_bundle
from kws.errors import TrainingError
from kws.loading import load_cascade


def _manifest_and_report(bundle_dir: Path) -> dict[str, Any]:
    """The bundle's manifest with its report's sections, as one dict (schema 1's shape)."""
    bundle = read_bundle(bundle_dir)
    report = bundle.report_dict()
    assert report is not None  # training writes one
    return {**bundle.to_dict(), "evaluation": report["evaluation"], "training": report["training"]}


@pytest.mark.slow
def test_quick_training_measures_the_bundle_on_the_real_speech_folder(quick_bundle: Path) -> None:
    manifest = _manifest_and_report(quick_bundle)
    figures = manifest["evaluation"]["real_speech"]
    assert figures["folders"] == {"good morning": 1, "hey nova": 2}
    assert figures["frr_clean"] in (0.0, 0.5, 1.0) and figures["frr_noisy"] in (0.0, 0.5, 1.0)
    assert figures["others"] == 1 and figures["others_accepted"] in (0.0, 1.0)
    assert "measurement only" in figures["note"]
    assert "## Real people (measurement only)" in (quick_bundle / "CARD.md").read_text()


@pytest.mark.slow
def test_quick_training_prints_its_result_on_stdout_and_no_tensorflow_lines(
    quick_bundle: Path,
) -> None:
    stdout = (quick_bundle.parent / "stdout.txt").read_text()
    stderr = (quick_bundle.parent / "stderr.txt").read_text()
    assert stdout.startswith(f"bundle written: {quick_bundle}\n")
    assert "cascade" in json.loads(stdout.split("\n", 1)[1])
    for noise in ("absl", "cuInit", "I0000", "Warning", "fully_quantize", "INFO:"):
        assert noise not in stderr, stderr[-3000:]


@pytest.mark.slow
def test_quick_training_writes_a_valid_int8_bundle(quick_bundle: Path) -> None:
    manifest = _manifest_and_report(quick_bundle)
    # the floor training put under every clip is the one the runtime will add
    assert manifest["noise_floor_dbfs"] == manifest["training"]["noise_floor_dbfs"] == -60.0
    tiny, full = manifest["models"]["tiny"], manifest["models"]["full"]
    assert tiny["bytes"] <= 20 * 1024 and full["bytes"] <= 100 * 1024
    assert tiny["streaming"] and tiny["states"] and not full["streaming"]
    for model in (tiny, full):
        assert all(t["dtype"] == "int8" for t in model["inputs"] + model["outputs"])
        assert model["macs_per_inference"] > 0 and model["params"] > 0 and model["arena_bytes"] > 0
    evaluation = manifest["evaluation"]
    assert set(evaluation["qat_vs_ptq"]) == {"tiny", "full"}
    for role, comparison in evaluation["qat_vs_ptq"].items():
        by_epochs = comparison["val_mean_frr_0.5_to_5_fa_per_hour_by_qat_epochs"]
        assert len(by_epochs) == comparison["qat_epochs_trained"] + 1 == 2  # --quick: 1 epoch
        kept = comparison["qat_epochs_kept"]
        assert by_epochs[kept] == min(by_epochs)  # never worse than PTQ on validation
        if kept == 0:  # the shipped model is the PTQ model: identical figures
            models = evaluation["models"]
            assert models[f"{role}_qat"]["test"] == models[f"{role}_ptq"]["test"]
    assert {"frr", "fa_per_hour", "duty_cycle_full"} <= set(
        evaluation["cascade_at_shipped_thresholds"]
    )
    assert evaluation["microwakeword"] == {"available": False}  # no shipped peer for "hey nova"
    assert evaluation["openwakeword"] == {"available": False}
    assert (quick_bundle / "det.png").stat().st_size > 1000
    det_models = {
        line.split(",")[0] for line in (quick_bundle / "det.csv").read_text().splitlines()
    }
    assert {"tiny qat", "full qat", "cascade"} <= det_models
    choice, thresholds = evaluation["threshold_choice"], manifest["thresholds"]
    assert {k: choice["steps"][-1][k] for k in ("wake", "detect")} == {
        k: thresholds[k] for k in ("wake", "detect")
    }
    assert 0.5 <= thresholds["detect"] <= choice["full_alone_detect"]
    curve = evaluation["cascade_det"]
    shipped = [
        row for row in curve if row["threshold"] == round(manifest["thresholds"]["detect"], 6)
    ]
    assert shipped and shipped[0]["frr"] == pytest.approx(
        evaluation["cascade_at_shipped_thresholds"]["frr"], abs=1e-4
    )
    assert all(a["frr"] <= b["frr"] for a, b in zip(curve, curve[1:], strict=False))
    full_log = manifest["training"]["full"]
    assert full_log["starts"] == 3 and full_log["start_kept"] in (1, 2, 3)
    assert manifest["training"]["command"].endswith("--seed 0 --full-starts 3")
    kept_start = full_log["val_mean_frr_0.5_to_5_fa_per_hour_by_start"][full_log["start_kept"] - 1]
    assert kept_start == min(full_log["val_mean_frr_0.5_to_5_fa_per_hour_by_start"])
    full_by_epochs = evaluation["qat_vs_ptq"]["full"][
        "val_mean_frr_0.5_to_5_fa_per_hour_by_qat_epochs"
    ]
    assert min(full_by_epochs) == kept_start
    card = (quick_bundle / "CARD.md").read_text()
    assert "hey nova" in card
    kept = evaluation["qat_vs_ptq"]["full"]["qat_epochs_kept"]
    assert "| full | " in card and f"| {kept} of 1 |" in card


@pytest.mark.slow
def test_quick_bundle_runs_in_litert(quick_bundle: Path) -> None:
    cascade = load_cascade(quick_bundle)
    pcm = (np.random.default_rng(0).standard_normal(32000) * 1000).astype(np.int16)
    cascade.process(pcm)
    assert cascade.counters.tiny_inferences == cascade.counters.hops // 3 > 0


@pytest.mark.slow
def test_rerun_reuses_the_feature_cache(quick_bundle: Path) -> None:
    report = json.loads((quick_bundle / "report.json").read_text())
    assert report["training"]["data"]["cache_hit"] is False
    from training.data import build_dataset
    from training.pipeline import TrainOptions, data_recipe

    cache = quick_bundle.parent / "cache"
    recipe = data_recipe(TrainOptions("hey nova", quick_bundle, quick=True), "hey nova")
    dataset = build_dataset(recipe, cache)
    assert dataset.stats["cache_hit"] is True


@pytest.mark.parametrize("keyword", ["", "   ", "x" * 41, "hey n0va!", "- -", "日本"])
def test_bad_keywords_are_refused(keyword: str) -> None:
    from training.pipeline import check_keyword

    with pytest.raises(TrainingError):
        check_keyword(keyword)


def test_bad_keyword_exits_2_with_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kws", "train", "--keyword", "", "--out", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    # only kws's line: TensorFlow's import wrote six of its own (absl, oneDNN, CUDA drivers)
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("kws train: error: the keyword is empty")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("keyword", ["hey\x1b[31mnova", "hey\tnova", "hey\u202enova"])
def test_a_keyword_with_control_characters_is_refused_up_front(
    keyword: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from kws_cli.main import main

    monkeypatch.setitem(sys.modules, "training.pipeline", None)  # fails if training is reached
    assert main(["train", "--keyword", keyword, "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "control characters" in err and err.count("\n") == 1
    assert not any(char in err for char in "\x1b\t\u202e")
    assert not (tmp_path / "b").exists()


def test_qat_keeps_the_epoch_that_misses_least_on_validation_and_the_latest_on_a_tie() -> None:
    from training.pipeline import Candidate, choose_qat

    def candidate(epochs: int, mean_frr: float) -> Candidate:
        return Candidate(epochs, b"", {}, mean_frr)

    assert choose_qat([candidate(0, 0.3), candidate(1, 0.2), candidate(2, 0.25)]).qat_epochs == 1
    assert choose_qat([candidate(0, 0.2), candidate(1, 0.2), candidate(2, 0.3)]).qat_epochs == 1
    assert choose_qat([candidate(0, 0.1), candidate(1, 0.2)]).qat_epochs == 0


@pytest.mark.slow
def test_by_default_validation_chooses_the_full_model_and_the_card_says_so(
    quick_bundle: Path,
) -> None:
    report = json.loads((quick_bundle / "report.json").read_text())
    full = report["training"]["full"]
    assert full["selection"] == {
        "kept": {
            "start": full["start_kept"],
            "qat_epochs": report["evaluation"]["qat_vs_ptq"]["full"]["qat_epochs_kept"],
        },
        "by": "validation",
    }
    card = (quick_bundle / "CARD.md").read_text()
    assert f"Kept: start {full['start_kept']} of 3, the QAT epoch and start that missed" in card


@pytest.mark.parametrize("starts", ["0", "9"])
def test_full_starts_out_of_range_are_refused_before_any_work(
    starts: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from kws_cli.main import main

    command = ["train", "--keyword", "hey nova", "--full-starts", starts]
    assert main([*command, "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert f"--full-starts {starts}: give 1 to 8" in err and err.count("\n") == 1
    assert not (tmp_path / "b").exists()


def test_the_help_names_the_default_full_starts(capsys: pytest.CaptureFixture) -> None:
    from kws_cli.main import main
    from training.selection import FULL_STARTS, QUICK_FULL_STARTS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"the best kept (default {FULL_STARTS}; quick: {QUICK_FULL_STARTS})" in help_text


def test_choosing_by_voices_without_them_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from kws_cli.main import main
    from training.data import festvox

    monkeypatch.setattr(festvox, "installed_voices", lambda: ())
    monkeypatch.setitem(sys.modules, "training.pipeline", None)  # fails if training is reached
    command = ["train", "--keyword", "hey nova", "--choose-full", "voices"]
    assert main([*command, "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "make setup-voices" in err and err.count("\n") == 1
    assert not (tmp_path / "b").exists()


@pytest.mark.slow
def test_choosing_by_voices_judges_each_candidate_at_its_own_thresholds(quick_bundle: Path) -> None:
    """The bundle's own full model as two candidates, the keyword in espeak-ng voices standing
    in for the other engines' (so the test needs no Flite): the same model misses the same
    clips, so validation breaks the tie; without clips, validation alone decides."""
    from kws.synth import VoiceSettings, synthesize
    from training import realspeech, selection
    from training.data import build_dataset
    from training.pipeline import Candidate, TrainOptions, _full_by_voices, data_recipe

    manifest = json.loads((quick_bundle / "manifest.json").read_text())
    tiny = Candidate(0, (quick_bundle / "tiny.tflite").read_bytes(), manifest["models"]["tiny"], 0)
    full = (quick_bundle / "full.tflite").read_bytes(), manifest["models"]["full"]
    first, second = Candidate(2, *full, 0.3), Candidate(0, *full, 0.1)
    recipe = data_recipe(TrainOptions("hey nova", quick_bundle, quick=True), "hey nova")
    dataset = build_dataset(recipe, quick_bundle.parent / "cache")
    said = [
        np.concatenate([np.zeros(8000, np.int16), synthesize("hey nova", settings)])
        for settings in (VoiceSettings("en-us+m3", 150, 50), VoiceSettings("en+f2", 170, 60))
    ]
    clean, noisy = realspeech.heard_sets({"hey nova": said}, {"hey nova"}, 10.0, 0)
    clips = selection.VoiceClips(("festvox:x",), clean["hey nova"], noisy["hey nova"])

    def choose(made: selection.VoiceClips | str) -> tuple[int, Candidate, dict[str, Any]]:
        return _full_by_voices(
            "hey nova", dataset, 0.5, -60.0, lambda: made, None, tiny, [[first], [second]]
        )

    start, kept, record = choose(clips)
    assert (start, kept) == (1, second)
    assert record["validation_would_keep"] == {"start": 2, "qat_epochs": 0}
    one, two = record["candidates"]
    assert (one["start"], two["start"]) == (1, 2) and record["clips"] == 2
    for key in ("wake", "detect", "missed_clean", "missed_noisy"):
        assert one[key] == two[key]
    assert 0 <= one["missed_clean"] <= 2 and 0.5 <= one["detect"] < 1.0
    start, kept, record = choose("the voices failed: no audio")
    assert (start, kept) == (1, second)
    assert record == {"by": "validation", "why": "the voices failed: no audio"}


def test_a_users_folder_as_out_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "home"
    (out / "photos").mkdir(parents=True)
    (out / "thesis.txt").write_text("three years of work")
    result = subprocess.run(
        [sys.executable, "-m", "kws", "train", "--keyword", "hey nova", "--quick"]
        + ["--out", str(out), "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is a folder that is not a kws bundle" in lines[0], lines
    assert sorted(p.name for p in out.iterdir()) == ["photos", "thesis.txt"]
    assert (out / "thesis.txt").read_text() == "three years of work"
    assert not (tmp_path / "cache").exists()  # refused before the data was made


def test_without_out_the_bundle_goes_to_the_users_models_folder(tmp_path: Path) -> None:
    """No --out: the user's models folder (where kws models lists it and --model NAME finds
    it), shown here by refusing a foreign folder that stands at exactly that place."""
    taken = tmp_path / "data" / "kws" / "models" / "hey_nova"
    taken.mkdir(parents=True)
    (taken / "notes.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "kws", "train", "--keyword", "Hey  Nova", "--quick"]
        + ["--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
    )
    assert result.returncode == 2
    assert str(taken) in result.stderr and "not a kws bundle" in result.stderr
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]


def test_a_bundle_that_cannot_be_written_at_the_end_is_kept_in_the_cache(
    tmp_path: Path, random_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kws.bundle
    from kws.errors import BundleError
    from training import pipeline

    manifest = read_bundle(random_bundle).to_dict()
    files = {name: (random_bundle / name).read_bytes() for name in ("tiny.tflite", "full.tflite")}
    out = tmp_path / "mounted" / "word"
    real_write = kws.bundle.write_bundle

    def read_only_mount(out_dir: Path, *args: object) -> Path:
        if Path(out_dir) == out:
            raise BundleError(f"cannot write bundle {out}: Read-only file system")
        return real_write(out_dir, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "write_bundle", read_only_mount)
    options = pipeline.TrainOptions("word", out, cache_dir=tmp_path / "cache")
    with pytest.raises(TrainingError, match="Read-only file system; the finished bundle is kept"):
        pipeline._write_or_keep(options, manifest, {"training": {}}, files)
    (kept,) = (tmp_path / "cache" / "unsaved_bundles").iterdir()
    assert kept.name.startswith("word-")
    assert read_bundle(kept).models["full"].sha256 == manifest["models"]["full"]["sha256"]
    assert (kept / "CARD.md").is_file() and read_bundle(kept).training == {}


def test_a_missing_real_speech_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kws", "train", "--keyword", "hey nova", "--quick"]
        + ["--out", str(tmp_path / "b"), "--cache-dir", str(tmp_path / "cache")]
        + ["--real-speech", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"kws train: error: {tmp_path / 'nowhere'} is not a folder"
    ]
    assert not (tmp_path / "cache").exists() and not (tmp_path / "b").exists()


@pytest.mark.slow
def test_add_verifier_writes_a_schema_3_bundle_measured_on_held_out_voices(
    quick_bundle: Path, tmp_path: Path
) -> None:
    """`kws train --add-verifier BUNDLE --out DIR --quick`: the bundle's models unchanged, a
    verifier whose operating point was chosen on validation and measured on the test voices,
    a card that says so, and a cascade that verifies each detection."""
    out = tmp_path / "verified"
    command = [sys.executable, "-m", "kws", "train", "--add-verifier", str(quick_bundle)]
    people = quick_bundle.parent / "people"
    result = subprocess.run(
        [*command, "--out", str(out), "--quick", "--real-speech", str(people)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith(f"bundle written: {out} (from 'hey nova')")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema_version"] == 3
    assert manifest["models"] == json.loads((quick_bundle / "manifest.json").read_text())["models"]
    report = json.loads((out / "report.json").read_text())
    figures = report["evaluation"]["verifier"]
    assert figures["wake"] <= 0.3 and figures["detect"] == manifest["thresholds"]["detect"]
    assert figures["verifier_threshold"] == manifest["verifier"]["threshold"]
    # chosen within the target on validation, and no more keyword-free clips accepted there
    assert figures["validation"]["fa_per_hour"] <= 0.5
    val, alone = figures["validation"], figures["validation_alone"]
    assert val["negatives_accepted"] <= alone["negatives_accepted"]
    for key in ("test_alone", "test_with_verifier"):
        assert 0.0 <= figures[key]["frr"] <= 1.0 and figures[key]["fa_per_hour"] >= 0.0
    card = (out / "CARD.md").read_text()
    assert "## Verifier (after the cascade" in card
    # measured on the recordings with the verifier, as the card says
    real = figures["real_speech"]
    assert real["recordings"] == 2 and real["others"] == 1
    assert "With the verifier, on the recordings of people" in card
    # kws models shows what the bundle does as it loads: with the verifier
    from kws_cli.commands.models import _figures

    listed = _figures(read_bundle(out))
    assert listed["test_frr"] == figures["test_with_verifier"]["frr"]
    assert listed["real_speech_frr_clean"] == real["frr_clean"]
    cascade = load_cascade(out)
    assert cascade.verifier is not None
    assert cascade.verifier.policy.threshold == manifest["verifier"]["threshold"]
    # kws bench realspeech names the verifier's threshold in the bundle's operating point
    from kws_cli.bench.realspeech import _kws_detectors

    (spec,) = _kws_detectors([out], [])
    assert spec.operating_point.endswith(f" / verifier {manifest['verifier']['threshold']:g}")
    # the quick settings' two heads, stacked, as the settings the report records say
    assert cascade.verifier.head.members == report["training"]["verifier"]["settings"]["heads"] == 2
    # a second verifier for it starts from the cascade's own thresholds, not the first's
    from dataclasses import replace

    from training.verifier import _without_verifier

    source = read_bundle(quick_bundle)
    again = _without_verifier(read_bundle(out), out)
    assert again.verifier is None and again.thresholds == source.thresholds
    with pytest.raises(TrainingError, match="bundle it was made from"):
        _without_verifier(replace(read_bundle(out), evaluation=None), out)
    # the bundle it came from is untouched, and --out may not be that bundle
    assert json.loads((quick_bundle / "manifest.json").read_text())["schema_version"] == 2
    same = subprocess.run(
        [*command, "--out", str(quick_bundle), "--quick"], capture_output=True, text=True
    )
    assert same.returncode == 2 and "another folder" in same.stderr
