"""Run one INT8 TFLite model with LiteRT, as its ``kws.manifest.ModelSpec`` describes it.

Features arrive as uint16 frontend frames; a lookup table turns them into the model's int8 input
(``uint16 * feature_scale`` quantized with the input's scale and zero point) without float math
per call. Streaming models carry their state tensors between calls (external state): each state
output is fed back to its input, requantized if the converter gave the two different scales.

A model whose spec says ``score_activation="sigmoid"`` outputs a logit (kws's own
models: an int8 sigmoid output saturates at 255/256); its score is the sigmoid of the
dequantized output, computed here in float. Without the key the output is the probability
itself (microWakeWord's models).

The always-on path runs every 30 ms for hours, so it avoids copies: the model's input, state
and score tensors are held as numpy views of the interpreter's own buffers, the input is
written in place through the lookup table and each state output is copied straight into its
input. LiteRT's ``Interpreter.invoke`` refuses to run while such views exist (it guards against
``allocate_tensors`` moving the buffers, which is never called again here), so the views path
invokes the wrapped interpreter directly. It is used only when every tensor it writes has a
buffer of its own (the arena may overlap an output with a dead input); otherwise, or if LiteRT
changes that wrapper, ``step`` copies through ``set_tensor``/``get_tensor`` as before, with
identical scores (a test compares the two).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.errors import BundleError
from kws.manifest import ModelSpec, TensorSpec
from kws.stderr_filter import LITERT_INFO, dropping

_DTYPES = {"int8": np.int8, "uint8": np.uint8}
_UINT16 = np.dtype(np.uint16)


def feature_lut(
    feature_scale: float, scale: float, zero_point: int, dtype: str
) -> npt.NDArray[Any]:
    """Table mapping every uint16 feature value to the model's quantized input value."""
    info = np.iinfo(_DTYPES[dtype])
    values = np.arange(65536, dtype=np.float64) * feature_scale
    quantized = np.round(values / scale) + zero_point
    return np.clip(quantized, info.min, info.max).astype(_DTYPES[dtype])


def tensor_summary(detail: dict[str, Any], name: str) -> dict[str, Any]:
    """The manifest's description of one interpreter tensor."""
    scale, zero_point = detail["quantization"]
    return {
        "name": name,
        "index": int(detail["index"]),
        "shape": [int(d) for d in detail["shape"]],
        "dtype": np.dtype(detail["dtype"]).name,
        "scale": float(scale),
        "zero_point": int(zero_point),
    }


class TfliteModel:
    """One model: ``step(frames)`` -> score in [0, 1]; ``reset()`` clears streaming state."""

    def __init__(
        self,
        model_content: bytes,
        spec: ModelSpec,
        feature_scale: float,
        reference_kernels: bool = False,
        in_place: bool = True,
        native: bool = True,
    ) -> None:
        """Check ``spec`` (validated when it was made) against the model itself.

        ``in_place=False`` keeps LiteRT's copying calls (the reference the in-place path is
        tested against); ``native=False`` keeps LiteRT for a streaming model that
        ``kws.int8_step`` could run (the reference that path is tested against).

        Raises:
            BundleError: not a loadable TFLite model, or one ``spec`` does not describe.
        """
        from ai_edge_litert.interpreter import OpResolverType

        self.spec = spec
        self.stride_frames = spec.stride_frames
        self.window_frames = spec.window_frames
        self.streaming = spec.streaming
        self._model_content = model_content
        self.feature_scale = feature_scale
        self._resolver = (
            # XNNPACK is ~5x faster on a PC; TFLite's reference kernels round exactly like
            # TFLM on a microcontroller (evaluation and the microWakeWord agreement use them).
            OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            if reference_kernels
            else OpResolverType.AUTO
        )
        self._in_place = in_place
        try:
            self.interpreter = self._new_interpreter()
        except (ValueError, RuntimeError) as error:
            raise BundleError(f"{spec.file}: not a loadable TFLite model") from error
        inputs = {tensor.name: tensor for tensor in spec.inputs}
        outputs = {tensor.name: tensor for tensor in spec.outputs}
        for role, table, actual in (
            ("input", inputs, self.interpreter.get_input_details()),
            ("output", outputs, self.interpreter.get_output_details()),
        ):
            by_index = {int(detail["index"]): detail for detail in actual}
            for tensor in table.values():
                _check_tensor(spec.file, role, tensor, by_index)
        if "features" not in inputs or "score" not in outputs:
            raise BundleError(f"{spec.file}: manifest needs a 'features' input and 'score' output")
        features = inputs["features"]
        if math.prod(features.shape) != self.window_frames * 40 * features.shape[0]:
            raise BundleError(
                f"{spec.file}: features input {list(features.shape)} does not hold "
                f"window_frames={self.window_frames} x 40 channels"
            )
        self._features_index = features.index
        self._features_shape = features.shape
        self._lut = feature_lut(feature_scale, features.scale, features.zero_point, features.dtype)
        from kws.frontend.bits import lookup_into  # Numba: loaded with the model, not the spec

        self._lookup_into = lookup_into
        self._lookup_window: Any = lookup_into  # its machine code, with the views
        score = outputs["score"]
        self._score_index = score.index
        self._score_scale = score.scale
        self._score_zero_point = score.zero_point
        self._score_is_logit = spec.score_activation == "sigmoid"
        # every score an int8/uint8 output can give, by its byte: one list lookup per step
        score_dtype = _DTYPES[score.dtype]
        self._score_by_byte = [
            self._score(np.array([byte], np.uint8).view(score_dtype)[0]) for byte in range(256)
        ]
        self._states: list[tuple[int, int, float, float, int, int, Any]] = []
        for in_name, out_name in spec.states:
            if in_name not in inputs or out_name not in outputs:
                raise BundleError(f"{spec.file}: state {in_name}->{out_name} not in manifest")
            src, dst = outputs[out_name], inputs[in_name]
            if src.shape != dst.shape:
                raise BundleError(f"{spec.file}: state {in_name} changes shape")
            self._states.append(
                (
                    dst.index,
                    src.index,
                    src.scale,
                    dst.scale,
                    src.zero_point,
                    dst.zero_point,
                    _DTYPES[dst.dtype],
                )
            )
        self._state_inputs = [state[0] for state in self._states]
        self._state_outputs = [state[1] for state in self._states]
        self._requantized = [
            position
            for position, (_, _, s_out, s_in, zp_out, zp_in, _) in enumerate(self._states)
            if s_out != s_in or zp_out != zp_in
        ]
        self._initial_states = [
            np.full(inputs[name].shape, inputs[name].zero_point, _DTYPES[inputs[name].dtype])
            for name, _ in spec.states
        ]
        self._attach_views()
        # the tiny model's whole step in one compiled call where it gives LiteRT's XNNPACK
        # scores and states bit for bit (``kws.int8_step``); reference kernels stay LiteRT's
        self._native: Any = None
        self._native_step: Any = None
        self._native_invoke: Any = None
        if native and not reference_kernels and self.streaming and not spec.internal_state:
            self._attach_native()
        self._used = False
        self.reset()

    def _attach_views(self) -> None:
        self._views = (
            _BufferViews.attach(
                self.interpreter, self._features_index, self._states, self._score_index
            )
            if self._in_place
            else None
        )
        if self._views is not None:
            # ``lookup_into`` as machine code for a C-contiguous, aligned, writeable uint16
            # window into these features (``step`` checks that it has one): its dispatch was a
            # fifth of the tiny model's step
            from kws.frontend.kernel_cache import machine_code

            window = np.zeros(self._views.features.shape, np.uint16)
            self._lookup_window = machine_code(
                self._lookup_into, (self._lut, window, self._views.features)
            )
        # each state output copied into its input after every step, flat views on both sides
        pairs = (
            list(zip(self._views.state_inputs, self._views.state_outputs, strict=True))
            if self._views
            else []
        )
        # Python memoryviews (``.data``) where the dtypes agree: their slice assignment is a
        # plain memcpy, a quarter of numpy's cost for these small tensors (both assign alike)
        self._state_copies: list[tuple[Any, Any]] = [
            (into.reshape(-1).data, out.reshape(-1).data)
            if into.dtype == out.dtype
            else (into.reshape(-1), out.reshape(-1))
            for position, (into, out) in enumerate(pairs)
            if position not in self._requantized
        ]
        self._state_requantizations = [
            (position, into.reshape(-1), out.reshape(-1))
            for position, (into, out) in enumerate(pairs)
            if position in self._requantized
        ]

    def _attach_native(self) -> None:
        """``kws.int8_step``'s step for this model, if it builds and agrees with LiteRT."""
        from kws.int8_step import Int8Step, agrees_with

        native = Int8Step.build(
            self._model_content,
            self._features_index,
            self._score_index,
            [(into, out) for into, out, *_ in self._states],
        )
        if native is None:
            return
        shape = (self.window_frames, self._features_shape[-1])

        def litert_step(frames: npt.NDArray[np.uint16]) -> tuple[int, list[npt.NDArray[Any]]]:
            self.step(frames)  # LiteRT's (the native step is not attached yet)
            if self._views is not None:  # the states already copied into the inputs
                states = [view.reshape(-1).copy() for view in self._views.state_inputs]
                return int(self._views.score_byte[0]), states
            raw = self.interpreter.get_tensor(self._score_index).reshape(-1)
            return int(raw.view(np.uint8)[0]), [value.reshape(-1) for value in self._state_values]

        step, invoke = native.kernels(self._lut, np.zeros(shape, np.uint16))
        self.reset()
        agreed = agrees_with(native, step, self._lut, litert_step, shape)
        self.reset()
        if agreed:
            self._native, self._native_shape = native, shape
            self._native_step, self._native_invoke = step, invoke

    def native_parts(self) -> tuple[npt.NDArray[Any], npt.NDArray[np.uint8], list[float]] | None:
        """(lookup table, ``Int8Step`` blob, score by byte) where the step runs natively, for
        a caller that steps it inside its own kernel (``kws.always_on``); None where LiteRT
        runs it."""
        if self._native is None:
            return None
        self._used = True
        return self._lut, self._native.blob, self._score_by_byte

    def _requantize(self, position: int, value: npt.NDArray[Any]) -> npt.NDArray[Any]:
        _, _, s_out, s_in, zp_out, zp_in, dtype = self._states[position]
        info = np.iinfo(dtype)
        real = (value.astype(np.float32) - zp_out) * s_out
        requantized: npt.NDArray[Any] = np.clip(
            np.round(real / s_in) + zp_in, info.min, info.max
        ).astype(dtype)
        return requantized

    def _new_interpreter(self) -> Any:
        from ai_edge_litert.interpreter import Interpreter

        # LiteRT's "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." is not for users;
        # its ERROR lines (an unknown op, say) still reach stderr.
        with dropping(LITERT_INFO):
            interpreter = Interpreter(
                model_content=self._model_content,
                num_threads=1,
                experimental_op_resolver_type=self._resolver,
            )
            interpreter.allocate_tensors()
        return interpreter

    @property
    def model_content(self) -> bytes:
        """The ``.tflite`` flatbuffer this model runs (as verified when the bundle was read)."""
        return self._model_content

    def reset(self) -> None:
        """Forget all streaming history (states back to zero)."""
        self._state_values = [state.copy() for state in self._initial_states]
        if self._native is not None:
            self._native.reset()
        if self._views is not None:
            for view, initial in zip(self._views.state_inputs, self._initial_states, strict=True):
                view[...] = initial
        if self.spec.internal_state and self._used:
            # The state of microWakeWord's models lives in resource variables, which LiteRT's
            # reset_all_variables leaves as they were: only a new interpreter starts afresh.
            self.interpreter = self._new_interpreter()
            self._attach_views()
            self._used = False

    def step(self, frames: npt.NDArray[np.uint16]) -> float:
        """Run one inference on ``window_frames`` uint16 frames; return the keyword probability."""
        self._used = True
        native = self._native_step
        if native is not None and frames.dtype is _UINT16 and frames.flags.carray:
            if frames.shape == self._native_shape:  # the cascade's windows
                score: float = self._score_by_byte[native(self._lut, frames)]
                return score
            raise ValueError(
                f"frames of shape {frames.shape}; the model takes {self._native_shape}"
            )
        views = self._views
        if views is None:
            return self._step_copying(frames)
        if frames.dtype is _UINT16 and frames.flags.carray:  # the cascade's windows
            self._lookup_window(self._lut, frames, views.features)
        elif frames.dtype is _UINT16:
            self._lookup_into(self._lut, frames, views.features)
        else:  # (features are uint16; anything else is clipped into the table, as numpy does)
            self._lut.take(frames, out=views.features, mode="clip")
        views.invoke()
        if self._states:
            for into, out in self._state_copies:
                into[:] = out
            for position, into, out in self._state_requantizations:
                into[:] = self._requantize(position, out)
        return self._score_by_byte[views.score_byte[0]]

    def invoke(self) -> None:
        """Run the model's kernels once on whatever its input holds, nothing else (benchmarks
        time the kernels apart from ``step``'s input, state and score handling with it)."""
        if self._native_invoke is not None:
            self._native_invoke()
        elif self._views is not None:
            self._views.invoke()
        else:
            self.interpreter.invoke()

    def _step_copying(self, frames: npt.NDArray[np.uint16]) -> float:
        interpreter = self.interpreter
        interpreter.set_tensor(
            self._features_index, self._lut[frames].reshape(self._features_shape)
        )
        set_tensor, get_tensor = interpreter.set_tensor, interpreter.get_tensor
        for in_index, value in zip(self._state_inputs, self._state_values, strict=True):
            set_tensor(in_index, value)
        interpreter.invoke()
        # the always-on path: one call per state, no requantization unless scales differ
        values = [get_tensor(index) for index in self._state_outputs]
        for position in self._requantized:
            values[position] = self._requantize(position, values[position])
        self._state_values = values
        return self._score(interpreter.get_tensor(self._score_index).reshape(-1)[0])

    def _score(self, raw: Any) -> float:
        score = (float(raw) - self._score_zero_point) * self._score_scale
        if self._score_is_logit:
            return 1.0 / (1.0 + math.exp(-score)) if score > -700.0 else 0.0
        return float(score)


@dataclass(frozen=True)
class _BufferViews:
    """Numpy views of one interpreter's input, state and score buffers, and its raw invoke."""

    invoke: Callable[[], None]
    features: npt.NDArray[Any]  # [window_frames, 40]
    state_inputs: list[npt.NDArray[Any]]
    state_outputs: list[npt.NDArray[Any]]
    score: npt.NDArray[Any]  # flat
    score_byte: memoryview  # the score's one byte, read as a Python int (no numpy scalar)

    @classmethod
    def attach(
        cls,
        interpreter: Any,
        features_index: int,
        states: list[tuple[int, int, float, float, int, int, Any]],
        score_index: int,
    ) -> _BufferViews | None:
        """Views of the buffers, or None where they alias one another or LiteRT's wrapper is
        not the one this was written against."""
        wrapped = getattr(interpreter, "_interpreter", None)
        invoke = getattr(wrapped, "Invoke", None)
        if invoke is None:
            return None
        try:
            features = interpreter.tensor(features_index)()
            state_inputs = [interpreter.tensor(state[0])() for state in states]
            state_outputs = [interpreter.tensor(state[1])() for state in states]
            score = interpreter.tensor(score_index)()
        except (ValueError, RuntimeError, TypeError):
            return None
        written = [features, *state_inputs]
        if not _disjoint([*written, *state_outputs, score]):
            return None
        return cls(
            invoke,
            features.reshape(-1, features.shape[-1]),
            state_inputs,
            state_outputs,
            score.reshape(-1),
            score.reshape(-1).view(np.uint8).data,
        )


def _disjoint(arrays: list[npt.NDArray[Any]]) -> bool:
    """True when no two arrays share a byte of memory."""
    spans = sorted(
        (int(a.__array_interface__["data"][0]), int(a.__array_interface__["data"][0]) + a.nbytes)
        for a in arrays
    )
    return all(
        end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False)
    )


def _check_tensor(
    file: str, role: str, tensor: TensorSpec, actual: dict[int, dict[str, Any]]
) -> None:
    where = f"{file}: {role} {tensor.name!r}"
    detail = actual.get(tensor.index)
    if detail is None:
        raise BundleError(f"{where} index {tensor.index} is not a model {role}")
    dtype = np.dtype(detail["dtype"]).name
    if dtype not in _DTYPES:
        raise BundleError(f"{where} is {dtype}; kws runs only int8/uint8 quantized models")
    if dtype != tensor.dtype:
        raise BundleError(f"{where} is {dtype} but the manifest says {tensor.dtype}")
    if tuple(int(d) for d in detail["shape"]) != tensor.shape:
        raise BundleError(
            f"{where} has shape {list(detail['shape'])} but the manifest says {list(tensor.shape)}"
        )
