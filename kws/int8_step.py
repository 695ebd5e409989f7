"""A streaming INT8 model's step in one Numba call, bit for bit what LiteRT's XNNPACK gives.

The tiny model runs every 30 ms for hours, and most of its step on a PC was Python around
LiteRT (the lookup's call, the invoke, three state copies, the score), not its 5,600 MACs. For
a streaming model of the operators kws's tiny models are made of, each convolution giving one
output position (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED; CONCATENATION and STRIDED_SLICE
along time for the state), ``Int8Step`` runs the whole step in one compiled call: the feature
lookup, every operator in the model's order over one int8 arena, the state outputs copied to
the state inputs, and the score's byte returned.

Its arithmetic is XNNPACK's (the kernels LiteRT runs on a PC): int32 accumulation, then a
float32 requantisation scale (input scale x the filter's channel scale / output scale, each
product rounded to float32), the accumulator times it in float32, rounded half to even, plus
the output's zero point, clamped to int8. TFLite's reference kernels (TFLM's on a device) round
through a fixed-point multiplier instead and differ in the last bit now and then, so a model
loaded with ``reference_kernels`` keeps LiteRT. ``Int8Step.build`` refuses any other model (None:
LiteRT runs it), and ``TfliteModel`` uses one only after it has given LiteRT's scores and states
on a check stream, step for step (``agrees_with``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.frontend.int32_arith import add32, mul32
from kws.frontend.kernel_cache import check_frontend_cache, machine_code, unrefcounted
from kws.tflite_ops import Graph, Operator, read_graph

# the op program's row: what an operator reads, writes and with which parameters
_CONV, _DEPTHWISE, _COPY = 0, 1, 2
_KIND, _IN, _ROWS, _IN_COLS, _TAPS, _DILATION, _W, _B, _S, _OUT, _OUT_COLS, _OUT_ZP = range(12)
_FIELDS = 12
_MAGIC = np.float32(12582912.0)  # 1.5 x 2**23
CHECK_STEPS = 256  # steps of a seeded random stream a native step must agree with LiteRT on


@unrefcounted
def _run_ops(
    arena: npt.NDArray[np.int8],
    program: npt.NDArray[np.int64],
    weights: npt.NDArray[np.int8],
    biases: npt.NDArray[np.int32],
    scales: npt.NDArray[np.float32],
    copies: npt.NDArray[np.int64],
    acc: npt.NDArray[np.int32],
) -> None:
    """Every operator of ``program`` in order over ``arena``, then the state copies. ``acc``:
    scratch for one operator's accumulators. Biases come with the input's zero point folded
    in (``_Builder._convolution``), so the loops multiply the int8 values as they are, in
    int32 (``int32_arith``: eight lanes a register)."""
    for op in range(program.shape[0]):
        row = program[op]
        kind, source, in_cols, out = row[_KIND], row[_IN], row[_IN_COLS], row[_OUT]
        if kind == _COPY:  # a concatenation's input or a slice: contiguous int8
            _copy(arena, source, out, row[_ROWS])
            continue
        taps, dilation, w, b, s = row[_TAPS], row[_DILATION], row[_W], row[_B], row[_S]
        out_cols, out_zp = row[_OUT_COLS], np.float32(row[_OUT_ZP])
        # views, indexed by loop counters: Numba then knows no index is negative, and the
        # loops vectorise (an index computed from offsets gets a wraparound branch each)
        totals = acc[:out_cols]
        bias = biases[b : b + out_cols]
        for o in range(out_cols):
            totals[o] = bias[o]
        if kind == _CONV and dilation == 1:  # the taps' rows are one run of the arena
            span = taps * in_cols
            x = arena[source : source + span]
            for o in range(out_cols):
                kernel = weights[w + o * span : w + (o + 1) * span]
                total = 0
                for c in range(span):
                    total = add32(total, mul32(int(x[c]), int(kernel[c])))
                totals[o] = add32(int(totals[o]), total)
        elif kind == _CONV:  # weights [out_cols, taps, in_cols]
            for o in range(out_cols):
                total = 0
                for k in range(taps):
                    at = source + k * dilation * in_cols
                    x = arena[at : at + in_cols]
                    at = w + (o * taps + k) * in_cols
                    kernel = weights[at : at + in_cols]
                    for c in range(in_cols):
                        total = add32(total, mul32(int(x[c]), int(kernel[c])))
                totals[o] = add32(int(totals[o]), total)
        else:  # depthwise: weights [taps, channels], out_cols == in_cols
            for k in range(taps):
                at = source + k * dilation * in_cols
                x = arena[at : at + in_cols]
                kernel = weights[w + k * out_cols : w + (k + 1) * out_cols]
                for o in range(out_cols):
                    totals[o] = add32(int(totals[o]), mul32(int(x[o]), int(kernel[o])))
        scale = scales[s : s + out_cols]
        result = arena[out : out + out_cols]
        low, high = np.float32(-128.0) - out_zp, np.float32(127.0) - out_zp
        for o in range(out_cols):
            value = min(high, max(low, np.float32(totals[o]) * scale[o]))
            # rounded half to even as XNNPACK rounds: adding and taking away 1.5 x 2**23 leaves
            # a float32 of at most 255 in magnitude with no fraction
            rounded = (value + _MAGIC) - _MAGIC
            result[o] = np.int8(np.int32(rounded) + np.int32(row[_OUT_ZP]))
    for i in range(copies.shape[0]):
        _copy(arena, copies[i, 0], copies[i, 1], copies[i, 2])


@unrefcounted
def _copy(arena: npt.NDArray[np.int8], source: int, into: int, count: int) -> None:
    """``count`` bytes of the arena from ``source`` to ``into`` (regions that do not overlap)."""
    frm = arena[source : source + count]
    to = arena[into : into + count]
    for i in range(count):
        to[i] = frm[i]


# the blob's header: int64 words giving where each part starts (bytes) and its length
(
    _OPS, _PROGRAM_AT, _COPIES, _COPIES_AT, _SCALES_AT, _SCALES, _BIASES_AT, _BIASES,
    _ACC_AT, _ACC, _WEIGHTS_AT, _WEIGHTS, _ARENA_AT, _ARENA, _FEATURES_AT, _SCORE_AT,
    _WINDOW_FRAMES,
) = range(17)  # fmt: skip
_HEADER_WORDS = 17


@unrefcounted
def _parts(
    blob: npt.NDArray[np.uint8],
) -> tuple[
    npt.NDArray[np.int8],
    npt.NDArray[np.int64],
    npt.NDArray[np.int8],
    npt.NDArray[np.int32],
    npt.NDArray[np.float32],
    npt.NDArray[np.int64],
    npt.NDArray[np.int32],
]:
    """The arena, program, weights, biases, scales, copies and scratch inside ``blob`` (views):
    one array argument where seven would each cost Numba an unboxing per call."""
    head = blob[: 8 * _HEADER_WORDS].view(np.int64)
    at = head[_PROGRAM_AT]
    program = blob[at : at + 8 * _FIELDS * head[_OPS]].view(np.int64).reshape((head[_OPS], _FIELDS))
    at = head[_COPIES_AT]
    copies = blob[at : at + 24 * head[_COPIES]].view(np.int64).reshape((head[_COPIES], 3))
    at = head[_SCALES_AT]
    scales = blob[at : at + 4 * head[_SCALES]].view(np.float32)
    at = head[_BIASES_AT]
    biases = blob[at : at + 4 * head[_BIASES]].view(np.int32)
    at = head[_ACC_AT]
    acc = blob[at : at + 4 * head[_ACC]].view(np.int32)
    at = head[_WEIGHTS_AT]
    weights = blob[at : at + head[_WEIGHTS]].view(np.int8)
    at = head[_ARENA_AT]
    arena = blob[at : at + head[_ARENA]].view(np.int8)
    return arena, program, weights, biases, scales, copies, acc


@unrefcounted
def step_blob(
    table: npt.NDArray[np.int8], frames: npt.NDArray[np.uint16], blob: npt.NDArray[np.uint8]
) -> int:
    """The feature lookup into the arena, the model, and the score's byte (0-255)."""
    arena, program, weights, biases, scales, copies, acc = _parts(blob)
    head = blob[: 8 * _HEADER_WORDS].view(np.int64)
    features = arena[head[_FEATURES_AT] : head[_FEATURES_AT] + frames.size]
    columns = frames.shape[1]
    for row in range(frames.shape[0]):
        for column in range(columns):
            features[row * columns + column] = table[frames[row, column]]
    _run_ops(arena, program, weights, biases, scales, copies, acc)
    return int(arena[head[_SCORE_AT]]) & 0xFF


# Numba checks a cached kernel against its own file only, and these inline the frontend's
# (``int32_arith``; ``always_on`` its whole kernel): when any of those sources changes, the
# cached kernels of this module and ``always_on`` are dropped before one is loaded.
check_frontend_cache(step_blob, also=(Path(__file__), Path(__file__).with_name("always_on.py")))


@unrefcounted
def window_frames(blob: npt.NDArray[np.uint8]) -> int:
    """The frames one step reads."""
    return int(blob[: 8 * _HEADER_WORDS].view(np.int64)[_WINDOW_FRAMES])


@unrefcounted
def _invoke_blob(blob: npt.NDArray[np.uint8]) -> None:
    arena, program, weights, biases, scales, copies, acc = _parts(blob)
    _run_ops(arena, program, weights, biases, scales, copies, acc)


def _aligned(size: int) -> int:
    return (size + 7) // 8 * 8


@dataclass
class Int8Step:
    """One streaming model compiled to an op program over an int8 arena (module docstring),
    all of it in one byte array, ``blob``; the other fields are views into it."""

    blob: npt.NDArray[np.uint8]
    arena: npt.NDArray[np.int8]
    weights: npt.NDArray[np.int8]
    states: list[tuple[int, int]]  # (arena offset, bytes) of each state input
    initial: npt.NDArray[np.int8]  # the arena after ``reset``

    @classmethod
    def build(
        cls,
        model_content: bytes,
        features_index: int,
        score_index: int,
        state_pairs: list[tuple[int, int]],
    ) -> Int8Step | None:
        """The native step of the model, or None where it has an operator or a shape this does
        not run (LiteRT runs it then). ``state_pairs``: (input, output) tensor indices."""
        try:
            return _Builder(model_content, features_index, score_index, state_pairs).build()
        except _Unsupported:
            return None

    @classmethod
    def packed(
        cls,
        parts: list[npt.NDArray[Any]],
        features_at: int,
        score_at: int,
        states: list[tuple[int, int]],
        frames: int,
    ) -> Int8Step:
        """``parts`` (program, copies, scales, biases, scratch, weights, arena) in one blob."""
        program, copies, scales, biases, acc, weights, arena = parts
        head = np.zeros(_HEADER_WORDS, np.int64)
        head[_OPS], head[_COPIES] = program.shape[0], copies.shape[0]
        head[_SCALES], head[_BIASES], head[_ACC] = scales.size, biases.size, acc.size
        head[_WEIGHTS], head[_ARENA] = weights.size, arena.size
        head[_FEATURES_AT], head[_SCORE_AT] = features_at, score_at
        head[_WINDOW_FRAMES] = frames
        at = 8 * _HEADER_WORDS
        places = []
        for key, part in zip(
            (_PROGRAM_AT, _COPIES_AT, _SCALES_AT, _BIASES_AT, _ACC_AT, _WEIGHTS_AT, _ARENA_AT),
            parts,
            strict=True,
        ):
            head[key] = at
            places.append(at)
            at += _aligned(part.nbytes)
        blob = np.zeros(at, np.uint8)
        blob[: head.nbytes] = head.view(np.uint8)
        for place, part in zip(places, parts, strict=True):
            blob[place : place + part.nbytes] = (
                np.ascontiguousarray(part).reshape(-1).view(np.uint8)
            )
        weights_at, arena_at = int(head[_WEIGHTS_AT]), int(head[_ARENA_AT])
        return cls(
            blob,
            blob[arena_at : arena_at + arena.size].view(np.int8),
            blob[weights_at : weights_at + weights.size].view(np.int8),
            states,
            arena.copy(),
        )

    def reset(self) -> None:
        self.arena[:] = self.initial

    def kernels(self, table: npt.NDArray[np.int8], window: npt.NDArray[np.uint16]) -> Any:
        """``step(table, window)`` -> the score's byte, as machine code for these arrays' types
        (a C-contiguous uint16 window, ``kernel_cache.machine_code``), and ``invoke()``: the
        operators alone on what the arena holds (benchmarks time the kernels apart)."""
        blob = self.blob
        step_code = machine_code(step_blob, (table, window, blob))
        invoke_code = machine_code(_invoke_blob, (blob,))

        def step(table: npt.NDArray[np.int8], frames: npt.NDArray[np.uint16]) -> int:
            return int(step_code(table, frames, blob))

        def invoke() -> None:
            invoke_code(blob)

        return step, invoke

    def state_values(self) -> list[npt.NDArray[np.int8]]:
        """Each state input's bytes (a copy), in ``state_pairs`` order."""
        return [self.arena[at : at + size].copy() for at, size in self.states]


class _Unsupported(Exception):
    """The model has something ``Int8Step`` does not run."""


class _Builder:
    """Reads one model's graph (``kws.tflite_ops``) and its constants and quantisation
    (a LiteRT interpreter with the reference kernels, where every tensor can be read) into an
    ``Int8Step``."""

    def __init__(
        self,
        content: bytes,
        features_index: int,
        score_index: int,
        state_pairs: list[tuple[int, int]],
    ) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        from kws.stderr_filter import LITERT_INFO, dropping

        self.graph: Graph = read_graph(content)
        with dropping(LITERT_INFO):
            self.interpreter = Interpreter(
                model_content=content,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
            self.interpreter.allocate_tensors()
        self.details = {int(d["index"]): d for d in self.interpreter.get_tensor_details()}
        self.features_index, self.score_index = features_index, score_index
        self.state_pairs = state_pairs
        self.offsets: dict[int, int] = {}
        self.arena_size = 0
        self.program: list[list[int]] = []
        self.weights: list[npt.NDArray[np.int8]] = []
        self.biases: list[npt.NDArray[np.int32]] = []
        self.scales: list[npt.NDArray[np.float32]] = []
        self.sizes = [0, 0, 0]  # weights, biases, scales so far

    def build(self) -> Int8Step:
        for index in (self.features_index, *(pair[0] for pair in self.state_pairs)):
            self._place(index)
        for operator in self.graph.operators:
            self._operator(operator)
        for index in (self.score_index, *(pair[1] for pair in self.state_pairs)):
            if index not in self.offsets:
                raise _Unsupported
        copies = []
        for into, out in self.state_pairs:
            if not self._same_quantization(into, out):
                raise _Unsupported  # a state the converter requantised: LiteRT's path
            copies.append([self.offsets[out], self.offsets[into], self._size(into)])
        arena = np.zeros(self.arena_size, np.int8)
        for into, _ in self.state_pairs:
            at = self.offsets[into]
            arena[at : at + self._size(into)] = self._quantization(into)[1]
        parts: list[npt.NDArray[Any]] = [
            np.array(self.program, np.int64).reshape(-1, _FIELDS),
            np.array(copies, np.int64).reshape(-1, 3),
            np.concatenate(self.scales) if self.scales else np.zeros(0, np.float32),
            np.concatenate(self.biases) if self.biases else np.zeros(0, np.int32),
            np.zeros(max([row[_OUT_COLS] for row in self.program], default=1), np.int32),
            np.concatenate(self.weights) if self.weights else np.zeros(0, np.int8),
            arena,
        ]
        return Int8Step.packed(
            parts,
            self.offsets[self.features_index],
            self.offsets[self.score_index],
            [(self.offsets[into], self._size(into)) for into, _ in self.state_pairs],
            self._time_and_channels(self.features_index)[0],
        )

    # tensors

    def _detail(self, index: int) -> dict[str, Any]:
        detail: dict[str, Any] | None = self.details.get(index)
        if detail is None:
            raise _Unsupported
        return detail

    def _size(self, index: int) -> int:
        return int(np.prod(self._detail(index)["shape"]))

    def _quantization(self, index: int) -> tuple[npt.NDArray[np.float32], int]:
        parameters = self._detail(index)["quantization_parameters"]
        scales = np.asarray(parameters["scales"], np.float32)
        zero_points = np.asarray(parameters["zero_points"])
        if scales.size == 0 or np.any(zero_points != zero_points.flat[0]):
            raise _Unsupported
        return scales, int(zero_points.flat[0])

    def _same_quantization(self, first: int, second: int) -> bool:
        """Whether two tensors have the same scales and zero point (bytes copy between them)."""
        (scales, zero_point), (other_scales, other_zero_point) = (
            self._quantization(first),
            self._quantization(second),
        )
        return zero_point == other_zero_point and np.array_equal(scales, other_scales)

    def _int8(self, index: int) -> None:
        if np.dtype(self._detail(index)["dtype"]) != np.int8:
            raise _Unsupported

    def _place(self, index: int) -> int:
        """The tensor's offset in the arena (placed at the end the first time)."""
        self._int8(index)
        if index not in self.offsets:
            self.offsets[index] = self.arena_size
            self.arena_size += self._size(index)
        return self.offsets[index]

    def _constant(self, index: int) -> npt.NDArray[Any]:
        try:
            return np.asarray(self.interpreter.get_tensor(index))
        except ValueError as error:
            raise _Unsupported from error

    def _time_and_channels(self, index: int) -> tuple[int, int]:
        """[1, time, 1, channels] (or [1, channels]) as (time, channels)."""
        shape = tuple(int(d) for d in self._detail(index)["shape"])
        if len(shape) == 4 and shape[0] == 1 and shape[2] == 1:
            return shape[1], shape[3]
        if len(shape) == 2 and shape[0] == 1:
            return 1, shape[1]
        raise _Unsupported

    # operators

    def _operator(self, operator: Operator) -> None:
        inputs = [i for i in operator.inputs if i != -1]
        if len(operator.outputs) != 1:
            raise _Unsupported
        out = operator.outputs[0]
        if operator.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            self._convolution(operator.name, list(operator.inputs), out)
        elif operator.name == "CONCATENATION":
            self._concatenation(inputs, out)
        elif operator.name == "STRIDED_SLICE":
            self._slice(inputs, out)
        else:
            raise _Unsupported

    def _convolution(self, name: str, inputs: list[int], out: int) -> None:
        """``inputs``: the operator's, -1 for a bias left out (a zero bias)."""
        if len(inputs) not in (2, 3) or -1 in inputs[:2]:
            raise _Unsupported
        source, weight_index = inputs[:2]
        bias_index = inputs[2] if len(inputs) == 3 else -1
        time, in_cols = self._time_and_channels(source)
        out_time, out_cols = self._time_and_channels(out)
        weights = self._constant(weight_index).astype(np.int8)
        if out_time != 1 or weights.dtype != np.int8:
            raise _Unsupported
        if name == "CONV_2D":  # [out, taps, 1, in]
            if weights.ndim != 4 or weights.shape[0] != out_cols or weights.shape[3] != in_cols:
                raise _Unsupported
            taps, kind, flat = weights.shape[1], _CONV, weights[:, :, 0, :]
        elif name == "DEPTHWISE_CONV_2D":  # [1, taps, 1, channels]
            if weights.ndim != 4 or weights.shape[3] != in_cols or out_cols != in_cols:
                raise _Unsupported
            taps, kind, flat = weights.shape[1], _DEPTHWISE, weights[0, :, 0, :]
        else:  # FULLY_CONNECTED: [out, in] over the input's every value
            in_cols = time * in_cols
            if weights.ndim != 2 or weights.shape != (out_cols, in_cols):
                raise _Unsupported
            time, taps, kind, flat = 1, 1, _CONV, weights
        # one output position: the taps span the whole input, ``dilation`` apart
        dilation = (time - 1) // (taps - 1) if taps > 1 else 1
        if (taps - 1) * dilation + 1 != time:
            raise _Unsupported
        bias = self._constant(bias_index) if bias_index != -1 else np.zeros(out_cols, np.int32)
        if bias.dtype != np.int32 or bias.shape != (out_cols,):
            raise _Unsupported
        in_scale, in_zp = self._quantization(source)
        weight_scales, _ = self._quantization(weight_index)
        out_scale, out_zp = self._quantization(out)
        if weight_scales.size == 1:
            weight_scales = np.repeat(weight_scales, out_cols)
        if weight_scales.size != out_cols or in_scale.size != 1 or out_scale.size != 1:
            raise _Unsupported
        # XNNPACK's requantisation scale, each operation rounded to float32
        scales = (np.float32(in_scale[0]) * weight_scales.astype(np.float32)) / np.float32(
            out_scale[0]
        )
        row = [0] * _FIELDS
        row[_KIND], row[_IN], row[_IN_COLS] = kind, self._place(source), in_cols
        row[_TAPS], row[_DILATION] = taps, dilation
        row[_W], row[_B], row[_S] = self.sizes
        row[_OUT], row[_OUT_COLS], row[_OUT_ZP] = self._place(out), out_cols, out_zp
        self.program.append(row)
        # sum((x - zp) * w) = sum(x * w) - zp * sum(w): the zero point's part goes in the bias
        # (integers: the same int32 accumulator XNNPACK makes, which folds it in alike)
        taps_axes = tuple(range(1, flat.ndim)) if kind == _CONV else (0,)
        folded = bias.astype(np.int64) - in_zp * flat.astype(np.int64).sum(axis=taps_axes)
        if np.abs(folded).max(initial=0) >= 2**31:
            raise _Unsupported
        self._parameters(np.ascontiguousarray(flat).reshape(-1), folded, scales.astype(np.float32))

    def _parameters(
        self,
        weights: npt.NDArray[np.int8],
        bias: npt.NDArray[np.int64],
        scales: npt.NDArray[np.float32],
    ) -> None:
        self.weights.append(weights)
        self.biases.append(bias.astype(np.int32))
        self.scales.append(scales)
        self.sizes = [
            self.sizes[0] + weights.size,
            self.sizes[1] + bias.size,
            self.sizes[2] + scales.size,
        ]

    def _copy(self, source_at: int, count: int, out_at: int) -> None:
        row = [0] * _FIELDS
        row[_KIND], row[_IN], row[_ROWS], row[_OUT] = _COPY, source_at, count, out_at
        self.program.append(row)

    def _concatenation(self, inputs: list[int], out: int) -> None:
        """Along time, every input quantised as the output: one copy each, in order."""
        _, channels = self._time_and_channels(out)
        at = self._place(out)
        for source in inputs:
            _, source_channels = self._time_and_channels(source)
            if source_channels != channels or not self._same_quantization(source, out):
                raise _Unsupported
            size = self._size(source)
            self._copy(self._place(source), size, at)
            at += size
        if at != self.offsets[out] + self._size(out):
            raise _Unsupported

    def _slice(self, inputs: list[int], out: int) -> None:
        """Rows ``begin`` on of [1, time, 1, channels], stride 1: one copy."""
        if len(inputs) != 4:
            raise _Unsupported
        source, begin_index, _, strides_index = inputs
        begin = self._constant(begin_index).reshape(-1)
        strides = self._constant(strides_index).reshape(-1)
        time, channels = self._time_and_channels(source)
        out_time, out_channels = self._time_and_channels(out)
        if (
            begin.size != 4
            or np.any(strides != 1)
            or begin[0] != 0
            or begin[2] != 0
            or begin[3] != 0
            or out_channels != channels
            or begin[1] + out_time > time
            or not self._same_quantization(source, out)
        ):
            raise _Unsupported
        first = self._place(source) + int(begin[1]) * channels
        self._copy(first, self._size(out), self._place(out))


def agrees_with(
    native: Int8Step,
    step: Any,
    table: npt.NDArray[np.int8],
    litert_step: Any,
    window_shape: tuple[int, int],
    steps: int = CHECK_STEPS,
) -> bool:
    """Whether ``native``'s ``step`` (from ``native.kernels``) gives the score byte and states
    ``litert_step(frames)`` gives (-> (score byte, [state values])) on ``steps`` windows of a
    seeded random stream, from a reset; ``native`` is reset after."""
    rng = np.random.default_rng(0)
    native.reset()
    agreed = True
    for _ in range(steps):
        frames = rng.integers(0, 1024, size=window_shape).astype(np.uint16)
        byte = step(table, frames)
        expected_byte, expected_states = litert_step(frames)
        if byte != expected_byte or any(
            not np.array_equal(got, want.reshape(-1))
            for got, want in zip(native.state_values(), expected_states, strict=True)
        ):
            agreed = False
            break
    native.reset()
    return agreed
