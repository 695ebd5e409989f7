"""Model bundles: a folder with ``manifest.json`` (what the runtime needs), ``tiny.tflite``,
``full.tflite``, and from training ``report.json`` (what it measured), ``CARD.md`` (rendered
from both by ``training.card``) and the DET curve files.

A bundle is data. Loading it (``read_bundle``) reads JSON and bytes and checks them; it never
executes code. The manifest's types and their one validation are ``kws.manifest``'s.
Writing is atomic: everything goes to a temporary sibling folder, which replaces the old bundle
only with a final rename, so an interrupted write leaves the previous bundle intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import reprlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kws.errors import BundleError
from kws.manifest import (
    SCHEMA_VERSION,
    VERIFIER_FILE_NAMES,
    VERIFIER_SCHEMA_VERSION,
    Bundle,
    ModelSpec,
    VerifierFile,
)
from kws.untrusted import MAX_MODEL_BYTES, inside_folder, read_capped, read_json

# Every name a bundle folder may hold (what ``write_bundle`` and training put there).
BUNDLE_FILE_NAMES = frozenset(
    {"manifest.json", "CARD.md", "tiny.tflite", "full.tflite", "det.csv", "det.png", "report.json"}
    | set(VERIFIER_FILE_NAMES.values())
)


def sha256_bytes(payload: bytes) -> str:
    """Hex sha256 of ``payload``."""
    return hashlib.sha256(payload).hexdigest()


def write_bundle(
    out_dir: str | Path,
    manifest: dict[str, Any],
    files: dict[str, bytes],
    report: dict[str, Any] | None = None,
) -> Path:
    """Write a bundle folder atomically and return its path.

    ``manifest`` goes to ``manifest.json`` (schema 2: what the runtime needs), ``report`` (what
    training measured: ``evaluation``, ``training``), if any, to ``report.json``. ``files`` maps
    other file names (no folders) to bytes (the models, a card); each model's ``sha256`` and
    ``bytes`` in the manifest are filled in from them. The folder is first written beside
    ``out_dir`` and renamed into place only when complete.

    Raises:
        BundleError: a file name escapes the folder, a model's file is missing, the manifest or
            report would not load (``Bundle.from_dict``), or the disk refuses the write.
    """
    out_path = Path(out_dir)
    manifest = json.loads(json.dumps(manifest))  # deep copy, and proof it is plain JSON
    manifest.setdefault(
        "schema_version", VERIFIER_SCHEMA_VERSION if "verifier" in manifest else SCHEMA_VERSION
    )
    for name in files:
        if Path(name).name != name or name in ("", ".", "..", "manifest.json"):
            raise BundleError(f"bundle file name {name!r} must be a plain file name")
    for role, model in manifest.get("models", {}).items():
        payload = files.get(model.get("file", ""))
        if payload is None:
            raise BundleError(f"model {role!r} names file {model.get('file')!r}, not given")
        model["sha256"] = sha256_bytes(payload)
        model["bytes"] = len(payload)
    verifier = manifest.get("verifier")
    for role, entry in verifier.items() if isinstance(verifier, dict) else ():
        if isinstance(entry, dict) and "file" in entry:
            payload = files.get(entry["file"])
            if payload is None:
                raise BundleError(f"verifier {role!r} names file {entry['file']!r}, not given")
            entry["sha256"] = sha256_bytes(payload)
            entry["bytes"] = len(payload)
    # what would not load is not written (a schema 1 manifest with its report inside, say)
    bundle = Bundle.from_dict(
        manifest, f"{out_path / 'manifest.json'} (not written)", report=report
    )
    report_file = bundle.report_dict()  # with its schema version and keyword
    if report_file is not None:
        files = files | {"report.json": json.dumps(report_file, indent=2).encode() + b"\n"}

    check_bundle_destination(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_path.name}.", dir=out_path.parent))
    try:
        for name, payload in files.items():
            _write_synced(staging / name, payload)
        _write_synced(staging / "manifest.json", json.dumps(manifest, indent=2).encode() + b"\n")
        staging.chmod(0o777 & ~_umask())  # mkdtemp made it 0700; a bundle is shared like a folder
        _swap_into_place(staging, out_path)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise BundleError(f"cannot write bundle {out_path}: {error.strerror or error}") from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_path


def check_bundle_destination(out_dir: str | Path) -> None:
    """Refuse a destination that writing a bundle would destroy or cannot write.

    A bundle may replace an empty folder or an earlier kws bundle (a folder holding only the
    files a bundle has, with a kws manifest); anything else is the user's and stays untouched.
    The nearest existing folder on the way must accept a new file.

    Raises:
        BundleError: ``out_dir`` is a file, a folder with other files in it, or not writable.
    """
    out_path = Path(out_dir)
    if out_path.is_symlink() or (out_path.exists() and not out_path.is_dir()):
        raise BundleError(f"{out_path} exists and is not a folder; choose another --out")
    if out_path.is_dir():
        names = sorted(entry.name for entry in out_path.iterdir())
        foreign = [name for name in names if name not in BUNDLE_FILE_NAMES]
        if names and (foreign or not _is_kws_manifest(out_path / "manifest.json")):
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise BundleError(
                f"{out_path} is a folder that is not a kws bundle"
                + (f" (it holds {shown})" if foreign else " (no kws manifest.json)")
                + "; it would be replaced: choose an empty or new folder for --out"
            )
    check_writable_folder(out_path.parent)


def check_writable_folder(folder: str | Path) -> None:
    """Prove that a file can be created in ``folder`` (or its nearest existing ancestor, where
    it will be created), by creating and removing one.

    Raises:
        BundleError: the folder cannot be written (read-only mount, permissions, a file in the
            way).
    """
    nearest = Path(folder).absolute()
    while not nearest.exists():
        nearest = nearest.parent
    if not nearest.is_dir():
        raise BundleError(f"cannot create {folder}: {nearest} is a file")
    try:
        with tempfile.TemporaryFile(dir=nearest):
            pass
    except OSError as error:
        raise BundleError(f"cannot write to {nearest}: {error.strerror or error}") from error


def _is_kws_manifest(path: Path) -> bool:
    try:
        manifest = read_json(path)
    except BundleError:
        return False
    return (
        isinstance(manifest, dict)
        and isinstance(manifest.get("models"), dict)
        and "schema_version" in manifest
        and "keyword" in manifest
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _swap_into_place(staging: Path, out_path: Path) -> None:
    """Rename ``staging`` to ``out_path``; an existing bundle (or empty folder) is set aside
    under a new name first and put back if the rename fails, so some complete bundle is always
    at ``out_path``."""
    if not out_path.exists():
        os.replace(staging, out_path)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{out_path.name}.old.", dir=out_path.parent))
    os.replace(out_path, backup)  # onto the new empty folder: never a name someone else owns
    try:
        os.replace(staging, out_path)
    except OSError:
        os.replace(backup, out_path)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def _write_synced(path: Path, payload: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def read_bundle(path: str | Path) -> Bundle:
    """Read and verify the bundle in the folder ``path``: its manifest and report checked
    (``Bundle.from_dict``) and every model file inside the folder, matching its checksum.

    Raises:
        BundleError: missing folder or file, invalid JSON, wrong schema version, a path outside
            the folder, a checksum mismatch, or a frontend that differs from this runtime's.
    """
    bundle_dir = Path(path)
    if not bundle_dir.is_dir():
        raise BundleError(f"no bundle folder at {bundle_dir}")
    manifest_path = bundle_dir / "manifest.json"
    if not manifest_path.is_file():
        raise BundleError(f"{bundle_dir} has no manifest.json")
    manifest = read_json(manifest_path)
    report_path = bundle_dir / "report.json"
    report = None
    if isinstance(manifest, dict) and manifest.get("schema_version") != 1 and report_path.exists():
        report = read_json(report_path)
    bundle = Bundle.from_dict(manifest, str(manifest_path), bundle_dir.resolve(), report)
    for role, spec in bundle.models.items():
        read_model(bundle_dir, role, spec)
    if bundle.verifier is not None:
        for role, entry in bundle.verifier.files.items():
            read_verifier_file(bundle_dir, role, entry)
    return bundle


def read_verifier_file(bundle_dir: Path, role: str, entry: VerifierFile) -> bytes:
    """One verifier file's bytes (``kws.manifest.VERIFIER_FILE_ROLES``), checked as
    ``read_model`` checks a model's.

    Raises:
        BundleError: as ``read_model``.
    """
    return _read_checked(bundle_dir, f"verifier {role!r}", entry.file, entry.sha256)


def model_path(bundle_dir: Path, role: str, spec: ModelSpec) -> Path:
    """The model file's path, refusing names that leave the bundle folder."""
    return _inside(bundle_dir, f"model {role!r}", spec.file)


def _inside(bundle_dir: Path, label: str, name: str) -> Path:
    candidate = inside_folder(bundle_dir, name)
    if candidate is None:
        raise BundleError(f"{label} file {reprlib.repr(name)} is outside the bundle folder")
    return candidate


def read_model(bundle_dir: Path, role: str, spec: ModelSpec) -> bytes:
    """The model file's bytes, read once and checked against the manifest's ``sha256``: load
    these, not a second read of the file, which may have changed since.

    Raises:
        BundleError: the file is outside the folder, missing, not a regular file, larger than
            ``MAX_MODEL_BYTES``, or does not match its checksum.
    """
    return _read_checked(bundle_dir, f"model {role!r}", spec.file, spec.sha256)


def _read_checked(bundle_dir: Path, label: str, name: str, sha256: str) -> bytes:
    """The bytes of the file ``name`` in the bundle (``label`` names it in messages), checked:
    see ``read_model``."""
    path = _inside(bundle_dir, label, name)
    if not path.exists():
        raise BundleError(f"{label} file {path.name} is missing from {bundle_dir}")
    payload = read_capped(path, MAX_MODEL_BYTES)
    if sha256_bytes(payload) != sha256:
        raise BundleError(f"{label} file {path.name} does not match its sha256 checksum")
    return payload
