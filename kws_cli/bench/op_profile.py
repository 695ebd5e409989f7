"""Per-operator cost of a ``.tflite`` model: MACs from shapes, host time measured, device
cycles and energy from a power profile's MCU figures (the simulator's cycle model, per op).

Host time is measured, not apportioned: the model cut after each operator
(``kws.tflite_prefix``) is run by LiteRT, and operator ``k``'s time is the difference between
the prefixes with ``k + 1`` and ``k`` operators. The prefixes take turns in rounds (forward,
then backward), each timed over a batch of invokes in CPU time, so a change in the machine's
load falls on all of them alike; the difference is taken within each round and its median over
the rounds is reported with its interquartile range and the standard error of that median
(from the IQR, as for a normal spread: 1.2533 x IQR / 1.349 / sqrt(rounds)). The empty prefix
(no operator) is the cost of ``invoke`` itself.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from kws.errors import KwsError
from kws.tflite_ops import Graph, Operator, read_graph
from kws.tflite_prefix import prefix_model

# --kernels -> LiteRT's OpResolverType member
KERNELS = {
    "ref": "BUILTIN_REF",  # TFLite's reference kernels: portable loops, as TFLM's reference kernels
    "builtin": "BUILTIN_WITHOUT_DEFAULT_DELEGATES",  # optimized kernels, no XNNPACK
    "xnnpack": "AUTO",  # what `kws detect` and `kws battery` run: XNNPACK where it can
}
DEFAULT_KERNELS = "ref"
DEFAULT_ROUNDS = 51
BATCH_CPU_S = 0.005  # each timing is a batch of invokes of the whole model this long, at least
INPUT_SEED = 0
# standard error of a median of n normal values: 1.2533 sigma / sqrt(n); sigma = IQR / 1.349
MEDIAN_SE_PER_IQR = 1.2533 / 1.349
# operators whose multiply-accumulates are counted (the manifest's convention: convolutions and
# dense layers, ``training.models.count_macs``); every other operator counts 0
MAC_OPERATORS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV")


def operator_macs(graph: Graph, operator: Operator) -> int:
    """Multiply-accumulates of one run of ``operator``, from its tensors' shapes (0 for an
    operator outside ``MAC_OPERATORS``).

    CONV_2D: output elements x kernel height x width x input channels of the filter
    ``[out_ch, kh, kw, in_ch]``; DEPTHWISE_CONV_2D: output elements x kernel height x width
    (filter ``[1, kh, kw, out_ch]``); FULLY_CONNECTED: output elements x input depth (weights
    ``[units, depth]``); TRANSPOSE_CONV: input elements x kernel height x width x output
    channels (weights ``[out_ch, kh, kw, in_ch]``).

    Raises:
        KwsError: a tensor the operator needs is missing or has the wrong rank.
    """
    if operator.name not in MAC_OPERATORS:
        return 0
    try:
        output = graph.tensor(operator.outputs[0]).shape
        if operator.name == "TRANSPOSE_CONV":
            weights = graph.tensor(operator.inputs[1]).shape
            source = graph.tensor(operator.inputs[2]).shape
            out_ch, kh, kw, _ = weights
            return math.prod(source) * kh * kw * out_ch
        weights = graph.tensor(operator.inputs[1]).shape
        if operator.name == "CONV_2D":
            _, kh, kw, in_ch = weights
            return math.prod(output) * kh * kw * in_ch
        if operator.name == "DEPTHWISE_CONV_2D":
            _, kh, kw, _ = weights
            return math.prod(output) * kh * kw
        _, depth = weights  # FULLY_CONNECTED
        return math.prod(output) * depth
    except (IndexError, ValueError, KwsError) as error:
        raise KwsError(
            f"operator {operator.index} ({operator.name}) has tensors of unexpected shapes"
        ) from error


@dataclass(frozen=True)
class HostTimes:
    """Measured host times (us): each operator's median difference, its interquartile range
    and the standard error of the median; the empty model's invoke and the whole model's."""

    kernels: str
    rounds: int
    invokes_per_timing: int
    operator_us: tuple[float, ...]
    operator_iqr_us: tuple[float, ...]
    operator_se_us: tuple[float, ...]
    invoke_us: float
    whole_us: float


def _interpreter(payload: bytes, kernels: str, inputs: dict[str, Any]) -> Any:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from kws.stderr_filter import LITERT_INFO, dropping

    with dropping(LITERT_INFO):
        interpreter = Interpreter(
            model_content=payload,
            num_threads=1,
            experimental_op_resolver_type=getattr(OpResolverType, KERNELS[kernels]),
        )
        interpreter.allocate_tensors()
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"], inputs[detail["name"]])
    return interpreter


def _seeded_inputs(payload: bytes) -> dict[str, Any]:
    """A fixed random value for every input of the model (by name), of its shape and type."""
    from ai_edge_litert.interpreter import Interpreter

    from kws.stderr_filter import LITERT_INFO, dropping

    with dropping(LITERT_INFO):
        interpreter = Interpreter(model_content=payload)
    rng = np.random.default_rng(INPUT_SEED)
    values = {}
    for detail in interpreter.get_input_details():
        dtype = np.dtype(detail["dtype"])
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            value = rng.integers(info.min, info.max, detail["shape"], endpoint=True)
        else:
            value = rng.standard_normal(detail["shape"])
        values[detail["name"]] = value.astype(dtype)
    return values


def _batch_cpu_s(interpreter: Any, invokes: int) -> float:
    invoke = interpreter.invoke
    start = time.process_time_ns()
    for _ in range(invokes):
        invoke()
    return (time.process_time_ns() - start) * 1e-9 / invokes


def _iqr(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    quartiles = statistics.quantiles(values, n=4, method="inclusive")
    return quartiles[2] - quartiles[0]


def time_operators(
    payload: bytes,
    kernels: str = DEFAULT_KERNELS,
    rounds: int = DEFAULT_ROUNDS,
    batch_cpu_s: float = BATCH_CPU_S,
    graph: Graph | None = None,
) -> HostTimes:
    """Measure each operator's host time on LiteRT with ``kernels`` (a key of ``KERNELS``),
    over ``rounds`` rounds of every prefix of the model.

    Raises:
        KwsError: an unknown ``kernels``, or rounds below 1.
        BundleError: the payload is not a TFLite model.
    """
    if kernels not in KERNELS:
        raise KwsError(f"unknown kernels {kernels!r}; choose one of {', '.join(KERNELS)}")
    if rounds < 1:
        raise KwsError("rounds must be at least 1")
    graph = graph if graph is not None else read_graph(payload)
    inputs = _seeded_inputs(payload)
    prefixes = [
        _interpreter(prefix_model(payload, count, graph), kernels, inputs)
        for count in range(len(graph.operators) + 1)
    ]
    whole = prefixes[-1]
    whole.invoke()  # warm: first invokes prepare kernels and caches
    invokes = max(1, math.ceil(batch_cpu_s / max(_batch_cpu_s(whole, 3), 1e-7)))
    seconds: list[list[float]] = [[0.0] * len(prefixes) for _ in range(rounds)]
    enabled = gc.isenabled()
    gc.disable()
    try:
        for prefix in prefixes:
            _batch_cpu_s(prefix, invokes)
        for round_index in range(rounds):
            order = range(len(prefixes)) if round_index % 2 == 0 else reversed(range(len(prefixes)))
            for count in order:
                seconds[round_index][count] = _batch_cpu_s(prefixes[count], invokes)
    finally:
        if enabled:
            gc.enable()
    differences = [
        [1e6 * (row[k + 1] - row[k]) for row in seconds] for k in range(len(graph.operators))
    ]
    return HostTimes(
        kernels,
        rounds,
        invokes,
        tuple(statistics.median(values) for values in differences),
        tuple(_iqr(values) for values in differences),
        tuple(MEDIAN_SE_PER_IQR * _iqr(values) / math.sqrt(rounds) for values in differences),
        statistics.median(1e6 * row[0] for row in seconds),
        statistics.median(1e6 * row[-1] for row in seconds),
    )
