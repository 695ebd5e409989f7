"""Model bundles: a folder with ``manifest.json``, ``tiny.tflite``, ``full.tflite`` and ``CARD.md``.

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
from kws.manifest import SCHEMA_VERSION, Bundle, ModelSpec
from kws.untrusted import MAX_MODEL_BYTES, inside_folder, read_capped, read_json

# Every name a bundle folder may hold (what ``write_bundle`` and training put there).
BUNDLE_FILE_NAMES = frozenset(
    {"manifest.json", "CARD.md", "tiny.tflite", "full.tflite", "det.csv", "det.png", "report.json"}
)


def sha256_bytes(payload: bytes) -> str:
    """Hex sha256 of ``payload``."""
    return hashlib.sha256(payload).hexdigest()


def write_bundle(out_dir: str | Path, manifest: dict[str, Any], files: dict[str, bytes]) -> Path:
    """Write a bundle folder atomically and return its path.

    ``files`` maps file names (no folders) to bytes; each model's ``sha256`` and ``bytes`` in
    the manifest are filled in from them. The folder is first written beside ``out_dir`` and
    renamed into place only when complete.

    Raises:
        BundleError: a file name escapes the folder, a model's file is missing, or the disk
            refuses the write.
    """
    out_path = Path(out_dir)
    manifest = json.loads(json.dumps(manifest))  # deep copy, and proof it is plain JSON
    manifest.setdefault("schema_version", SCHEMA_VERSION)
    for name in files:
        if Path(name).name != name or name in ("", ".", ".."):
            raise BundleError(f"bundle file name {name!r} must be a plain file name")
    for role, model in manifest.get("models", {}).items():
        payload = files.get(model.get("file", ""))
        if payload is None:
            raise BundleError(f"model {role!r} names file {model.get('file')!r}, not given")
        model["sha256"] = sha256_bytes(payload)
        model["bytes"] = len(payload)

    check_bundle_destination(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_path.name}.", dir=out_path.parent))
    try:
        for name, payload in files.items():
            _write_synced(staging / name, payload)
        _write_synced(staging / "manifest.json", json.dumps(manifest, indent=2).encode() + b"\n")
        _write_synced(staging / "CARD.md", render_card(manifest).encode())
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
    """Read and verify the bundle in the folder ``path``: its manifest checked
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
    bundle = Bundle.from_dict(read_json(manifest_path), str(manifest_path), bundle_dir.resolve())
    for role, spec in bundle.models.items():
        read_model(bundle_dir, role, spec)
    return bundle


def model_path(bundle_dir: Path, role: str, spec: ModelSpec) -> Path:
    """The model file's path, refusing names that leave the bundle folder."""
    candidate = inside_folder(bundle_dir, spec.file)
    if candidate is None:
        raise BundleError(
            f"model {role!r} file {reprlib.repr(spec.file)} is outside the bundle folder"
        )
    return candidate


def read_model(bundle_dir: Path, role: str, spec: ModelSpec) -> bytes:
    """The model file's bytes, read once and checked against the manifest's ``sha256``: load
    these, not a second read of the file, which may have changed since.

    Raises:
        BundleError: the file is outside the folder, missing, not a regular file, larger than
            ``MAX_MODEL_BYTES``, or does not match its checksum.
    """
    path = model_path(bundle_dir, role, spec)
    if not path.exists():
        raise BundleError(f"model {role!r} file {path.name} is missing from {bundle_dir}")
    payload = read_capped(path, MAX_MODEL_BYTES)
    if sha256_bytes(payload) != spec.sha256:
        raise BundleError(f"model {role!r} file {path.name} does not match its sha256 checksum")
    return payload


def _percent(value: Any, missing: str = "?") -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else missing


def _real_speech_lines(keyword: str, figures: Any) -> list[str]:
    """The card's section on real people (``kws train --real-speech``), if measured."""
    if not isinstance(figures, dict):
        return []
    folders = figures.get("folders", {})
    lines = [
        "",
        "## Real people (measurement only)",
        "",
        f"Recordings in `{figures.get('data_dir', '?')}`: "
        + ", ".join(f"{phrase} {count}" for phrase, count in folders.items())
        + f", each after {figures.get('lead_in_s', '?')} s of its own room tone, as "
        f"`kws bench realspeech` plays them; noisy: mixed at {figures.get('snr_db', '?')} dB SNR. "
        "Nothing in training was chosen by them.",
        "",
        "| cascade at the shipped thresholds | missed clean | missed noisy | others accepted |",
        "|---|---|---|---|",
        f"| {keyword} | {_percent(figures.get('frr_clean'), 'no recordings of it')} | "
        f"{_percent(figures.get('frr_noisy'), '-')} | {_percent(figures.get('others_accepted'))} "
        f"of {figures.get('others', '?')} |",
    ]
    return lines


def _floor_lines(manifest: dict[str, Any]) -> list[str]:
    """The card's word on the bundle's noise floor, and whether its figures include it."""
    floor = manifest.get("noise_floor_dbfs")
    if floor is None:
        return []
    trained = manifest.get("training", {}).get("noise_floor_dbfs")
    measured = (
        "Training's clips and streams carried the same floor: the figures below were measured "
        "through it."
        if trained == floor
        else "It was added after this bundle was trained: the figures below were measured "
        "without it (docs/RESULTS.md measures the bundle with it)."
    )
    return [
        "",
        "## Noise floor",
        "",
        f"Pink noise at {floor:g} dBFS RMS is added under all audio before the frontend "
        f"(`kws.noise_floor`; `--noise-floor off` leaves it out). {measured}",
    ]


def render_card(manifest: dict[str, Any]) -> str:
    """A model card (Markdown) generated from the manifest's own figures."""
    lines = [f"# {manifest.get('keyword', '?')} — kws model card", ""]
    lines += ["Generated from `manifest.json`; every figure below was measured at export.", ""]
    lines += ["## Models", ""]
    lines += [
        "| model | architecture | input | params | int8 bytes | MACs per inference | "
        "inferences per s when running | arena estimate |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for role, model in manifest.get("models", {}).items():
        shape = model.get("inputs", [{}])[0].get("shape", "?")
        per_second = 100 / model["stride_frames"] if model.get("stride_frames") else "?"
        lines.append(
            f"| {role} | {model.get('architecture', '?')} | {shape} | {model.get('params', '?')} | "
            f"{model.get('bytes', '?')} | {model.get('macs_per_inference', '?')} | "
            f"{per_second if isinstance(per_second, str) else round(per_second, 1)} | "
            f"{model.get('arena_bytes', '?')} |"
        )
    thresholds = manifest.get("thresholds", {})
    if thresholds:
        lines += ["", "## Thresholds", ""]
        lines += [f"- {key}: {value}" for key, value in thresholds.items()]
        choice = manifest.get("evaluation", {}).get("threshold_choice")
        if isinstance(choice, dict):
            lines += [
                "",
                f"Chosen on {choice.get('on', '?')}: the full model alone needs a detect "
                f"threshold of {choice.get('full_alone_detect', '?')} for "
                f"{manifest['evaluation'].get('target_fa_per_hour', '?')} FA/h; the cascade "
                "meets that rate at the detect threshold above, with the wake threshold a step "
                "below the highest that keeps "
                f"{_percent(choice.get('wake_keeps_of_full_detections'))} of the full model's "
                f"detections (wake, detect by step: "
                + ", ".join(
                    f"{r.get('wake')}, {r.get('detect')}"
                    for r in choice.get("steps", [])
                    if isinstance(r, dict)
                )
                + ").",
            ]
    lines += _floor_lines(manifest)
    evaluation = manifest.get("evaluation", {})
    if evaluation:
        split = evaluation.get("test_split", {})
        lines += ["", "## Measured performance (held-out test voices)", ""]
        lines += [
            f"Test split: {split.get('positives', '?')} keyword clips "
            f"({split.get('positives_snr_db', '?')} SNR), {split.get('stream_hours', '?')} h "
            f"of keyword-free stream ({split.get('stream_is', 'speech and noise')}), "
            f"{split.get('negative_clips', '?')} keyword-free clips "
            f"({split.get('negative_clips_are', '?')}). FRR = false-reject rate, FA/h = false "
            "accepts per hour of the stream, clips accepted = share of keyword-free clips that "
            "fire.",
            "",
        ]
        lines += ["| detector | FRR | FA/h | clips accepted |", "|---|---|---|---|"]
        for label, key in (
            ("cascade at the shipped thresholds", "cascade_at_shipped_thresholds"),
            ("full model on every step, same detect threshold", "full_only_at_shipped_thresholds"),
        ):
            row = evaluation.get(key, {})
            lines.append(
                f"| {label} | {_percent(row.get('frr'))} | {row.get('fa_per_hour', '?')} | "
                f"{_percent(row.get('negative_clips_accepted'))} |"
            )
        peer = evaluation.get("microwakeword", {})
        if peer.get("available"):
            at = peer.get("at_its_cutoff", {})
            lines.append(
                f"| {peer.get('model')} at its cutoff {at.get('cutoff')} | "
                f"{_percent(at.get('frr'))} | {at.get('fa_per_hour', '?')} | "
                f"{_percent(at.get('negative_clips_accepted'))} |"
            )
        cascade = evaluation.get("cascade_at_shipped_thresholds", {})
        contexts = {k[4:]: v for k, v in cascade.items() if k.startswith("frr ")}
        if contexts:
            lines += [
                "",
                "The cascade's FRR by what the keyword follows: "
                + ", ".join(f"{context} {_percent(frr)}" for context, frr in contexts.items())
                + ".",
            ]
        lines += _real_speech_lines(manifest.get("keyword", "?"), evaluation.get("real_speech"))
        comparison = evaluation.get("qat_vs_ptq", {})
        if comparison:
            target = evaluation.get("target_fa_per_hour", "?")
            lines += [
                "",
                f"Quantization-aware training against post-training quantization (FRR at {target} "
                "FA/h, and the mean FRR at 0.5, 1, 2 and 5 FA/h, on the test split; the QAT epoch "
                "kept is the one whose int8 model missed least on validation, 0 meaning the "
                "PTQ model):",
                "",
                "| model | QAT FRR | PTQ FRR | QAT mean FRR | PTQ mean FRR | QAT epochs kept |",
                "|---|---|---|---|---|---|",
            ]
            for role, row in comparison.items():
                kept = row.get("qat_epochs_kept", "?")
                lines.append(
                    f"| {role} | {_percent(row.get('qat_frr'))} | {_percent(row.get('ptq_frr'))} | "
                    f"{_percent(row.get('qat_mean_frr_0.5_to_5_fa_per_hour'))} | "
                    f"{_percent(row.get('ptq_mean_frr_0.5_to_5_fa_per_hour'))} | "
                    f"{kept} of {row.get('qat_epochs_trained', '?')} |"
                )
        lines += [
            "",
            "Full figures (QAT and PTQ exports of both models, DET data in `det.csv`):",
            "",
        ]
        lines += ["```json", json.dumps(evaluation, indent=2), "```"]
    training = manifest.get("training", {})
    if training:
        lines += ["", "## Training", ""]
        lines += [f"- {key}: `{json.dumps(value)}`" for key, value in training.items()]
    return "\n".join(lines) + "\n"
