"""A kws bundle's full model as a microWakeWord streaming model (ESPHome ``micro_wake_word``,
pip ``pymicro-wakeword``): manifest v2 JSON beside a ``.tflite`` that keeps its state inside.

microWakeWord's runtime feeds a model three 10 ms frames at a time as int8 ``[1, 3, 40]``
(features quantized with scale 0.10196, zero point -128) and reads one uint8 probability
(scale 1/256). Our full model sees a 1.5 s window. The export wraps its int8 graph, operator
by operator in the flatbuffer (no retraining, no float detour; the model's own kernels and
quantization are kept bit for bit), in what microWakeWord's own models use for state:

- a resource variable holds the window (``VAR_HANDLE``/``READ_VARIABLE``/``ASSIGN_VARIABLE``,
  set to the features' zero, i.e. silence, by a ``CALL_ONCE`` init subgraph);
- each invoke requantizes the three new frames to the model's input scale (``QUANTIZE``),
  reshapes them to the window's layout, drops the window's oldest three frames
  (``STRIDED_SLICE``), appends the new ones (``CONCATENATION``) and stores the result;
- the score, a logit, is shifted so that the bundle's detect threshold becomes the manifest's
  ``probability_cutoff`` (0.97, microWakeWord's own for hey_jarvis): its uint8 probability
  stops at 255/256, below our detect thresholds; then ``LOGISTIC`` and ``QUANTIZE`` to uint8 as
  microWakeWord's models end. Both runtimes average probabilities, and a cutoff this close to 1
  keeps the average's shape near ours: on 200 held-out synthetic clips pymicro-wakeword with
  the export missed 33.0%, kws's full model alone 33.0% (a cutoff of 0.5 gave 27% vs 33%).

``sliding_window_size`` is the bundle's ``detect_smoothing``: microWakeWord averages that many
probabilities, as the cascade's full model does.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from kws.errors import BundleError
from kws.manifest import Bundle

MWW_INPUT_SCALE = 0.10196078568696976  # microWakeWord's feature quantization (26 / 255)
MWW_INPUT_ZERO_POINT = -128
OUTPUT_SCALE = 1.0 / 256.0
PROBABILITY_CUTOFF = 0.97
STRIDE_FRAMES = 3
RING_NAME = b"kws/feature_window"
MIN_ESPHOME_VERSION = "2024.7.0"
# Operators ESPHome's micro_wake_word registers for streaming models.
ESPHOME_OPS = (
    "CALL_ONCE", "VAR_HANDLE", "RESHAPE", "READ_VARIABLE", "STRIDED_SLICE", "CONCATENATION",
    "ASSIGN_VARIABLE", "CONV_2D", "MUL", "ADD", "MEAN", "FULLY_CONNECTED", "LOGISTIC",
    "QUANTIZE", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "PAD", "PACK", "SPLIT_V",
)  # fmt: skip


class _Graph:
    """Appends tensors, buffers and operators to a flatbuffer ``ModelT``."""

    def __init__(self, model: Any, schema: Any) -> None:
        self.model = model
        self.schema = schema

    def buffer(self, data: bytes | None) -> int:
        buffer = self.schema.BufferT()
        buffer.data = None if data is None else np.frombuffer(data, dtype=np.uint8)
        self.model.buffers.append(buffer)
        return len(self.model.buffers) - 1

    def tensor(
        self,
        subgraph: Any,
        name: str,
        dtype: int,
        shape: list[int],
        quantization: tuple[float, int] | None = None,
        data: bytes | None = None,
    ) -> int:
        tensor = self.schema.TensorT()
        tensor.name = name.encode()
        tensor.type = dtype
        tensor.shape = np.array(shape, dtype=np.int32)
        tensor.buffer = self.buffer(data)
        if quantization is not None:
            params = self.schema.QuantizationParametersT()
            params.scale = np.array([quantization[0]], dtype=np.float32)
            params.zeroPoint = np.array([quantization[1]], dtype=np.int64)
            tensor.quantization = params
        subgraph.tensors.append(tensor)
        return len(subgraph.tensors) - 1

    def opcode(self, code: int) -> int:
        for index, existing in enumerate(self.model.operatorCodes):
            if max(existing.builtinCode, existing.deprecatedBuiltinCode) == code:
                return index
        entry = self.schema.OperatorCodeT()
        entry.builtinCode = code
        entry.deprecatedBuiltinCode = min(code, 127)
        entry.version = 1
        self.model.operatorCodes.append(entry)
        return len(self.model.operatorCodes) - 1

    def op(
        self,
        name: str,
        inputs: list[int],
        outputs: list[int],
        options: tuple[str, Any] | None = None,
    ) -> Any:
        operator = self.schema.OperatorT()
        operator.opcodeIndex = self.opcode(getattr(self.schema.BuiltinOperator, name))
        operator.inputs = np.array(inputs, dtype=np.int32)
        operator.outputs = np.array(outputs, dtype=np.int32)
        if options is not None:
            operator.builtinOptionsType = getattr(self.schema.BuiltinOptions, options[0])
            operator.builtinOptions = options[1]
        return operator


def _int32(values: list[int]) -> bytes:
    return np.array(values, dtype="<i4").tobytes()


def streaming_full_model(full_model: bytes, detect_threshold: float) -> bytes:
    """The full model's int8 flatbuffer wrapped as a microWakeWord streaming model."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(full_model))
    graph = _Graph(model, schema)
    main = model.subgraphs[0]
    window_index, score_index = int(main.inputs[0]), int(main.outputs[0])
    window = main.tensors[window_index]
    window_shape = [int(d) for d in window.shape]  # [1, frames, 1, 40]
    frames, channels = window_shape[1], window_shape[3]
    window_q = (float(window.quantization.scale[0]), int(window.quantization.zeroPoint[0]))
    score = main.tensors[score_index]
    score_q = (float(score.quantization.scale[0]), int(score.quantization.zeroPoint[0]))
    int8, int32, uint8, resource = (
        schema.TensorType.INT8, schema.TensorType.INT32, schema.TensorType.UINT8,
        schema.TensorType.RESOURCE,
    )  # fmt: skip

    # The init subgraph: the window variable starts as silence (the features' zero).
    init = schema.SubGraphT()
    init.name = b"kws_init"
    init.tensors, init.inputs, init.outputs = [], np.array([], np.int32), np.array([], np.int32)
    init_handle = graph.tensor(init, "window_handle", resource, [])
    silence = np.full(window_shape, window_q[1], dtype=np.int8).tobytes()
    init_zeros = graph.tensor(init, "window_silence", int8, window_shape, window_q, silence)
    handle_options = schema.VarHandleOptionsT()
    handle_options.container = b""
    handle_options.sharedName = RING_NAME
    init.operators = [
        graph.op("VAR_HANDLE", [], [init_handle], ("VarHandleOptions", handle_options)),
        graph.op("ASSIGN_VARIABLE", [init_handle, init_zeros], []),
    ]
    model.subgraphs.append(init)
    init_index = len(model.subgraphs) - 1

    # The main subgraph's new head: three frames in, the window updated and stored.
    stride_shape = [1, STRIDE_FRAMES, channels]
    new = graph.tensor(
        main, "input_features", int8, stride_shape, (MWW_INPUT_SCALE, MWW_INPUT_ZERO_POINT)
    )
    requantized = graph.tensor(main, "features_requantized", int8, stride_shape, window_q)
    layout = [1, STRIDE_FRAMES, 1, channels]
    layout_shape = graph.tensor(main, "features_layout", int32, [4], None, _int32(layout))
    reshaped = graph.tensor(main, "features_reshaped", int8, layout, window_q)
    handle = graph.tensor(main, "window_handle", resource, [])
    previous = graph.tensor(main, "window_previous", int8, window_shape, window_q)
    kept_shape = [1, frames - STRIDE_FRAMES, 1, channels]
    begin = graph.tensor(main, "slice_begin", int32, [4], None, _int32([0, STRIDE_FRAMES, 0, 0]))
    end = graph.tensor(main, "slice_end", int32, [4], None, _int32(window_shape))
    strides = graph.tensor(main, "slice_strides", int32, [4], None, _int32([1, 1, 1, 1]))
    kept = graph.tensor(main, "window_kept", int8, kept_shape, window_q)
    once = schema.CallOnceOptionsT()
    once.initSubgraphIndex = init_index
    reshape_options = schema.ReshapeOptionsT()
    reshape_options.newShape = np.array(layout, dtype=np.int32)
    concat = schema.ConcatenationOptionsT()
    concat.axis = 1
    concat.fusedActivationFunction = schema.ActivationFunctionType.NONE
    head = [
        graph.op("CALL_ONCE", [], [], ("CallOnceOptions", once)),
        graph.op("VAR_HANDLE", [], [handle], ("VarHandleOptions", handle_options)),
        graph.op("READ_VARIABLE", [handle], [previous]),
        graph.op("QUANTIZE", [new], [requantized]),
        graph.op(
            "RESHAPE", [requantized, layout_shape], [reshaped],
            ("ReshapeOptions", reshape_options),
        ),
        graph.op(
            "STRIDED_SLICE", [previous, begin, end, strides], [kept],
            ("StridedSliceOptions", schema.StridedSliceOptionsT()),
        ),
        graph.op(
            "CONCATENATION", [kept, reshaped], [window_index], ("ConcatenationOptions", concat)
        ),
        graph.op("ASSIGN_VARIABLE", [handle, window_index], []),
    ]  # fmt: skip

    # The tail: the logit shifted so the detect threshold sits at the cutoff, as a uint8
    # probability.
    shift = math.log(detect_threshold / (1.0 - detect_threshold)) - math.log(
        PROBABILITY_CUTOFF / (1.0 - PROBABILITY_CUTOFF)
    )
    shift_q = (score_q[0], 0)
    shift_value = int(np.clip(round(-shift / shift_q[0]), -128, 127))
    shift_tensor = graph.tensor(
        main, "threshold_shift", int8, [1], shift_q, np.array([shift_value], np.int8).tobytes()
    )
    shifted = graph.tensor(main, "score_shifted", int8, [1, 1], (score_q[0], 0))
    probability = graph.tensor(main, "probability_int8", int8, [1, 1], (OUTPUT_SCALE, -128))
    output = graph.tensor(main, "probability", uint8, [1, 1], (OUTPUT_SCALE, 0))
    add = schema.AddOptionsT()
    add.fusedActivationFunction = schema.ActivationFunctionType.NONE
    tail = [
        graph.op("ADD", [score_index, shift_tensor], [shifted], ("AddOptions", add)),
        graph.op("LOGISTIC", [shifted], [probability]),
        graph.op("QUANTIZE", [probability], [output]),
    ]
    main.operators = head + list(main.operators) + tail
    main.inputs = np.array([new], dtype=np.int32)
    main.outputs = np.array([output], dtype=np.int32)
    for signature in model.signatureDefs or []:
        signature.inputs[0].name, signature.inputs[0].tensorIndex = b"input_audio", new
        signature.outputs[0].name, signature.outputs[0].tensorIndex = b"probability", output
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def microwakeword_files(bundle: Bundle, full_model: bytes) -> dict[str, bytes]:
    """``{<name>.json, <name>.tflite}`` for ``bundle``, whose full model is ``full_model``.

    Raises:
        BundleError: the full model records no ``arena_bytes``.
    """
    from kws.export_c import c_identifier

    full = bundle.models["full"]
    if full.arena_bytes is None:
        raise BundleError("the full model records no arena_bytes, which microWakeWord needs")
    name = c_identifier(bundle.keyword)
    thresholds = bundle.thresholds
    tflite = streaming_full_model(full_model, float(thresholds.detect))
    window_bytes = int(np.prod(full.inputs[0].shape))
    config = {
        "type": "micro",
        "wake_word": bundle.keyword.title(),
        "author": "kws (kws export --format microwakeword)",
        "website": "",
        "model": f"{name}.tflite",
        "trained_languages": ["en"],
        "version": 2,
        "micro": {
            "probability_cutoff": PROBABILITY_CUTOFF,
            "feature_step_size": 10,
            "sliding_window_size": thresholds.detect_smoothing,
            # the full model's arena, its window twice (variable and the copy read) and slack
            "tensor_arena_size": full.arena_bytes + 2 * window_bytes + 4096,
            "minimum_esphome_version": MIN_ESPHOME_VERSION,
        },
    }
    return {
        f"{name}.json": (json.dumps(config, indent=2) + "\n").encode(),
        f"{name}.tflite": tflite,
    }


def write_microwakeword(bundle_dir: Path, out_dir: Path) -> list[Path]:
    """Write the bundle's microWakeWord model into ``out_dir`` (new or empty)."""
    from kws import bundle
    from kws.export_c import check_destination, write_files

    loaded = bundle.read_bundle(bundle_dir)
    check_destination(out_dir)
    if "full" not in loaded.models:
        raise BundleError(f"{bundle_dir}: manifest has no 'full' model")
    full = bundle.read_model(bundle_dir, "full", loaded.models["full"])
    return write_files(out_dir, microwakeword_files(loaded, full))
