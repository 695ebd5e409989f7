"""A copy of a ``.tflite`` model cut after its first ``n`` operators, written without TensorFlow.

``kws bench model`` times these prefixes to measure each operator's host time: the
difference between the models with ``k + 1`` and ``k`` operators is operator ``k``.

The edit is two changes to a copy of the flatbuffer, both safe whatever the sizes:
- the subgraph's ``operators`` vector keeps its elements and gets a smaller length, written in
  place (each element is a uoffset relative to its own slot, so the first ``n`` stay valid);
- the subgraph's ``outputs`` (a vector of int32, no offsets inside) become the last kept
  operator's outputs: a new vector appended at the end of the file, 4-byte aligned, and the
  outputs field's uoffset rewritten to point at it. FlatBuffer uoffsets are unsigned and point
  forward; the field sits before the end of the file, so the new offset is positive. Writing
  the new outputs over the old vector in place would only work when they are no longer than
  the old ones (the full model has one output, a SPLIT has several), so it is not used.
Everything else (tensors, buffers, signatures, metadata) is left as it was; the interpreter
runs every operator of the (shortened) execution plan whatever the outputs are.
"""

from __future__ import annotations

import struct

from kws.errors import BundleError
from kws.tflite_ops import Graph, read_graph

UOFFSET_ALIGN_BYTES = 4  # uoffsets and int32 vectors are 4-byte aligned in a FlatBuffer


def prefix_model(payload: bytes, operator_count: int, graph: Graph | None = None) -> bytes:
    """A copy of ``payload`` that runs only its first ``operator_count`` operators and whose
    outputs are the last of them's outputs (with no operator at all: the first input).

    Raises:
        BundleError: not a TFLite model, or ``operator_count`` is out of range.
    """
    graph = graph if graph is not None else read_graph(payload)
    if not 0 <= operator_count <= len(graph.operators):
        raise BundleError(
            f"cannot keep {operator_count} operators of a model that has {len(graph.operators)}"
        )
    if graph.outputs_field_at is None:
        raise BundleError("not a TFLite model: the subgraph has no outputs")
    if operator_count:
        outputs = graph.operators[operator_count - 1].outputs
    elif graph.inputs:
        outputs = graph.inputs[:1]
    else:
        raise BundleError("not a TFLite model: the subgraph has no inputs")
    edited = bytearray(payload)
    struct.pack_into("<I", edited, graph.operators_length_at, operator_count)
    edited.extend(b"\x00" * (-len(edited) % UOFFSET_ALIGN_BYTES))
    vector_at = len(edited)
    edited.extend(struct.pack(f"<I{len(outputs)}i", len(outputs), *outputs))
    struct.pack_into("<I", edited, graph.outputs_field_at, vector_at - graph.outputs_field_at)
    return bytes(edited)
