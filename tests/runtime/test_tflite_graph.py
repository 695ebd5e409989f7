"""`kws.tflite_ops.read_graph` and `kws.tflite_prefix.prefix_model`: the flatbuffer read and cut
without an interpreter, checked against what LiteRT itself reads and computes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from kws.errors import BundleError
from kws.tflite_ops import read_graph
from kws.tflite_prefix import prefix_model

BUNDLE = Path(__file__).resolve().parents[2] / "kws" / "models" / "hey_jarvis"


def _interpreter(payload: bytes, **options: Any) -> Any:
    interpreter = Interpreter(
        model_content=payload,
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        **options,
    )
    interpreter.allocate_tensors()
    return interpreter


def _fill_inputs(interpreter: Any) -> None:
    rng = np.random.default_rng(1)
    for detail in interpreter.get_input_details():
        value = rng.integers(-128, 128, detail["shape"]).astype(detail["dtype"])
        interpreter.set_tensor(detail["index"], value)


@pytest.mark.parametrize("role", ["tiny", "full"])
def test_tensors_and_io_match_litert(role: str) -> None:
    payload = (BUNDLE / f"{role}.tflite").read_bytes()
    graph = read_graph(payload)
    interpreter = _interpreter(payload)
    details = interpreter.get_tensor_details()
    # LiteRT lists the model's tensors, then any scratch tensors its kernels added
    assert len(details) >= len(graph.tensors)
    for detail in details[: len(graph.tensors)]:
        tensor = graph.tensor(detail["index"])
        assert tensor.name == detail["name"]
        assert tensor.shape == tuple(detail["shape"])
        assert tensor.dtype == np.dtype(detail["dtype"]).name
    assert list(graph.inputs) == [d["index"] for d in interpreter.get_input_details()]
    assert list(graph.outputs) == [d["index"] for d in interpreter.get_output_details()]


def test_tiny_operators_in_order() -> None:
    graph = read_graph((BUNDLE / "tiny.tflite").read_bytes())
    names = [op.name for op in graph.operators]
    assert names == [
        *("CONV_2D", "CONCATENATION", "DEPTHWISE_CONV_2D"),
        *("CONV_2D", "CONCATENATION", "DEPTHWISE_CONV_2D"),
        *("CONV_2D", "CONCATENATION", "DEPTHWISE_CONV_2D"),
        "FULLY_CONNECTED",
        *("STRIDED_SLICE",) * 3,
    ]
    first = graph.operators[0]
    # the stem reads the features (input 3) with its filter and bias
    assert first.inputs[0] == 3 and graph.tensor(first.inputs[1]).shape == (24, 3, 1, 40)
    # execution order: no operator reads what a later one writes; the outputs are all written
    written: dict[int, int] = {t: op.index for op in graph.operators for t in op.outputs}
    for operator in graph.operators:
        assert all(written.get(t, -1) < operator.index for t in operator.inputs)
    assert set(graph.outputs) <= set(written)


@pytest.mark.parametrize("role", ["tiny", "full"])
def test_each_prefix_outputs_its_last_operators_tensor(role: str) -> None:
    payload = (BUNDLE / f"{role}.tflite").read_bytes()
    graph = read_graph(payload)
    reference = _interpreter(payload, experimental_preserve_all_tensors=True)
    _fill_inputs(reference)
    reference.invoke()
    for count in range(len(graph.operators) + 1):
        cut = _interpreter(prefix_model(payload, count, graph))
        _fill_inputs(cut)
        cut.invoke()
        expected = graph.operators[count - 1].outputs if count else graph.inputs[:1]
        details = cut.get_output_details()
        assert [d["index"] for d in details] == list(expected)
        np.testing.assert_array_equal(
            cut.get_tensor(details[0]["index"]), reference.get_tensor(expected[0])
        )
        # the cut is still a model this reader reads: fewer operators, same tensors
        assert len(read_graph(prefix_model(payload, count, graph)).operators) == count


def test_prefix_out_of_range_and_garbage_are_bundle_errors() -> None:
    payload = (BUNDLE / "full.tflite").read_bytes()
    with pytest.raises(BundleError, match="cannot keep 12 operators"):
        prefix_model(payload, 12)
    with pytest.raises(BundleError):
        read_graph(b"\x00" * 64)
    with pytest.raises(BundleError):
        read_graph(payload[:2000])  # cut short: offsets point outside the file
