"""Loading what a user names: a bundle folder or a microWakeWord ``.json``, as a ``Cascade``;
one model of a bundle, as a ``TfliteModel``. The one module that knows the bundle, the models
and the cascade together, so none of them imports another's loader (no import cycle).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kws.bundle import read_bundle, read_model, read_verifier_file
from kws.cascade import Cascade
from kws.errors import BundleError
from kws.manifest import Bundle, ModelSpec
from kws.model import TfliteModel
from kws.mww import load_microwakeword
from kws.noise_floor import FROM_BUNDLE, FloorChoice, NoiseFloor
from kws.thresholds import Thresholds

if TYPE_CHECKING:
    from kws.verifier import Verifier


def load_cascade(
    path: str | Path,
    full_only: bool = False,
    reference_kernels: bool = False,
    noise_floor_dbfs: FloorChoice = FROM_BUNDLE,
    verifier: bool = True,
    **overrides: Any,
) -> Cascade:
    """Load a bundle folder (``manifest.json``) or a microWakeWord ``.json`` config as a Cascade;
    a bundle's cascade carries it as ``cascade.bundle``.

    ``overrides`` replace manifest thresholds (``detect=0.9``, ``wake=0.3``, ...); None keeps
    the manifest's. ``noise_floor_dbfs``: a ``kws.noise_floor.NoiseFloor`` at that level under
    the audio; ``FROM_BUNDLE`` (the default): the level the bundle was trained with, if any (a
    microWakeWord config has none); None: no floor. ``verifier``: a bundle's verifier confirms
    each detection (``kws.verifier``; needs onnxruntime and audio: ``process``, not
    ``process_features``); False loads the cascade as a device without one runs it.

    Raises:
        BundleError: the bundle is missing, corrupt or does not match this runtime.
        ThresholdError: an override or the noise floor is out of range or of the wrong type.
    """
    source = Path(path)
    if source.suffix == ".json" and source.is_file():
        cascade = load_microwakeword(source, reference_kernels=reference_kernels, **overrides)
        cascade.noise_floor = _floor(noise_floor_dbfs, None)
        return cascade
    bundle = read_bundle(source)
    floor = _floor(noise_floor_dbfs, bundle.noise_floor_dbfs)
    if "full" not in bundle.models:
        raise BundleError(f"{source}: manifest has no 'full' model")

    def model(role: str) -> TfliteModel:
        spec = bundle.models[role]
        payload = read_model(source, role, spec)
        return TfliteModel(payload, spec, bundle.feature_scale, reference_kernels)

    full = model("full")
    tiny = model("tiny") if "tiny" in bundle.models else None
    thresholds = Thresholds.from_manifest(asdict(bundle.thresholds), **overrides)
    heard_floor = None if floor is None else floor.dbfs
    check = (
        _verifier(source, bundle, heard_floor) if verifier and bundle.verifier is not None else None
    )
    return Cascade(
        bundle.keyword,
        full,
        thresholds,
        tiny=tiny,
        full_only=full_only,
        bundle=bundle,
        noise_floor=floor,
        verifier=check,
    )


def _verifier(source: Path, bundle: Bundle, floor_dbfs: float | None) -> Verifier:
    """The bundle's verifier; it hears what the cascade's frontend hears, under the same floor
    (``floor_dbfs``) also before the stream (``kws.verifier.PREFIX_SAMPLES``)."""
    from kws.verifier import SpeechEmbedding, Verifier, VerifierHead, VerifierPolicy

    spec = bundle.verifier
    assert spec is not None
    payload = {role: read_verifier_file(source, role, f) for role, f in spec.files.items()}
    return Verifier(
        SpeechEmbedding(payload["melspectrogram"], payload["embedding"]),
        VerifierHead(payload["head"]),
        VerifierPolicy(spec.threshold, spec.before_s),
        floor_dbfs,
    )


def _floor(choice: FloorChoice, recorded: float | None) -> NoiseFloor | None:
    if isinstance(choice, str) and choice == FROM_BUNDLE:
        return None if recorded is None else NoiseFloor(recorded)
    return None if choice is None else NoiseFloor(choice)  # checks what a caller gave


def load_model(bundle_dir: Path, spec: ModelSpec, feature_scale: float) -> TfliteModel:
    """The model ``spec`` (a bundle's) names in ``bundle_dir``, built from the bytes checked
    against its ``sha256``.

    Raises:
        BundleError: see ``kws.bundle.read_model``, and a model the spec does not describe.
    """
    return TfliteModel(read_model(Path(bundle_dir), spec.file, spec), spec, feature_scale)
