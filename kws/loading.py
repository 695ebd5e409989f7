"""Loading what a user names: a bundle folder or a microWakeWord ``.json``, as a ``Cascade``;
one model of a bundle, as a ``TfliteModel``. The one module that knows the bundle, the models
and the cascade together, so none of them imports another's loader (no import cycle).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kws.bundle import load_manifest, read_model
from kws.cascade import Cascade
from kws.errors import BundleError
from kws.frontend import FEATURE_SCALE
from kws.model import TfliteModel
from kws.mww import load_microwakeword
from kws.thresholds import Thresholds


def load_cascade(
    path: str | Path, full_only: bool = False, reference_kernels: bool = False, **overrides: Any
) -> Cascade:
    """Load a bundle folder (``manifest.json``) or a microWakeWord ``.json`` config as a Cascade.

    ``overrides`` replace manifest thresholds (``detect=0.9``, ``wake=0.3``, ...); None keeps
    the manifest's.

    Raises:
        BundleError: the bundle is missing, corrupt or does not match this runtime.
        ThresholdError: an override is out of range or of the wrong type.
    """
    source = Path(path)
    if source.suffix == ".json" and source.is_file():
        return load_microwakeword(source, reference_kernels=reference_kernels, **overrides)
    manifest = load_manifest(source)
    bundle_dir = Path(manifest["_dir"])
    scale = float(manifest.get("feature_scale", FEATURE_SCALE))
    models = manifest["models"]
    if "full" not in models:
        raise BundleError(f"{source}: manifest has no 'full' model")
    full = TfliteModel(
        read_model(bundle_dir, "full", models["full"]), models["full"], scale, reference_kernels
    )
    tiny = None
    if "tiny" in models:
        tiny = TfliteModel(
            read_model(bundle_dir, "tiny", models["tiny"]), models["tiny"], scale, reference_kernels
        )
    thresholds = Thresholds.from_manifest(manifest["thresholds"], **overrides)
    cascade = Cascade(manifest["keyword"], full, thresholds, tiny=tiny, full_only=full_only)
    cascade.manifest = manifest  # type: ignore[attr-defined]
    return cascade


def load_model(bundle_dir: Path, spec: dict[str, Any], feature_scale: float) -> TfliteModel:
    """The model ``spec`` (a manifest entry) names in ``bundle_dir``, built from the bytes
    checked against its ``sha256``.

    Raises:
        BundleError: see ``kws.bundle.read_model``, and a model the spec does not describe.
    """
    return TfliteModel(
        read_model(Path(bundle_dir), str(spec.get("file")), spec), spec, feature_scale
    )
