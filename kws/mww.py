"""microWakeWord models (``.json`` + ``.tflite``, e.g. those shipped in pip ``pymicro-wakeword``)
run as single-stage detectors on kws's own frontend and runtime.

Its streaming models keep their state in TFLite resource variables (not external tensors), take
int8 ``[1, 3, 40]`` (three new frames every 30 ms) and give a uint8 probability; a detection is
the mean of the last ``sliding_window_size`` probabilities reaching ``probability_cutoff``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kws.cascade import Cascade, Thresholds
from kws.errors import BundleError
from kws.frontend import FEATURE_SCALE
from kws.model import TfliteModel, tensor_summary


def microwakeword_spec(model_content: bytes, file_name: str) -> dict[str, Any]:
    """A manifest-style model entry read off the model itself."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_content)
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    outputs = interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise BundleError(f"{file_name}: expected one input and one output (microWakeWord)")
    stride = int(inputs[0]["shape"][1])
    return {
        "file": file_name,
        "streaming": True,
        "internal_state": True,
        "stride_frames": stride,
        "window_frames": stride,
        "inputs": [tensor_summary(inputs[0], "features")],
        "outputs": [tensor_summary(outputs[0], "score")],
        "states": [],
    }


def load_microwakeword(
    config_path: Path, reference_kernels: bool = False, **overrides: Any
) -> Cascade:
    """Load a microWakeWord config and its model as a single-stage ``Cascade``.

    Raises:
        BundleError: unreadable config or model.
    """
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        micro = config["micro"]
        model_file = config_path.parent / config["model"]
        content = model_file.read_bytes()
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise BundleError(f"{config_path}: not a microWakeWord model config ({error})") from error
    if Path(config["model"]).name != config["model"]:
        raise BundleError(f"{config_path}: model path {config['model']!r} leaves its folder")
    spec = microwakeword_spec(content, model_file.name)
    model = TfliteModel(content, spec, FEATURE_SCALE, reference_kernels)
    refractory_s = overrides.pop("refractory_s", 0.75)
    thresholds = Thresholds(
        wake=float(micro["probability_cutoff"]),
        detect=float(micro["probability_cutoff"]),
        smoothing_frames=int(micro["sliding_window_size"]),
        wake_window_s=0.0,
        preroll_s=0.0,
        refractory_s=refractory_s,
    )
    thresholds = Thresholds.from_manifest(thresholds.__dict__, **overrides)
    return Cascade(str(config.get("wake_word", config_path.stem)).lower(), model, thresholds)
