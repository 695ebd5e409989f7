"""Fully-integer TFLite export (int8 in and out) and the manifest entry that describes it.

Tensor indices come from the converted model's own serving signature, so the manifest names
(``features``, ``state_0``, ``score``, ``next_state_0``) map to the right tensors whatever order
the converter chose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from training.models import keras

Representative = Callable[[], Iterator[list[np.ndarray]]]


def convert_int8(model: keras.Model, representative: Representative) -> bytes:
    """Convert a tf_keras model (float or QAT) to a full-int8 TFLite flatbuffer."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    payload: bytes = converter.convert()
    return payload


SCORE_LOGIT_RANGE = (-8.0, 24.0)  # below -8 (p < 0.0004) every score means "no"


def set_score_range(model_content: bytes, low: float, high: float) -> bytes:
    """Give the score tensor (a logit) the int8 range ``[low, high]``.

    QAT's moving-average range and PTQ's calibration both fit the logits seen in training: one
    ended at +7 (a probability of 0.9992, so no threshold above it could be set) and another
    reached -96 (a step of 0.43 logits). A fixed range of -8 to +24 logits gives steps of 0.125
    everywhere a threshold can sit (confident false alarms of a tiny model reached +16). The
    score is the output of the last fully-connected layer, whose kernel derives its
    requantization from the tensors' parameters when it is prepared (TFLite and TFLM alike), so
    rewriting the output tensor's scale and zero point in the flatbuffer is exact; the test
    ``tests/training/test_export.py`` checks it against the converter's own output.

    Raises:
        ValueError: the score is not produced by a FULLY_CONNECTED operator.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_content))
    subgraph = model.subgraphs[0]
    scores = [o["index"] for o in describe(model_content)["outputs"] if o["name"] == "score"]
    if len(scores) != 1:
        raise ValueError(f"expected one score output, found {len(scores)}")
    score_index = scores[0]
    producers = [op for op in subgraph.operators if score_index in list(op.outputs)]
    if len(producers) != 1 or (
        model.operatorCodes[producers[0].opcodeIndex].builtinCode
        != schema.BuiltinOperator.FULLY_CONNECTED
    ):
        raise ValueError("the score tensor is not the output of a FULLY_CONNECTED operator")
    info = np.iinfo(np.int8)
    scale = (high - low) / (info.max - info.min)
    zero_point = int(round(info.min - low / scale))
    quantization = subgraph.tensors[score_index].quantization
    quantization.scale = [float(scale)]
    quantization.zeroPoint = [zero_point]
    quantization.min = [float(low)]
    quantization.max = [float(high)]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def describe(model_content: bytes) -> dict[str, Any]:
    """Inputs, outputs and carried states of a converted model, by signature name."""
    from ai_edge_litert.interpreter import Interpreter

    from kws.model import tensor_summary

    interpreter = Interpreter(model_content=model_content)
    interpreter.allocate_tensors()
    runner = interpreter.get_signature_runner()
    by_index_in = {d["index"]: d for d in interpreter.get_input_details()}
    by_index_out = {d["index"]: d for d in interpreter.get_output_details()}
    inputs = [
        tensor_summary(by_index_in[detail["index"]], name)
        for name, detail in sorted(runner.get_input_details().items())
    ]
    outputs = []
    states = []
    for name, detail in sorted(runner.get_output_details().items()):
        manifest_name = name
        if name.startswith("next_state_"):
            manifest_name = name[len("next_") :]
            states.append([manifest_name, name])
        outputs.append(tensor_summary(by_index_out[detail["index"]], name))
    for entry in outputs:
        if entry["name"].startswith("next_state_"):
            continue
        entry["name"] = "score"
    return {"inputs": inputs, "outputs": outputs, "states": sorted(states)}


def arena_estimate_bytes(model_content: bytes) -> int:
    """A tensor-arena estimate: the two largest non-constant tensors alive at once, plus the
    inputs and outputs, plus 1 KB of interpreter bookkeeping (TFLM's planner does about this
    well on sequential graphs)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model_content)
    interpreter.allocate_tensors()
    io_indices = {d["index"] for d in interpreter.get_input_details()}
    io_indices |= {d["index"] for d in interpreter.get_output_details()}
    sizes = []
    io_bytes = 0
    for detail in interpreter.get_tensor_details():
        try:
            interpreter.get_tensor(detail["index"])
            constant = False
        except ValueError:
            constant = True
        nbytes = int(np.prod(detail["shape"])) * np.dtype(detail["dtype"]).itemsize
        if detail["index"] in io_indices:
            io_bytes += nbytes
        elif not constant and detail["dtype"] in (np.int8, np.uint8, np.int32):
            sizes.append(nbytes)
    largest = sorted(sizes, reverse=True)[:2]
    return int(io_bytes + sum(largest) + 1024)
