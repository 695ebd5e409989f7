"""The manifest as types: the shipped manifests round-trip exactly, what is not typed is kept,
schema 1 bundles (report inside the manifest) read as their schema 2 split, and a cascade
carries the bundle it was loaded from."""

from __future__ import annotations

import json
import shutil
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from kws.bundle import read_bundle
from kws.errors import BundleError
from kws.loading import load_cascade
from kws.manifest import MANIFEST_KEYS, Bundle, ModelSpec
from kws.thresholds import Thresholds

MANIFESTS = sorted((Path(__file__).parents[2] / "kws" / "models").glob("*/manifest.json"))
RANDOM = Path(__file__).parents[1] / "fixtures" / "random_bundle" / "manifest.json"


@pytest.mark.parametrize("path", [*MANIFESTS, RANDOM], ids=lambda p: p.parent.name)
def test_to_dict_gives_back_the_manifest_file_byte_for_byte(path: Path) -> None:
    text = path.read_text()
    manifest = json.loads(text)
    assert Bundle.from_dict(manifest).to_dict() == manifest
    assert json.dumps(Bundle.from_dict(manifest).to_dict(), indent=2) + "\n" == text


def test_the_shipped_manifests_are_typed(random_bundle: Path) -> None:
    assert len(MANIFESTS) == 2
    for path in MANIFESTS:
        bundle = read_bundle(path.parent)
        assert bundle.folder == path.parent.resolve()
        assert isinstance(bundle.thresholds, Thresholds) and bundle.thresholds.detect_smoothing == 3
        tiny = bundle.models["tiny"]
        assert tiny.streaming and tiny.states and tiny.score_activation == "sigmoid"
        assert tiny.inputs[0].name == "features" and tiny.inputs[0].dtype == "int8"
        assert tiny.bytes == (path.parent / tiny.file).stat().st_size
        assert tiny.arena_bytes and tiny.macs_per_inference
        assert bundle.evaluation is not None and "qat_vs_ptq" in bundle.evaluation
        assert bundle.noise_floor_dbfs == -60.0
    # the random fixture has no detect_smoothing, noise floor, evaluation or training: they
    # stay absent
    bundle = read_bundle(random_bundle)
    assert bundle.thresholds.detect_smoothing == 1 and bundle.noise_floor_dbfs is None
    assert bundle.evaluation is None and bundle.training is None
    assert "noise_floor_dbfs" not in bundle.to_dict()


def test_a_bundle_is_read_only(random_bundle: Path) -> None:
    bundle = read_bundle(MANIFESTS[0].parent)
    with pytest.raises(FrozenInstanceError):
        bundle.keyword = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        bundle.models["tiny"] = bundle.models["full"]  # type: ignore[index]
    assert bundle.evaluation is not None
    with pytest.raises(TypeError):
        bundle.evaluation["test_split"]["positives"] = 0  # type: ignore[index]


def test_keys_this_runtime_does_not_type_are_kept() -> None:
    manifest = json.loads(RANDOM.read_text())
    manifest["report"] = {"licences": ["espeak-ng: GPL-3.0"]}
    manifest["models"]["full"]["ops"] = ["CONV_2D", "FULLY_CONNECTED"]
    manifest["models"]["full"]["inputs"][0]["note"] = "frames"
    bundle = Bundle.from_dict(manifest)
    assert bundle.extra["report"]["licences"] == ("espeak-ng: GPL-3.0",)
    assert bundle.models["full"].extra["ops"] == ("CONV_2D", "FULLY_CONNECTED")
    assert bundle.to_dict() == manifest


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["thresholds"].update(detect_sensitivity=0.5), "not a threshold this kws"),
        (lambda m: m["models"]["tiny"].update(arena_bytes=-1), "arena_bytes must be a non-neg"),
        (lambda m: m["models"]["tiny"].update(macs_per_inference="many"), "macs_per_inference"),
        (lambda m: m["models"]["tiny"].update(architecture=3), "architecture must be text"),
        (lambda m: m["models"]["tiny"].update(sha256=None), "sha256 must be text"),
        (lambda m: m.update(evaluation={}), "evaluation belongs in report.json"),
        (lambda m: m.update(schema_version=4), "schema version 4; this kws reads versions 1, 2, 3"),
        (lambda m: m.update(schema_version=1, training=[1, 2]), "training must be an object"),
        (lambda m: m.pop("keyword"), "names no keyword"),
        (lambda m: m.update(noise_floor_dbfs=-5), "noise_floor_dbfs must be -120 to -20 dBFS"),
        (lambda m: m.update(noise_floor_dbfs="-60"), "noise_floor_dbfs must be"),
    ],
)
def test_what_the_types_cannot_hold_is_refused(change, message) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads(RANDOM.read_text())
    change(manifest)
    with pytest.raises(BundleError, match=message):
        Bundle.from_dict(manifest)


def test_a_cascade_carries_its_bundle(random_bundle: Path, tmp_path: Path) -> None:
    cascade = load_cascade(random_bundle, detect=0.7)
    assert cascade.bundle == read_bundle(random_bundle)
    assert cascade.bundle is not None and cascade.bundle.thresholds.detect == 0.9  # as shipped
    assert cascade.thresholds.detect == 0.7  # the override is the cascade's, not the bundle's
    assert cascade.full.stride_frames == cascade.bundle.models["full"].stride_frames


def test_model_checks_need_the_folder(random_bundle: Path, tmp_path: Path) -> None:
    """``from_dict`` checks content; a model file's place and checksum are ``read_bundle``'s."""
    bundle = tmp_path / "b"
    shutil.copytree(random_bundle, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["models"]["full"]["sha256"] = "0" * 64
    assert Bundle.from_dict(manifest).models["full"].sha256 == "0" * 64
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="model 'full' file full.tflite does not match"):
        read_bundle(bundle)


def test_model_spec_round_trips_through_replace() -> None:
    spec = Bundle.from_dict(json.loads(RANDOM.read_text())).models["tiny"]
    changed = replace(spec, arena_bytes=None)
    assert "arena_bytes" not in changed.to_dict()
    assert ModelSpec.from_dict("tiny", changed.to_dict()) == changed


def _as_schema_1(folder: Path) -> dict:  # type: ignore[type-arg]
    """The bundle's manifest as kws wrote it before schema 2: the report inside."""
    manifest = json.loads((folder / "manifest.json").read_text())
    report = json.loads((folder / "report.json").read_text())
    return {**manifest, "schema_version": 1, **{k: report[k] for k in ("evaluation", "training")}}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.parent.name)
def test_a_schema_1_bundle_reads_as_its_schema_2_split(path: Path, tmp_path: Path) -> None:
    """The committed bundles through both paths: as shipped (manifest.json + report.json) and
    as schema 1 wrote them (one manifest.json), which loads through the migration."""
    split = read_bundle(path.parent)
    old = tmp_path / "old"
    shutil.copytree(path.parent, old)
    (old / "report.json").unlink()
    (old / "manifest.json").write_text(json.dumps(_as_schema_1(path.parent), indent=2))
    migrated = read_bundle(old)
    assert replace(migrated, folder=None) == replace(split, folder=None)
    assert migrated.schema_version == 2 and migrated.evaluation is not None
    assert migrated.to_dict() == json.loads(path.read_text())
    assert migrated.report_dict() == json.loads((path.parent / "report.json").read_text())
    # the manifest holds what the runtime needs; what training measured is the report's
    assert set(json.loads(path.read_text())) == set(MANIFEST_KEYS) - {"verifier"}  # none shipped
    assert not set(MANIFEST_KEYS) & {"evaluation", "training"}


def test_a_report_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    shutil.copytree(MANIFESTS[0].parent, bundle)
    (bundle / "report.json").write_text("[1, 2]")
    with pytest.raises(BundleError, match="its report must hold a JSON object"):
        read_bundle(bundle)
    (bundle / "report.json").write_text('{"evaluation": "good"}')
    with pytest.raises(BundleError, match="evaluation must be an object"):
        read_bundle(bundle)
    (bundle / "report.json").unlink()  # a bundle without a report is a bundle all the same
    assert read_bundle(bundle).evaluation is None
