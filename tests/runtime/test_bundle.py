"""Bundles: atomic writes and every refusal names its problem."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from kws.bundle import read_bundle, write_bundle
from kws.errors import BundleError


def _copy(bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(bundle, target)
    return target


def _edit_manifest(bundle: Path, change) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads((bundle / "manifest.json").read_text())
    change(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_round_trip_records_checksums(random_bundle: Path) -> None:
    bundle = read_bundle(random_bundle)
    assert bundle.models["tiny"].bytes == (random_bundle / "tiny.tflite").stat().st_size
    assert len(bundle.models["full"].sha256) == 64


def test_a_report_goes_to_its_own_file(random_bundle: Path, tmp_path: Path) -> None:
    manifest = read_bundle(random_bundle).to_dict()
    files = {name: (random_bundle / name).read_bytes() for name in ("tiny.tflite", "full.tflite")}
    report = {"evaluation": {"target_fa_per_hour": 0.5}, "training": {"command": "kws train"}}
    written = write_bundle(tmp_path / "b", manifest, files, report)
    assert "evaluation" not in json.loads((written / "manifest.json").read_text())
    on_disk = json.loads((written / "report.json").read_text())
    assert on_disk == {"schema_version": 2, "keyword": "test word", **report}
    bundle = read_bundle(written)
    assert bundle.evaluation == {"target_fa_per_hour": 0.5}
    assert bundle.report_dict() == on_disk
    with pytest.raises(BundleError, match="plain file name"):
        write_bundle(tmp_path / "c", manifest, files | {"manifest.json": b"{}"})
    # a manifest that would not load is not written: schema 1's report inside a schema 2 one
    with pytest.raises(BundleError, match="not written.*evaluation belongs in report.json"):
        write_bundle(tmp_path / "d", manifest | report, files)
    assert not (tmp_path / "d").exists()


def test_checksum_mismatch_is_refused(random_bundle: Path, tmp_path: Path) -> None:
    bundle = _copy(random_bundle, tmp_path)
    payload = bytearray((bundle / "tiny.tflite").read_bytes())
    payload[-1] ^= 0xFF
    (bundle / "tiny.tflite").write_bytes(bytes(payload))
    with pytest.raises(BundleError, match="sha256"):
        read_bundle(bundle)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(schema_version=99), "schema version"),
        (lambda m: m.update(frontend_hash="0" * 16), "frontend_hash"),
        (lambda m: m["frontend"].update(num_channels=32), "frontend"),
        (lambda m: m["models"]["tiny"].update(file="../tiny.tflite"), "outside"),
        (lambda m: m["models"]["full"].pop("inputs"), "inputs"),
        (lambda m: m["thresholds"].pop("detect"), "detect"),
        (lambda m: m["models"]["full"].update(score_activation="tanh"), "score_activation"),
        (lambda m: m["thresholds"].update(detect_smoothing=0), "detect_smoothing"),
        (lambda m: m["thresholds"].update(smoothing_frames=2.5), "smoothing_frames"),
        (lambda m: m.update(keyword="hey \x1b]0;owned\x07\x1b[2J"), "control characters"),
        (lambda m: m.update(keyword="hey\u202ejarvis"), "control characters"),
        (lambda m: m.update(keyword="hey\njarvis"), "control characters"),
        (lambda m: m["thresholds"].update(detect=5), "thresholds.detect must be a probability"),
        (lambda m: m["thresholds"].update(preroll_s=3600), "thresholds.preroll_s must be 0-60"),
        (lambda m: m["thresholds"].update(wake="0.5"), "thresholds.wake must be a number"),
        (lambda m: m["thresholds"].update(wake_window_s=0), "wake_window_s must be at least 0.01"),
    ],
)
def test_bad_manifest_is_refused_with_reason(
    random_bundle: Path, tmp_path: Path, change, message
) -> None:  # type: ignore[no-untyped-def]
    bundle = _copy(random_bundle, tmp_path)
    _edit_manifest(bundle, change)
    with pytest.raises(BundleError, match=message):
        read_bundle(bundle)


def test_missing_files_are_refused(tmp_path: Path, random_bundle: Path) -> None:
    with pytest.raises(BundleError, match="no bundle folder"):
        read_bundle(tmp_path / "nothing")
    bundle = _copy(random_bundle, tmp_path)
    (bundle / "full.tflite").unlink()
    with pytest.raises(BundleError, match="missing"):
        read_bundle(bundle)
    (bundle / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        read_bundle(bundle)


def test_a_deep_or_huge_manifest_is_refused(random_bundle: Path, tmp_path: Path) -> None:
    from kws.untrusted import MAX_JSON_BYTES

    bundle = _copy(random_bundle, tmp_path)
    (bundle / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BundleError, match="nested too deeply"):
        read_bundle(bundle)
    manifest = (random_bundle / "manifest.json").read_text()
    (bundle / "manifest.json").write_text(manifest + " " * MAX_JSON_BYTES)
    with pytest.raises(BundleError, match="larger than"):
        read_bundle(bundle)


def test_an_oversized_or_special_model_file_is_refused(random_bundle: Path, tmp_path: Path) -> None:
    from kws.untrusted import MAX_MODEL_BYTES

    bundle = _copy(random_bundle, tmp_path)
    (bundle / "tiny.tflite").unlink()
    with open(bundle / "tiny.tflite", "wb") as handle:
        handle.truncate(MAX_MODEL_BYTES + 1)  # sparse: no disk used
    with pytest.raises(BundleError, match="larger than"):
        read_bundle(bundle)
    (bundle / "tiny.tflite").unlink()
    os.mkfifo(bundle / "tiny.tflite")
    with pytest.raises(BundleError, match="not a regular file"):
        read_bundle(bundle)


def test_the_model_loaded_is_the_model_verified(
    random_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model file replaced right after its checksum was verified is never loaded."""
    import kws.bundle
    import kws.loading
    from kws.loading import load_cascade

    bundle = _copy(random_bundle, tmp_path)
    expected = {
        name: kws.bundle.sha256_bytes((bundle / name).read_bytes())
        for name in ("tiny.tflite", "full.tflite")
    }
    real_hash, real_model = kws.bundle.sha256_bytes, kws.loading.TfliteModel

    def hash_then_swap(payload: bytes) -> str:
        for name in expected:
            if (bundle / name).read_bytes() == payload:
                (bundle / name).write_bytes(b"swapped after the check")
        return real_hash(payload)

    loaded = []

    def spying_model(content: bytes, *args, **kwargs):  # type: ignore[no-untyped-def]
        loaded.append(real_hash(content))
        return real_model(content, *args, **kwargs)

    monkeypatch.setattr(kws.bundle, "sha256_bytes", hash_then_swap)
    monkeypatch.setattr(kws.loading, "TfliteModel", spying_model)
    try:
        load_cascade(bundle)
    except BundleError:
        pass  # refusing the swapped file is right too
    assert set(loaded) <= set(expected.values())


def test_interrupted_write_keeps_previous_bundle(
    random_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = _copy(random_bundle, tmp_path)
    before = {p.name: p.read_bytes() for p in bundle.iterdir()}
    manifest = read_bundle(bundle).to_dict()
    files = {"tiny.tflite": b"new tiny", "full.tflite": b"new full"}
    real_replace = os.replace

    def failing_replace(src, dst):  # type: ignore[no-untyped-def]
        if Path(dst) == bundle and ".old." not in Path(src).name:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(BundleError, match="No space left"):
        write_bundle(bundle, manifest, files)
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in bundle.iterdir()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".copy")] == []


def _user_folder(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    folder = tmp_path / "mine"
    (folder / "photos").mkdir(parents=True)
    (folder / "thesis.txt").write_bytes(b"three years of work")
    (folder / "photos" / "cat.jpg").write_bytes(b"\xff\xd8 a cat")
    return folder, {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*.*")}


def test_a_folder_that_is_not_a_bundle_is_never_replaced(
    random_bundle: Path, tmp_path: Path
) -> None:
    manifest = read_bundle(random_bundle).to_dict()
    files = {name: (random_bundle / name).read_bytes() for name in ("tiny.tflite", "full.tflite")}
    folder, before = _user_folder(tmp_path)
    with pytest.raises(BundleError, match="not a kws bundle.*thesis.txt"):
        write_bundle(folder, manifest, files)
    assert {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*.*")} == before
    # a folder named like a bundle's file but holding a foreign manifest is not a bundle either
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "manifest.json").write_text('{"name": "my web app"}')
    with pytest.raises(BundleError, match="no kws manifest"):
        write_bundle(fake, manifest, files)
    assert (fake / "manifest.json").read_text() == '{"name": "my web app"}'
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    with pytest.raises(BundleError, match="not a folder"):
        write_bundle(a_file, manifest, files)
    assert a_file.read_text() == "keep me"
    # an empty folder and an earlier bundle are replaced
    empty = tmp_path / "empty"
    empty.mkdir()
    assert read_bundle(write_bundle(empty, manifest, files)).keyword == manifest["keyword"]
    bundle = _copy(random_bundle, tmp_path)
    assert read_bundle(write_bundle(bundle, manifest, files)).keyword == manifest["keyword"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_new_bundle_folder_follows_the_umask(random_bundle: Path, tmp_path: Path) -> None:
    manifest = read_bundle(random_bundle).to_dict()
    files = {name: (random_bundle / name).read_bytes() for name in ("tiny.tflite", "full.tflite")}
    previous = os.umask(0o022)
    try:
        bundle = write_bundle(tmp_path / "new", manifest, files)
    finally:
        os.umask(previous)
    assert bundle.stat().st_mode & 0o777 == 0o755
    assert (bundle / "manifest.json").stat().st_mode & 0o777 == 0o644


def test_an_unwritable_destination_is_found_before_writing(tmp_path: Path) -> None:
    from kws.bundle import check_bundle_destination, check_writable_folder

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(BundleError, match="is a file"):
        check_writable_folder(blocker / "cache")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        probe = locked / "probe"
        try:
            probe.write_text("")  # root ignores permissions: then nothing to prove here
        except PermissionError:
            with pytest.raises(BundleError, match="cannot write to"):
                check_bundle_destination(locked / "bundle")
        else:
            probe.unlink()
    finally:
        locked.chmod(0o755)
    check_bundle_destination(tmp_path / "new" / "deeper" / "bundle")  # created when written
