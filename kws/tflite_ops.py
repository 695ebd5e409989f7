"""The operators a ``.tflite`` model uses, read from its flatbuffer without any interpreter.

A TFLite model is a FlatBuffer (``schema.fbs``): the root ``Model`` table holds
``operator_codes`` (field 1), one ``OperatorCode`` table per distinct operator, whose builtin
code is the larger of ``deprecated_builtin_code`` (field 0, int8) and ``builtin_code`` (field 3,
int32; codes from 127 on live only there). Reading those few fields needs nothing but
``struct``; the names come from ``BUILTIN_NAMES`` (codes from the schema's ``BuiltinOperator``
enum, checked against TensorFlow's generated schema in the tests where it is installed).

``read_graph`` reads the first subgraph the same way: its tensors (``SubGraph.tensors``, field 0:
shape, type, name) and its operators in execution order (``SubGraph.operators``, field 3: the
operator code and the input/output tensor indices), enough to count an operator's MACs from
shapes (``kws_cli.bench.model``) and to cut a model after any operator (``kws.tflite_prefix``).

``TFLM_RESOLVER_METHODS`` maps each operator TensorFlow Lite Micro ships a kernel for to the
``MicroMutableOpResolver`` method that registers it (tensorflow/lite/micro/
micro_mutable_op_resolver.h): a model whose operators all have one runs on TFLM.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from kws.errors import BundleError

# BuiltinOperator codes of the operators TFLM has kernels for, and a few it does not (DELEGATE,
# CUSTOM) so that a model using them is named, not "unknown".
BUILTIN_NAMES: dict[int, str] = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
    5: "DEPTH_TO_SPACE", 6: "DEQUANTIZE", 8: "FLOOR", 9: "FULLY_CONNECTED",
    11: "L2_NORMALIZATION", 12: "L2_POOL_2D", 14: "LOGISTIC", 16: "LSTM", 17: "MAX_POOL_2D",
    18: "MUL", 19: "RELU", 20: "RELU_N1_TO_1", 21: "RELU6", 22: "RESHAPE",
    23: "RESIZE_BILINEAR", 25: "SOFTMAX", 26: "SPACE_TO_DEPTH", 27: "SVDF", 28: "TANH",
    31: "CALL", 32: "CUSTOM", 34: "PAD", 36: "GATHER", 37: "BATCH_TO_SPACE_ND",
    38: "SPACE_TO_BATCH_ND", 39: "TRANSPOSE", 40: "MEAN", 41: "SUB", 42: "DIV", 43: "SQUEEZE",
    44: "UNIDIRECTIONAL_SEQUENCE_LSTM", 45: "STRIDED_SLICE", 47: "EXP", 49: "SPLIT",
    50: "LOG_SOFTMAX", 51: "DELEGATE", 53: "CAST", 54: "PRELU", 55: "MAXIMUM", 56: "ARG_MAX",
    57: "MINIMUM", 58: "LESS", 59: "NEG", 60: "PADV2", 61: "GREATER", 62: "GREATER_EQUAL",
    63: "LESS_EQUAL", 64: "SELECT", 65: "SLICE", 66: "SIN", 67: "TRANSPOSE_CONV",
    70: "EXPAND_DIMS", 71: "EQUAL", 72: "NOT_EQUAL", 73: "LOG", 74: "SUM", 75: "SQRT",
    76: "RSQRT", 77: "SHAPE", 79: "ARG_MIN", 82: "REDUCE_MAX", 83: "PACK", 84: "LOGICAL_OR",
    86: "LOGICAL_AND", 87: "LOGICAL_NOT", 88: "UNPACK", 90: "FLOOR_DIV", 92: "SQUARE",
    93: "ZEROS_LIKE", 94: "FILL", 95: "FLOOR_MOD", 97: "RESIZE_NEAREST_NEIGHBOR",
    98: "LEAKY_RELU", 99: "SQUARED_DIFFERENCE", 100: "MIRROR_PAD", 101: "ABS", 102: "SPLIT_V",
    104: "CEIL", 106: "ADD_N", 107: "GATHER_ND", 108: "COS", 111: "ELU", 114: "QUANTIZE",
    117: "HARD_SWISH", 118: "IF", 119: "WHILE", 128: "CUMSUM", 129: "CALL_ONCE",
    130: "BROADCAST_TO", 142: "VAR_HANDLE", 143: "READ_VARIABLE", 144: "ASSIGN_VARIABLE",
}  # fmt: skip

TFLM_RESOLVER_METHODS: dict[str, str] = {
    "ABS": "AddAbs", "ADD": "AddAdd", "ADD_N": "AddAddN", "ARG_MAX": "AddArgMax",
    "ARG_MIN": "AddArgMin", "ASSIGN_VARIABLE": "AddAssignVariable",
    "AVERAGE_POOL_2D": "AddAveragePool2D", "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "BROADCAST_TO": "AddBroadcastTo", "CALL_ONCE": "AddCallOnce", "CAST": "AddCast",
    "CEIL": "AddCeil", "CONCATENATION": "AddConcatenation", "CONV_2D": "AddConv2D",
    "COS": "AddCos", "CUMSUM": "AddCumSum", "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "DEQUANTIZE": "AddDequantize", "DIV": "AddDiv",
    "ELU": "AddElu", "EQUAL": "AddEqual", "EXP": "AddExp", "EXPAND_DIMS": "AddExpandDims",
    "FILL": "AddFill", "FLOOR": "AddFloor", "FLOOR_DIV": "AddFloorDiv",
    "FLOOR_MOD": "AddFloorMod", "FULLY_CONNECTED": "AddFullyConnected", "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd", "GREATER": "AddGreater", "GREATER_EQUAL": "AddGreaterEqual",
    "HARD_SWISH": "AddHardSwish", "IF": "AddIf", "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D", "LEAKY_RELU": "AddLeakyRelu", "LESS": "AddLess",
    "LESS_EQUAL": "AddLessEqual", "LOG": "AddLog", "LOG_SOFTMAX": "AddLogSoftmax",
    "LOGICAL_AND": "AddLogicalAnd", "LOGICAL_NOT": "AddLogicalNot",
    "LOGICAL_OR": "AddLogicalOr", "LOGISTIC": "AddLogistic", "MAX_POOL_2D": "AddMaxPool2D",
    "MAXIMUM": "AddMaximum", "MEAN": "AddMean", "MINIMUM": "AddMinimum",
    "MIRROR_PAD": "AddMirrorPad", "MUL": "AddMul", "NEG": "AddNeg", "NOT_EQUAL": "AddNotEqual",
    "PACK": "AddPack", "PAD": "AddPad", "PADV2": "AddPadV2", "PRELU": "AddPrelu",
    "QUANTIZE": "AddQuantize", "READ_VARIABLE": "AddReadVariable", "REDUCE_MAX": "AddReduceMax",
    "RELU": "AddRelu", "RELU6": "AddRelu6", "RESHAPE": "AddReshape",
    "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor", "RSQRT": "AddRsqrt",
    "SELECT": "AddSelectV2", "SHAPE": "AddShape", "SIN": "AddSin", "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax", "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
    "SPACE_TO_DEPTH": "AddSpaceToDepth", "SPLIT": "AddSplit", "SPLIT_V": "AddSplitV",
    "SQRT": "AddSqrt", "SQUARE": "AddSquare", "SQUARED_DIFFERENCE": "AddSquaredDifference",
    "SQUEEZE": "AddSqueeze", "STRIDED_SLICE": "AddStridedSlice", "SUB": "AddSub",
    "SUM": "AddSum", "SVDF": "AddSvdf", "TANH": "AddTanh", "TRANSPOSE": "AddTranspose",
    "TRANSPOSE_CONV": "AddTransposeConv",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM", "UNPACK": "AddUnpack",
    "VAR_HANDLE": "AddVarHandle", "WHILE": "AddWhile", "ZEROS_LIKE": "AddZerosLike",
}  # fmt: skip


class _Reader:
    """Bounds-checked little-endian reads of a FlatBuffer's tables and vectors."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload

    def _unpack(self, fmt: str, offset: int) -> int:
        if offset < 0 or offset + struct.calcsize(fmt) > len(self.payload):
            raise BundleError("not a TFLite model: an offset points outside the file")
        value: int = struct.unpack_from(fmt, self.payload, offset)[0]
        return value

    def table(self, offset: int) -> int:
        """The table that the uoffset at ``offset`` points to."""
        return offset + self._unpack("<I", offset)

    def field(self, table: int, index: int) -> int | None:
        """Where field ``index`` of ``table`` is stored, or None when it is absent."""
        vtable = table - self._unpack("<i", table)
        vtable_size = self._unpack("<H", vtable)
        slot = 4 + 2 * index
        if slot + 2 > vtable_size:
            return None
        relative = self._unpack("<H", vtable + slot)
        return table + relative if relative else None

    def vector(self, offset: int) -> tuple[int, int]:
        """(first element's position, length) of the vector the uoffset at ``offset`` names."""
        start = offset + self._unpack("<I", offset)
        return start + 4, self._unpack("<I", start)

    def int8(self, offset: int) -> int:
        return self._unpack("<b", offset)

    def int32(self, offset: int) -> int:
        return self._unpack("<i", offset)

    def uint8(self, offset: int) -> int:
        return self._unpack("<B", offset)

    def uint32(self, offset: int) -> int:
        return self._unpack("<I", offset)

    def int32_vector(self, table: int, index: int) -> tuple[int, ...]:
        """The ``[int]`` vector field ``index`` of ``table`` (empty when absent)."""
        where = self.field(table, index)
        if where is None:
            return ()
        start, length = self.vector(where)
        if start + 4 * length > len(self.payload):
            raise BundleError("not a TFLite model: a vector runs past the end of the file")
        return tuple(self.int32(start + 4 * i) for i in range(length))

    def string(self, table: int, index: int) -> str:
        """The string field ``index`` of ``table`` ("" when absent)."""
        where = self.field(table, index)
        if where is None:
            return ""
        start, length = self.vector(where)
        if start + length > len(self.payload):
            raise BundleError("not a TFLite model: a string runs past the end of the file")
        return self.payload[start : start + length].decode("utf-8", errors="replace")


def operator_codes(payload: bytes) -> list[int]:
    """The builtin code of each entry of the model's ``operator_codes``, in order.

    Raises:
        BundleError: the bytes are not a TFLite flatbuffer.
    """
    if len(payload) < 8 or payload[4:8] != b"TFL3":
        raise BundleError("not a TFLite model (no TFL3 identifier)")
    reader = _Reader(payload)
    model = reader.table(0)
    codes_field = reader.field(model, 1)
    if codes_field is None:
        return []
    first, count = reader.vector(codes_field)
    codes = []
    for position in range(first, first + 4 * count, 4):
        code_table = reader.table(position)
        deprecated = reader.field(code_table, 0)
        builtin = reader.field(code_table, 3)
        old = reader.int8(deprecated) if deprecated is not None else 0
        new = reader.int32(builtin) if builtin is not None else 0
        codes.append(max(old, new))
    return codes


def operator_names(payload: bytes) -> list[str]:
    """The names of the operators the model uses, sorted (``BUILTIN_<code>`` for a code not in
    ``BUILTIN_NAMES``)."""
    return sorted({BUILTIN_NAMES.get(code, f"BUILTIN_{code}") for code in operator_codes(payload)})


def unsupported_by_tflm(names: list[str]) -> list[str]:
    """The operators among ``names`` that TFLM has no built-in kernel for."""
    return [name for name in names if name not in TFLM_RESOLVER_METHODS]


def io_tensors(payload: bytes) -> tuple[list[int], list[int]]:
    """The tensor indices of the first subgraph's inputs and outputs, in the order TFLM's
    ``MicroInterpreter::input(n)`` and ``output(n)`` number them.

    Raises:
        BundleError: the bytes are not a TFLite flatbuffer with a subgraph.
    """
    operator_codes(payload)  # checks the identifier
    reader = _Reader(payload)
    subgraph = _first_subgraph(reader)
    lists: list[list[int]] = []
    for index in (1, 2):
        where = reader.field(subgraph, index)
        if where is None:
            lists.append([])
            continue
        start, length = reader.vector(where)
        lists.append([reader.int32(start + 4 * i) for i in range(length)])
    return lists[0], lists[1]


# TensorType (schema.fbs) -> numpy dtype name
TENSOR_TYPES: dict[int, str] = {
    0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string", 6: "bool",
    7: "int16", 8: "complex64", 9: "int8", 10: "float64", 11: "complex128", 12: "uint64",
    13: "resource", 14: "variant", 15: "uint32", 16: "uint16", 17: "int4", 18: "bfloat16",
}  # fmt: skip


@dataclass(frozen=True)
class Tensor:
    """One tensor of a subgraph: its index, name, shape and element type."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str


@dataclass(frozen=True)
class Operator:
    """One operator of a subgraph, in execution order: its builtin name and the indices of the
    tensors it reads and writes (-1 for an optional input left out)."""

    index: int
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class Graph:
    """The first subgraph of a model. ``operators_length_at`` and ``outputs_field_at`` are the
    file offsets of the operators vector's length and of the outputs field's uoffset, for the
    one edit ``kws.tflite_prefix`` makes."""

    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    operators_length_at: int
    outputs_field_at: int | None

    def tensor(self, index: int) -> Tensor:
        """The tensor ``index`` (an operator's or the graph's).

        Raises:
            BundleError: no such tensor.
        """
        if not 0 <= index < len(self.tensors):
            raise BundleError(f"not a TFLite model: tensor {index} does not exist")
        return self.tensors[index]


def _first_subgraph(reader: _Reader) -> int:
    model = reader.table(0)
    subgraphs = reader.field(model, 2)
    if subgraphs is None:
        raise BundleError("not a TFLite model: no subgraph")
    first, count = reader.vector(subgraphs)
    if count < 1:
        raise BundleError("not a TFLite model: no subgraph")
    return reader.table(first)


def read_graph(payload: bytes) -> Graph:
    """The tensors and operators of the model's first subgraph, operators in execution order.

    Raises:
        BundleError: the bytes are not a TFLite flatbuffer with a subgraph.
    """
    codes = operator_codes(payload)  # checks the identifier
    reader = _Reader(payload)
    subgraph = _first_subgraph(reader)
    tensors = []
    where = reader.field(subgraph, 0)
    if where is not None:
        first, count = reader.vector(where)
        for index in range(count):
            table = reader.table(first + 4 * index)
            type_at = reader.field(table, 1)
            type_code = reader.uint8(type_at) if type_at is not None else 0  # FLOAT32 default
            tensors.append(
                Tensor(
                    index,
                    reader.string(table, 3),
                    reader.int32_vector(table, 0),
                    TENSOR_TYPES.get(type_code, f"type_{type_code}"),
                )
            )
    operators = []
    where = reader.field(subgraph, 3)
    if where is None:
        raise BundleError("not a TFLite model: the subgraph has no operators")
    first, count = reader.vector(where)
    operators_length_at = first - 4
    for index in range(count):
        table = reader.table(first + 4 * index)
        code_at = reader.field(table, 0)
        code_index = reader.uint32(code_at) if code_at is not None else 0
        if code_index >= len(codes):
            raise BundleError(f"not a TFLite model: operator {index} has no operator code")
        code = codes[code_index]
        operators.append(
            Operator(
                index,
                BUILTIN_NAMES.get(code, f"BUILTIN_{code}"),
                reader.int32_vector(table, 1),
                reader.int32_vector(table, 2),
            )
        )
    graph = Graph(
        tuple(tensors),
        tuple(operators),
        reader.int32_vector(subgraph, 1),
        reader.int32_vector(subgraph, 2),
        operators_length_at,
        reader.field(subgraph, 2),
    )
    for operator in graph.operators:
        for tensor in operator.inputs + operator.outputs:
            if tensor != -1:
                graph.tensor(tensor)
    for tensor in graph.inputs + graph.outputs:
        graph.tensor(tensor)
    return graph
