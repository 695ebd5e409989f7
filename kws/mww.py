"""microWakeWord models (``.json`` + ``.tflite``, e.g. those shipped in pip ``pymicro-wakeword``)
run as single-stage detectors on kws's own frontend and runtime.

Its streaming models keep their state in TFLite resource variables (not external tensors), take
int8 ``[1, 3, 40]`` (three new frames every 30 ms) and give a uint8 probability; a detection is
the mean of the last ``sliding_window_size`` probabilities reaching ``probability_cutoff``.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

from kws.bundle import sha256_bytes
from kws.cascade import Cascade
from kws.errors import BundleError
from kws.frontend import FEATURE_SCALE
from kws.manifest import ModelSpec
from kws.metrics import REFRACTORY_S
from kws.model import TfliteModel, tensor_summary
from kws.thresholds import Thresholds, threshold_problem
from kws.untrusted import (
    MAX_MODEL_BYTES,
    escape_unprintable,
    inside_folder,
    read_capped,
    read_json,
)


def microwakeword_spec(model_content: bytes, file_name: str) -> ModelSpec:
    """The model's spec, read off the model itself (its state lives inside it).

    Raises:
        BundleError: not one input and one output, or tensors kws cannot run.
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_content)
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise BundleError(f"{file_name}: expected one input and one output (microWakeWord)")
    stride = int(inputs[0]["shape"][1])
    entry = {
        "file": file_name,
        "sha256": sha256_bytes(model_content),  # as a bundle records it
        "streaming": True,
        "internal_state": True,
        "stride_frames": stride,
        "window_frames": stride,
        "inputs": [tensor_summary(inputs[0], "features")],
        "outputs": [tensor_summary(outputs[0], "score")],
        "states": [],
    }
    return ModelSpec.from_dict(file_name, entry)


def load_microwakeword(
    config_path: Path, reference_kernels: bool = False, **overrides: Any
) -> Cascade:
    """Load a microWakeWord config and its model as a single-stage ``Cascade``; ``overrides``
    replace its thresholds (``detect=0.9``, ``refractory_s=1.0``, ...), None keeps them.

    The config is read only if it is a regular file (at most ``MAX_JSON_BYTES``); the model it
    names only if it is a regular file in the config's folder (links followed; at most
    ``MAX_MODEL_BYTES``).

    Raises:
        BundleError: unreadable or invalid config, a model outside the config's folder or not a
            regular file, or a model that is not a loadable TFLite model.
        ThresholdError: an override is out of range or of the wrong type.
    """
    config = read_json(config_path)
    if not isinstance(config, dict):
        raise BundleError(f"{config_path}: not a microWakeWord model config (not a JSON object)")
    keyword = _keyword(config, config_path)
    cutoff, window = _micro_settings(config, config_path)
    content, model_file = _read_model(config, config_path)
    try:
        spec = microwakeword_spec(content, model_file.name)
    except (ValueError, RuntimeError, IndexError) as error:
        raise BundleError(f"{model_file}: not a loadable TFLite model") from error
    model = TfliteModel(content, spec, FEATURE_SCALE, reference_kernels)
    config_thresholds = Thresholds(
        wake=cutoff,
        detect=cutoff,
        smoothing_frames=window,
        wake_window_s=0.0,
        preroll_s=0.0,
        refractory_s=REFRACTORY_S,  # kws counts its peers by its own rule
    )
    thresholds = Thresholds.from_manifest(config_thresholds.__dict__, **overrides)
    return Cascade(keyword, model, thresholds)


def _keyword(config: dict[str, Any], config_path: Path) -> str:
    keyword = config.get("wake_word", config_path.stem)
    if not isinstance(keyword, str) or not keyword.strip():
        raise BundleError(f"{config_path}: wake_word must be non-empty text")
    if escape_unprintable(keyword) != keyword:
        raise BundleError(
            f"{config_path}: wake_word {reprlib.repr(keyword)} holds control characters; a "
            "keyword is printable text"
        )
    return keyword.lower()


def _micro_settings(config: dict[str, Any], config_path: Path) -> tuple[float, int]:
    """``micro.probability_cutoff`` (a number in [0, 1]) and ``micro.sliding_window_size``."""
    micro = config.get("micro")
    if not isinstance(micro, dict):
        raise BundleError(f'{config_path}: no "micro" section (not a microWakeWord config?)')
    cutoff: Any = micro.get("probability_cutoff")
    window: Any = micro.get("sliding_window_size")
    # the ranges of the thresholds they become (the one check, kws.cascade.threshold_problem)
    for key, value, field in (
        ("probability_cutoff", cutoff, "detect"),
        ("sliding_window_size", window, "smoothing_frames"),
    ):
        problem = threshold_problem(field, value)
        if problem is not None:
            raise BundleError(f"{config_path}: micro.{key} {problem}")
    return float(cutoff), int(window)


def _read_model(config: dict[str, Any], config_path: Path) -> tuple[bytes, Path]:
    """The bytes of the model file the config names, and its path."""
    name = config.get("model")
    shown = reprlib.repr(name)
    if not isinstance(name, str) or name in ("", ".", ".."):
        raise BundleError(f'{config_path}: "model" must name the model file, got {shown}')
    if Path(name).name != name:
        raise BundleError(f"{config_path}: model path {shown} leaves its folder")
    model_file = inside_folder(config_path.parent, name)
    if model_file is None:  # a link pointing out of the folder
        raise BundleError(f"{config_path}: model {shown} leaves its folder (a link elsewhere)")
    return read_capped(model_file, MAX_MODEL_BYTES), model_file
