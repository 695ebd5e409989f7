"""A bundle's ``manifest.json`` as types: ``Bundle``, its ``ModelSpec`` per role and their
``TensorSpec``s, with the decision policy as ``kws.thresholds.Thresholds``.

Schema 3 is schema 2 with an optional verifier (``VerifierSpec``); bundles without one stay
schema 2. Schema 2 splits a bundle in two: ``manifest.json`` holds what the runtime needs (keyword,
frontend, models, thresholds, noise floor); ``report.json`` what training measured and did
(``evaluation``, ``training``), which the runtime only shows (``kws models``) and training
renders into ``CARD.md``. Schema 1 manifests held both; they are read as if split (the
migration is ``Bundle.from_dict``'s: nothing on disk is rewritten).

``Bundle.from_dict`` is the one validation of a manifest's (and its report's) content;
``kws.bundle.read_bundle`` adds what needs the folder (model files inside it, matching their
checksums). ``to_dict`` gives the schema 2 manifest back and ``report_dict`` the report, so
``to_dict(from_dict(d)) == d`` for a schema 2 manifest: a model's optional figures stay absent
(None), keys this runtime does not type are kept in ``extra`` (a newer kws may record more
figures). Three defaults are not told apart from the keys they stand for: ``to_dict`` leaves out
``detect_smoothing`` at 1 and writes ``feature_scale`` and every frontend field (a manifest
without them means those values). The report's sections are carried as read-only JSON
(mappings and tuples), not typed yet.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kws.errors import BundleError
from kws.frontend import FEATURE_SCALE, FrontendConfig
from kws.frontend.config import HOP_S
from kws.noise_floor import floor_problem
from kws.thresholds import Thresholds, threshold_problem
from kws.untrusted import escape_unprintable

SCHEMA_VERSION = 2
# 3: schema 2 with a verifier (``kws.verifier``): a runtime that would ignore it refuses it
VERIFIER_SCHEMA_VERSION = 3
READABLE_SCHEMA_VERSIONS = (1, 2, 3)  # 1: evaluation and training inside manifest.json
VERIFIER_FILE_ROLES = ("melspectrogram", "embedding", "head")
VERIFIER_FILE_NAMES = {
    "melspectrogram": "verifier_melspectrogram.onnx",
    "embedding": "verifier_embedding.onnx",
    "head": "verifier_head.npz",
}
_VERIFIER_KEYS = (*VERIFIER_FILE_ROLES, "threshold", "before_s", "source")
REPORT_SECTIONS = ("evaluation", "training")
SCORE_ACTIVATIONS = ("none", "sigmoid")
REQUIRED_MODEL_KEYS = (
    "file",
    "sha256",
    "streaming",
    "stride_frames",
    "window_frames",
    "inputs",
    "outputs",
    "states",
)
REQUIRED_THRESHOLD_KEYS = (
    "wake",
    "detect",
    "smoothing_frames",
    "wake_window_s",
    "preroll_s",
    "refractory_s",
)
# A model's recorded figures: absent, or a count (a non-negative whole number).
MODEL_COUNT_KEYS = (
    "receptive_field_frames",
    "macs_per_inference",
    "macs_per_second",
    "params",
    "arena_bytes",
    "bytes",
)
_MODEL_KEYS = (
    *REQUIRED_MODEL_KEYS,
    *MODEL_COUNT_KEYS,
    "architecture",
    "score_activation",
    "internal_state",
)
_ZERO_POINT_RANGES = {"int8": (-128, 127), "uint8": (0, 255)}
_TENSOR_KEYS = ("name", "index", "shape", "dtype", "scale", "zero_point")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _is_int(value: Any, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def frozen_json(value: Any) -> Any:
    """JSON data made read-only: objects as ``MappingProxyType``, arrays as tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: frozen_json(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(frozen_json(item) for item in value)
    return value


def thawed_json(value: Any) -> Any:
    """The plain JSON data (dicts, lists) that ``frozen_json`` made read-only."""
    if isinstance(value, Mapping):
        return {key: thawed_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thawed_json(item) for item in value]
    return value


def _extra(entry: Mapping[str, Any], known: tuple[str, ...]) -> Mapping[str, Any]:
    """The keys of ``entry`` outside ``known``, read-only."""
    unknown = {key: value for key, value in entry.items() if key not in known}
    return frozen_json(unknown) if unknown else _EMPTY


def score_activation(spec: Mapping[str, Any], label: str) -> str:
    """A model entry's ``score_activation`` ("none" when absent), checked: the one check.

    Raises:
        BundleError: naming ``label`` (a model's role or file) and the values allowed.
    """
    activation = spec.get("score_activation", "none")
    if activation not in SCORE_ACTIVATIONS:
        raise BundleError(
            f"{label}: score_activation {activation!r} is not one of {', '.join(SCORE_ACTIVATIONS)}"
        )
    return str(activation)


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output as the interpreter sees it: ``index`` in the model, ``shape``,
    ``dtype`` ("int8" or "uint8") and its quantization (``real = scale * (q - zero_point)``)."""

    name: str
    index: int
    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @classmethod
    def from_dict(cls, entry: Any, where: str) -> TensorSpec:
        """Check one manifest tensor entry; ``where`` starts each message ("model 'tiny'
        inputs").

        Raises:
            BundleError: not an object, or a field missing or of the wrong type or range.
        """
        if not isinstance(entry, dict):
            raise BundleError(f"{where} entries must be objects")
        if not isinstance(entry.get("name"), str):
            raise BundleError(f"{where} entry has no name")
        name = entry["name"]
        if not _is_int(entry.get("index")):
            raise BundleError(f"{where} {name!r}: index must be a non-negative integer")
        shape = entry.get("shape")
        if not isinstance(shape, list) or not shape or not all(_is_int(d, 1) for d in shape):
            raise BundleError(f"{where} {name!r}: shape must be a list of positive integers")
        if entry.get("dtype") not in ("int8", "uint8"):
            raise BundleError(f"{where} {name!r}: dtype must be int8 or uint8")
        if not _is_number(entry.get("scale")) or entry["scale"] <= 0:
            raise BundleError(f"{where} {name!r}: scale must be a positive number")
        low, high = _ZERO_POINT_RANGES[entry["dtype"]]
        if not _is_int(entry.get("zero_point"), low) or entry["zero_point"] > high:
            raise BundleError(
                f"{where} {name!r}: zero_point must be an integer {low}..{high} for "
                f"{entry['dtype']}, got {reprlib.repr(entry.get('zero_point'))}"
            )
        return cls(
            name=name,
            index=entry["index"],
            shape=tuple(shape),
            dtype=entry["dtype"],
            scale=float(entry["scale"]),
            zero_point=entry["zero_point"],
            extra=_extra(entry, _TENSOR_KEYS),
        )

    def to_dict(self) -> dict[str, Any]:
        """The manifest's entry for this tensor."""
        return {
            "name": self.name,
            "index": self.index,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "scale": self.scale,
            "zero_point": self.zero_point,
            **thawed_json(self.extra),
        }


@dataclass(frozen=True)
class ModelSpec:
    """One model of a bundle: its file and checksum, how the cascade feeds it (``streaming``,
    every ``stride_frames`` frames a window of ``window_frames``), its tensors and the carried
    ``states`` ([input, output] names), and what export recorded about it (None when absent).
    ``score_activation`` None means "none": the score output is the probability itself."""

    file: str
    sha256: str
    streaming: bool
    stride_frames: int
    window_frames: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    states: tuple[tuple[str, str], ...]
    architecture: str | None = None
    receptive_field_frames: int | None = None
    score_activation: str | None = None
    macs_per_inference: int | None = None
    macs_per_second: int | None = None
    params: int | None = None
    arena_bytes: int | None = None
    bytes: int | None = None  # the model file's size
    # the state lives inside the model (microWakeWord's resource variables), not in tensors the
    # runtime carries: only a new interpreter starts it afresh
    internal_state: bool = False
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @classmethod
    def from_dict(cls, role: str, model: Any) -> ModelSpec:
        """Check the manifest entry of the model ``role`` (its file is checked by
        ``kws.bundle.read_model``).

        Raises:
            BundleError: naming the role and the key that is missing or wrong.
        """
        if not isinstance(model, dict):
            raise BundleError(f"model {role!r} entry must be an object")
        for key in REQUIRED_MODEL_KEYS:
            if key not in model:
                raise BundleError(f"model {role!r} is missing key {key!r}")
        if not isinstance(model["file"], str) or not model["file"]:
            raise BundleError(f"model {role!r} names no file")
        if not isinstance(model["sha256"], str):
            raise BundleError(f"model {role!r}: sha256 must be text")
        if not isinstance(model["streaming"], bool):
            raise BundleError(f"model {role!r}: streaming must be true or false")
        for key in ("stride_frames", "window_frames"):
            if not _is_int(model[key], 1) or model[key] > 10_000:
                raise BundleError(f"model {role!r}: {key} must be a positive integer")
        tensors: dict[str, tuple[TensorSpec, ...]] = {}
        for kind in ("inputs", "outputs"):
            if not isinstance(model[kind], list) or not model[kind]:
                raise BundleError(f"model {role!r}: {kind} must be a non-empty list")
            where = f"model {role!r} {kind}"
            tensors[kind] = tuple(TensorSpec.from_dict(entry, where) for entry in model[kind])
        score_activation(model, f"model {role!r}")
        states = model["states"]
        if not isinstance(states, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, str) for n in pair)
            for pair in states
        ):
            raise BundleError(f"model {role!r}: states must be a list of [input, output] names")
        for key in MODEL_COUNT_KEYS:
            if key in model and not _is_int(model[key]):
                raise BundleError(f"model {role!r}: {key} must be a non-negative integer")
        if "architecture" in model and not isinstance(model["architecture"], str):
            raise BundleError(f"model {role!r}: architecture must be text")
        if not isinstance(model.get("internal_state", False), bool):
            raise BundleError(f"model {role!r}: internal_state must be true or false")
        return cls(
            file=model["file"],
            sha256=model["sha256"],
            streaming=model["streaming"],
            stride_frames=model["stride_frames"],
            window_frames=model["window_frames"],
            inputs=tensors["inputs"],
            outputs=tensors["outputs"],
            states=tuple((str(pair[0]), str(pair[1])) for pair in states),
            architecture=model.get("architecture"),
            receptive_field_frames=model.get("receptive_field_frames"),
            score_activation=model.get("score_activation"),
            macs_per_inference=model.get("macs_per_inference"),
            macs_per_second=model.get("macs_per_second"),
            params=model.get("params"),
            arena_bytes=model.get("arena_bytes"),
            bytes=model.get("bytes"),
            internal_state=model.get("internal_state", False),
            extra=_extra(model, _MODEL_KEYS),
        )

    def to_dict(self) -> dict[str, Any]:
        """The manifest's entry for this model (what ``from_dict`` reads back)."""
        entry: dict[str, Any] = {
            "file": self.file,
            "architecture": self.architecture,
            "streaming": self.streaming,
            "stride_frames": self.stride_frames,
            "window_frames": self.window_frames,
            "receptive_field_frames": self.receptive_field_frames,
            "inputs": [tensor.to_dict() for tensor in self.inputs],
            "outputs": [tensor.to_dict() for tensor in self.outputs],
            "states": [list(pair) for pair in self.states],
            "score_activation": self.score_activation,
            "macs_per_inference": self.macs_per_inference,
            "macs_per_second": self.macs_per_second,
            "params": self.params,
            "arena_bytes": self.arena_bytes,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "internal_state": self.internal_state or None,  # written only when true
        }
        return {
            **{key: value for key, value in entry.items() if value is not None},
            **thawed_json(self.extra),
        }


@dataclass(frozen=True)
class VerifierFile:
    """One file of the verifier: its name in the bundle, checksum and size."""

    file: str
    sha256: str
    bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"file": self.file, "sha256": self.sha256}
        if self.bytes is not None:
            entry["bytes"] = self.bytes
        return entry


@dataclass(frozen=True)
class VerifierSpec:
    """The verifier after the cascade (``kws.verifier``): its three files by role
    (``VERIFIER_FILE_ROLES``), the head's ``threshold`` and the span ``before_s`` of windows
    it scores before a detection, and ``source``: where the embedding comes from and its
    licence."""

    files: Mapping[str, VerifierFile]
    threshold: float
    before_s: float
    source: str = ""
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @classmethod
    def from_dict(cls, entry: Any, source: str) -> VerifierSpec:
        """Check the manifest's ``verifier`` entry (its files are checked by
        ``kws.bundle.read_bundle``).

        Raises:
            BundleError: naming the key that is missing or wrong.
        """
        if not isinstance(entry, dict):
            raise BundleError(f"{source}: verifier must be an object")
        files = {}
        for role in VERIFIER_FILE_ROLES:
            item = entry.get(role)
            if not isinstance(item, dict):
                raise BundleError(f"{source}: verifier.{role} must be an object")
            if not isinstance(item.get("file"), str) or not item["file"]:
                raise BundleError(f"{source}: verifier.{role} names no file")
            if not isinstance(item.get("sha256"), str):
                raise BundleError(f"{source}: verifier.{role}.sha256 must be text")
            if "bytes" in item and not _is_int(item["bytes"]):
                raise BundleError(f"{source}: verifier.{role}.bytes must be a non-negative integer")
            files[role] = VerifierFile(item["file"], item["sha256"], item.get("bytes"))
        threshold: Any = entry.get("threshold")
        if not _is_number(threshold) or not 0.0 <= threshold <= 1.0:
            raise BundleError(f"{source}: verifier.threshold must be a number 0..1")
        before_s: Any = entry.get("before_s")
        if not _is_number(before_s) or not 0.0 <= before_s <= 2.0:
            raise BundleError(f"{source}: verifier.before_s must be a number of seconds 0..2")
        text = entry.get("source", "")
        if not isinstance(text, str):
            raise BundleError(f"{source}: verifier.source must be text")
        return cls(
            files=MappingProxyType(files),
            threshold=float(threshold),
            before_s=float(before_s),
            source=text,
            extra=_extra(entry, _VERIFIER_KEYS),
        )

    def to_dict(self) -> dict[str, Any]:
        """The manifest's ``verifier`` entry (what ``from_dict`` reads back)."""
        entry: dict[str, Any] = {role: f.to_dict() for role, f in self.files.items()}
        entry.update(threshold=self.threshold, before_s=self.before_s)
        if self.source:
            entry["source"] = self.source
        return {**entry, **thawed_json(self.extra)}


# What a schema 2 or 3 manifest may hold besides keys a newer kws adds (kept in ``extra``).
MANIFEST_KEYS = (
    "schema_version",
    "keyword",
    "frontend",
    "frontend_hash",
    "feature_scale",
    "models",
    "thresholds",
    "noise_floor_dbfs",
    "verifier",
)
_BUNDLE_KEYS = (*MANIFEST_KEYS, *REPORT_SECTIONS)  # schema 1 held the report too


@dataclass(frozen=True)
class Bundle:
    """A bundle's manifest, checked: the keyword, the frontend its models were trained on (and
    that configuration's hash), ``feature_scale`` (a uint16 frame value times it is the model's
    float input), the models by role ("tiny", "full"), the decision policy, and what training
    measured and did (read-only JSON, None when absent), the ``verifier`` (None when it has
    none). ``folder`` is where it was read from (None for a bundle built from a dict)."""

    schema_version: int
    keyword: str
    frontend: FrontendConfig
    frontend_hash: str
    feature_scale: float
    models: Mapping[str, ModelSpec]
    thresholds: Thresholds
    noise_floor_dbfs: float | None = None
    evaluation: Mapping[str, Any] | None = None
    training: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    folder: Path | None = None
    verifier: VerifierSpec | None = None

    @classmethod
    def from_dict(
        cls,
        manifest: Any,
        source: str = "manifest",
        folder: Path | None = None,
        report: Any = None,
    ) -> Bundle:
        """Check a manifest (parsed JSON) and, for schema 2, its report (parsed
        ``report.json``, None when there is none) and return them typed; ``source`` (the
        manifest's path) starts the messages. A schema 1 manifest carries its report inside.

        Raises:
            BundleError: not an object, a schema version this kws does not read, a frontend
                that differs from this runtime's, a model entry, threshold, feature scale or
                keyword that is missing or wrong, a report section that is not an object.
        """
        if not isinstance(manifest, dict):
            raise BundleError(f"{source} must hold a JSON object")
        version = manifest.get("schema_version")
        if version not in READABLE_SCHEMA_VERSIONS or isinstance(version, bool):
            raise BundleError(
                f"{source} has schema version {version!r}; this kws reads versions "
                + ", ".join(str(v) for v in READABLE_SCHEMA_VERSIONS)
            )
        if version == 1:
            report = {key: manifest[key] for key in REPORT_SECTIONS if key in manifest}
        else:
            inside = [key for key in REPORT_SECTIONS if key in manifest]
            if inside:
                raise BundleError(
                    f"{source}: {inside[0]} belongs in report.json from schema version 2 on"
                )
        sections = _report_sections(report, source)
        frontend = _frontend(manifest, source)
        models = manifest.get("models")
        if not isinstance(models, dict) or not models:
            raise BundleError(f"{source} lists no models")
        specs = {str(role): ModelSpec.from_dict(role, model) for role, model in models.items()}
        thresholds = _thresholds(manifest, source, has_tiny="tiny" in specs)
        scale = manifest.get("feature_scale", FEATURE_SCALE)
        if not _is_number(scale) or scale <= 0:
            raise BundleError(f"{source}: feature_scale must be a positive number")
        keyword = manifest.get("keyword")
        if not isinstance(keyword, str) or not keyword.strip():
            raise BundleError(f"{source} names no keyword")
        if escape_unprintable(keyword) != keyword:  # it is printed to terminals
            raise BundleError(
                f"{source}: keyword {reprlib.repr(keyword)} holds control characters; a "
                "keyword is printable text"
            )
        floor = manifest.get("noise_floor_dbfs")
        problem = None if floor is None else floor_problem(floor)
        if problem is not None:
            raise BundleError(f"{source}: noise_floor_dbfs {problem}")
        verifier = None
        if ("verifier" in manifest) != (version == VERIFIER_SCHEMA_VERSION):
            raise BundleError(
                f"{source}: schema version {VERIFIER_SCHEMA_VERSION} is a bundle with a "
                f"verifier, and only it has one (this one is version {version})"
            )
        if "verifier" in manifest:
            verifier = VerifierSpec.from_dict(manifest["verifier"], source)
        return cls(
            schema_version=SCHEMA_VERSION if verifier is None else VERIFIER_SCHEMA_VERSION,
            keyword=keyword,
            frontend=frontend,
            frontend_hash=manifest["frontend_hash"],
            feature_scale=float(scale),
            models=MappingProxyType(specs),
            thresholds=thresholds,
            noise_floor_dbfs=None if floor is None else float(floor),
            evaluation=sections.get("evaluation"),
            training=sections.get("training"),
            extra=_extra(manifest, _BUNDLE_KEYS),
            folder=folder,
            verifier=verifier,
        )

    def to_dict(self) -> dict[str, Any]:
        """The manifest (schema 2, or 3 with a verifier): plain JSON data, as
        ``manifest.json`` holds it."""
        defaults = {f.name: f.default for f in fields(Thresholds)}
        manifest: dict[str, Any] = {
            "schema_version": self.schema_version,
            "keyword": self.keyword,
            "frontend": self.frontend.to_dict(),
            "frontend_hash": self.frontend_hash,
            "feature_scale": self.feature_scale,
            "models": {role: spec.to_dict() for role, spec in self.models.items()},
            "thresholds": {
                name: value
                for name, value in self.thresholds.__dict__.items()
                if name in REQUIRED_THRESHOLD_KEYS or value != defaults[name]
            },
        }
        if self.noise_floor_dbfs is not None:
            manifest["noise_floor_dbfs"] = self.noise_floor_dbfs
        if self.verifier is not None:
            manifest["verifier"] = self.verifier.to_dict()
        manifest.update(thawed_json(self.extra))
        return manifest

    def report_dict(self) -> dict[str, Any] | None:
        """What training measured and did, as ``report.json`` holds it; None when neither."""
        if self.evaluation is None and self.training is None:
            return None
        report: dict[str, Any] = {"schema_version": self.schema_version, "keyword": self.keyword}
        for section, value in (("evaluation", self.evaluation), ("training", self.training)):
            if value is not None:
                report[section] = thawed_json(value)
        return report

    def thresholds_without_verifier(self) -> Thresholds | None:
        """The cascade's own thresholds: those of a bundle without a verifier; for one with a
        verifier, its thresholds with the wake and detect its report says the cascade had
        before the verifier's were chosen (``evaluation.verifier.thresholds_before``), None
        when the report does not say them as numbers."""
        if self.verifier is None:
            return self.thresholds
        figures = (self.evaluation or {}).get("verifier")
        before = figures.get("thresholds_before") if isinstance(figures, Mapping) else None
        if not isinstance(before, Mapping):
            return None
        wake, detect = before.get("wake"), before.get("detect")
        numbers = [v for v in (wake, detect) if isinstance(v, (int, float))]
        if len(numbers) != 2 or any(isinstance(v, bool) for v in numbers):
            return None
        return replace(self.thresholds, wake=float(numbers[0]), detect=float(numbers[1]))


def _report_sections(report: Any, source: str) -> dict[str, Any]:
    """The report's sections, frozen; ``{}`` for no report."""
    if report is None:
        return {}
    if not isinstance(report, dict):
        raise BundleError(f"{source}: its report must hold a JSON object")
    sections = {}
    for section in REPORT_SECTIONS:
        if section in report:
            if not isinstance(report[section], dict):
                raise BundleError(f"{source}: {section} must be an object")
            sections[section] = frozen_json(report[section])
    return sections


def _frontend(manifest: dict[str, Any], source: str) -> FrontendConfig:
    """The manifest's frontend configuration, refused unless it is this runtime's."""
    if not isinstance(manifest.get("frontend"), dict):
        raise BundleError(f"{source} has no frontend configuration")
    try:
        recorded = FrontendConfig.from_dict(manifest["frontend"])
    except Exception as error:  # noqa: BLE001 - any bad field is the bundle's fault
        raise BundleError(f"{source}: frontend configuration is invalid: {error}") from error
    if manifest.get("frontend_hash") != recorded.hash():
        raise BundleError(f"{source}: frontend_hash does not match its frontend configuration")
    if recorded.hash() != FrontendConfig().hash():
        raise BundleError(
            f"{source}: trained for a different frontend configuration than this "
            "runtime's; retrain the bundle"
        )
    return recorded


def _thresholds(manifest: dict[str, Any], source: str, has_tiny: bool) -> Thresholds:
    """The decision policy; every key checked by ``kws.thresholds.threshold_problem``."""
    values = manifest.get("thresholds")
    if not isinstance(values, dict):
        raise BundleError(f"{source} has no thresholds")
    for key in REQUIRED_THRESHOLD_KEYS:
        if key not in values:
            raise BundleError(f"{source}: thresholds.{key} is missing")
    known = tuple(f.name for f in fields(Thresholds))
    for key, value in values.items():
        if key not in known:
            # a policy this runtime cannot apply would detect otherwise than was measured
            raise BundleError(
                f"{source}: thresholds.{reprlib.repr(key)} is not a threshold this kws knows "
                f"({', '.join(known)})"
            )
        problem = threshold_problem(key, value)
        if problem is not None:
            raise BundleError(f"{source}: thresholds.{key} {problem}")
    if has_tiny and round(values["wake_window_s"] / HOP_S) < 1:  # as Cascade counts
        raise BundleError(
            f"{source}: thresholds.wake_window_s must be at least {HOP_S:g} s in a bundle "
            f"with a tiny model, got {values['wake_window_s']} (the full model would never run)"
        )
    return Thresholds(**values)
