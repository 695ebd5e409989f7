"""`kws export --format c`: a bundle as C sources for TensorFlow Lite Micro.

Per model a header and a source: the ``.tflite`` bytes as a 16-byte aligned array, its length,
the tensor-arena size the bundle records (the figure ``kws battery``'s memory check adds up),
each input's and output's shape and quantization, the operators it uses and a macro that
registers exactly those with a ``MicroMutableOpResolver``. A cascade header carries the
frontend settings, the feature scale and the decision policy in hops, and ``*_cascade_main.cc``
is a main-loop sketch that runs the models the way ``kws.cascade.Cascade`` does.

Everything is written to a fresh folder beside the destination and moved into place only
when complete; the destination must be new or empty.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kws import bundle, tflite_ops
from kws.errors import BundleError
from kws.frontend.config import HOP_S
from kws.manifest import Bundle, ModelSpec, TensorSpec
from kws.noise_floor import floor_rms

ROLES = ("tiny", "full")
_BYTES_PER_LINE = 16


@dataclass(frozen=True)
class _Model:
    """A bundle's model as the C sources need it: its spec, the operators it uses and the
    tensor indices of its inputs and outputs in TFLM's order."""

    spec: ModelSpec
    ops: list[str]
    io: tuple[list[int], list[int]]


def c_identifier(keyword: str) -> str:
    """``hey jarvis`` -> ``hey_jarvis``: lowercase letters, digits and underscores only."""
    name = re.sub(r"[^a-z0-9]+", "_", keyword.lower()).strip("_") or "keyword"
    return name if not name[0].isdigit() else f"kw_{name}"


def check_destination(out_dir: Path) -> None:
    """Refuse a destination that is a file or a folder with anything in it.

    Raises:
        BundleError: ``out_dir`` exists and is not an empty folder, or cannot be written.
    """
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise BundleError(f"{out_dir} exists and is not a folder; choose a new or empty folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise BundleError(f"{out_dir} is not empty; choose a new or empty folder")
    bundle.check_writable_folder(out_dir.parent if not out_dir.exists() else out_dir)


def export_c(bundle_dir: Path, out_dir: Path) -> list[Path]:
    """Write the C sources of the bundle at ``bundle_dir`` into ``out_dir``; return the paths.

    Raises:
        BundleError: the bundle does not load, a model uses an operator TFLM has no kernel
            for, or the destination is taken or cannot be written.
    """
    loaded = bundle.read_bundle(bundle_dir)
    check_destination(out_dir)
    name = c_identifier(loaded.keyword)
    files: dict[str, str] = {}
    models: dict[str, _Model] = {}
    for role in ROLES:
        spec = loaded.models.get(role)
        if spec is None:
            continue
        if spec.arena_bytes is None:
            raise BundleError(f"the {role} model records no arena_bytes, which the C sources need")
        payload = bundle.read_model(bundle_dir, role, spec)
        ops = tflite_ops.operator_names(payload)
        missing = tflite_ops.unsupported_by_tflm(ops)
        if missing:
            raise BundleError(
                f"the {role} model uses {', '.join(missing)}, which TFLite Micro has no "
                "built-in kernel for"
            )
        models[role] = _Model(spec, ops, tflite_ops.io_tensors(payload))
        stem = f"{name}_{role}_model"
        files[f"{stem}.h"] = _model_header(loaded, name, role, models[role])
        files[f"{stem}.cc"] = _model_source(name, role, stem, payload)
    files[f"{name}_cascade.h"] = _cascade_header(loaded, name, models)
    files[f"{name}_cascade_main.cc"] = _main_sketch(name, models)
    return write_files(out_dir, files)


def write_files(out_dir: Path, files: dict[str, str] | dict[str, bytes]) -> list[Path]:
    """Write ``files`` (name -> text or bytes) into ``out_dir``, new or empty: all of them
    into a fresh folder beside it first, then moved in, so nothing is half written.

    Raises:
        BundleError: the disk refuses a write.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for file_name, content in files.items():
            payload = content.encode() if isinstance(content, str) else content
            (staging / file_name).write_bytes(payload)
        mask = os.umask(0)
        os.umask(mask)
        staging.chmod(0o777 & ~mask)
        if out_dir.exists():  # an empty folder the user made: fill it, keep the folder
            for file_name in files:
                os.replace(staging / file_name, out_dir / file_name)
            staging.rmdir()
        else:
            os.replace(staging, out_dir)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise BundleError(f"cannot write {out_dir}: {error.strerror or error}") from error
    return [out_dir / file_name for file_name in files]


def _macro(name: str, role: str) -> str:
    return f"KWS_{name.upper()}_{role.upper()}"


def _tensor_defines(
    prefix: str, kind: str, tensors: tuple[TensorSpec, ...], order: list[int]
) -> list[str]:
    """Shape, quantization and position (``input(n)``/``output(n)``) of each tensor."""
    lines = []
    for tensor in tensors:
        stem = f"{prefix}_{kind}_{tensor.name.upper()}"
        dims = ", ".join(str(d) for d in tensor.shape)
        lines += [
            f"#define {stem} {order.index(tensor.index)}",
            f"#define {stem}_SHAPE {{{dims}}}",
            f"#define {stem}_BYTES {math.prod(tensor.shape)}",
            f"#define {stem}_SCALE {tensor.scale:.9g}f",
            f"#define {stem}_ZERO_POINT {tensor.zero_point}",
        ]
    return lines


def _model_header(loaded: Bundle, name: str, role: str, model: _Model) -> str:
    prefix = _macro(name, role)
    symbol = f"kws_{name}_{role}_model"
    spec = model.spec
    add_ops = " \\\n".join(
        f"  (resolver).{tflite_ops.TFLM_RESOLVER_METHODS[op]}();" for op in model.ops
    )
    lines = [
        f"/* The {role} model of the kws bundle for {loaded.keyword!r}: {spec.architecture or ''}.",
        f" * Generated by `kws export --format c` from {spec.file} (sha256 {spec.sha256}). */",
        f"#ifndef {prefix}_MODEL_H_",
        f"#define {prefix}_MODEL_H_",
        "",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        f"extern const uint8_t {symbol}[];  /* the .tflite flatbuffer, 16-byte aligned */",
        f"extern const size_t {symbol}_len;",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "",
        "/* Tensor arena: the bundle's estimate (the two largest activations alive at once, the",
        " * inputs and outputs, 1 KB of bookkeeping), the figure `kws battery` checks against the",
        " * device's RAM. Confirm it on the device with TFLM's RecordingMicroInterpreter. */",
        f"#define {prefix}_ARENA_BYTES {spec.arena_bytes}",
        f"#define {prefix}_STRIDE_FRAMES {spec.stride_frames}",
        f"#define {prefix}_WINDOW_FRAMES {spec.window_frames}",
        f"#define {prefix}_STREAMING {1 if spec.streaming else 0}",
        f"#define {prefix}_MACS_PER_INFERENCE {spec.macs_per_inference or 0}",
        "/* Inputs and outputs: KWS_..._INPUT_<NAME> is its position, interpreter.input(n). */",
        *_tensor_defines(prefix, "INPUT", spec.inputs, model.io[0]),
        *_tensor_defines(prefix, "OUTPUT", spec.outputs, model.io[1]),
    ]
    for number, (state, next_state) in enumerate(spec.states):
        lines.append(
            f"/* state {number}: input {state} takes output {next_state} after every invoke */"
        )
    lines += [
        "",
        f"/* Operators: {', '.join(model.ops)}. Register exactly these:",
        f" *   tflite::MicroMutableOpResolver<{prefix}_OP_COUNT> resolver;",
        f" *   {prefix}_ADD_OPS(resolver); */",
        f"#define {prefix}_OP_COUNT {len(model.ops)}",
        f"#define {prefix}_ADD_OPS(resolver) \\",
        add_ops,
        "",
        f"#endif  /* {prefix}_MODEL_H_ */",
        "",
    ]
    return "\n".join(lines)


def _model_source(name: str, role: str, stem: str, payload: bytes) -> str:
    symbol = f"kws_{name}_{role}_model"
    rows = []
    for start in range(0, len(payload), _BYTES_PER_LINE):
        chunk = payload[start : start + _BYTES_PER_LINE]
        rows.append("  " + ", ".join(f"0x{byte:02x}" for byte in chunk) + ",")
    return "\n".join(
        [
            f'#include "{stem}.h"',
            "",
            f"alignas(16) const uint8_t {symbol}[] = {{",
            *rows,
            "};",
            f"const size_t {symbol}_len = {len(payload)};",
            "",
        ]
    )


def _hops(seconds: float) -> int:
    return int(round(seconds / HOP_S))


def _cascade_header(loaded: Bundle, name: str, models: dict[str, _Model]) -> str:
    prefix = f"KWS_{name.upper()}"
    thresholds = loaded.thresholds
    floor = loaded.noise_floor_dbfs
    noise_rms = 0.0 if floor is None else floor_rms(floor)
    full = models["full"].spec
    preroll = _hops(thresholds.preroll_s)
    ring = max(full.window_frames, preroll, models.get("tiny", models["full"]).spec.stride_frames)
    lines = [
        f"/* The kws cascade for {loaded.keyword!r}: frontend, features and decision policy.",
        " * Generated by `kws export --format c`; the policy is kws.cascade.Cascade's. */",
        f"#ifndef {prefix}_CASCADE_H_",
        f"#define {prefix}_CASCADE_H_",
        "",
        "/* Frontend: TFLM's audio frontend (tensorflow/lite/experimental/microfrontend),",
        " * configured as below; one frame of 40 uint16 channels every 10 ms. */",
    ]
    for key, value in loaded.frontend.to_dict().items():
        shown = str(int(value)) if isinstance(value, bool) else f"{value}"
        lines.append(f"#define {prefix}_FRONTEND_{key.upper()} {shown}")
    lines += [
        "/* A model's int8 input is round(feature * FEATURE_SCALE / input scale) + zero point,",
        " * clamped to [-128, 127]. */",
        f"#define {prefix}_FEATURE_SCALE {loaded.feature_scale:.9g}f",
        "",
        "/* The noise floor the models were trained and measured with: pink noise at this RMS",
        " * (int16 units; kws.noise_floor's seeded period, or any pink noise at the level) added",
        " * to every sample before the frontend, clipped to int16. 0: none. */",
        f"#define {prefix}_NOISE_FLOOR_RMS {noise_rms:.9g}f",
        "",
        "/* Scores are logits; thresholds are probabilities of their sigmoid, compared with the",
        " * mean of the last few probabilities. */",
        f"#define {prefix}_WAKE_THRESHOLD {float(thresholds.wake):.9g}f",
        f"#define {prefix}_DETECT_THRESHOLD {float(thresholds.detect):.9g}f",
        f"#define {prefix}_WAKE_SMOOTHING {thresholds.smoothing_frames}",
        f"#define {prefix}_DETECT_SMOOTHING {thresholds.detect_smoothing}",
        f"#define {prefix}_WAKE_WINDOW_HOPS {_hops(thresholds.wake_window_s)}",
        f"#define {prefix}_REFRACTORY_HOPS {_hops(thresholds.refractory_s)}",
        f"#define {prefix}_RING_FRAMES {ring}",
        "",
        f"#endif  /* {prefix}_CASCADE_H_ */",
        "",
    ]
    return "\n".join(lines)


def _main_sketch(name: str, models: dict[str, _Model]) -> str:
    """A TFLM main loop for the cascade: a sketch to adapt (audio and frontend calls are the
    device's), kept in step with ``Cascade._hop``."""
    p = f"KWS_{name.upper()}"
    roles = [role for role in ROLES if role in models]
    lines = [
        f"/* A TFLite Micro main loop for the {name} cascade: a sketch to adapt to a device.",
        " * Audio capture and the frontend are the device's own: call kws_on_frame() with each",
        " * 10 ms frame of 40 features. The decisions follow kws.cascade.Cascade: the tiny model",
        " * every stride, the full model over the ring once the smoothed tiny score reaches the",
        " * wake threshold and then every stride until it confirms or the wake window ends, and",
        " * nothing for the refractory time after a detection. */",
        "#include <math.h>",
        "#include <stdint.h>",
        "#include <string.h>",
        "",
        '#include "tensorflow/lite/micro/micro_interpreter.h"',
        '#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"',
        '#include "tensorflow/lite/schema/schema_generated.h"',
        f'#include "{name}_cascade.h"',
        *(f'#include "{name}_{role}_model.h"' for role in roles),
        "",
        "namespace {",
        f"uint16_t ring[{p}_RING_FRAMES][40];  /* feature frames, the oldest overwritten */",
        "uint32_t hops = 0;",
    ]
    for role in roles:
        r = f"{p}_{role.upper()}"
        lines += [
            f"alignas(16) uint8_t {role}_arena[{r}_ARENA_BYTES];",
            f"tflite::MicroMutableOpResolver<{r}_OP_COUNT> {role}_ops;",
            f"tflite::MicroInterpreter* {role} = nullptr;",
        ]
    lines += [
        "",
        "float probability(const TfLiteTensor* score) {",
        "  float logit = (score->data.int8[0] - score->params.zero_point) * score->params.scale;",
        "  return 1.0f / (1.0f + expf(-logit));",
        "}",
        "",
        "/* The last `count` frames, oldest first, quantized into a model's input. */",
        "void fill(TfLiteTensor* input, int count) {",
        "  for (int t = 0; t < count; ++t) {",
        f"    uint32_t slot = (hops + {p}_RING_FRAMES - count + t) % {p}_RING_FRAMES;",
        "    const uint16_t* frame = ring[slot];",
        "    for (int c = 0; c < 40; ++c) {",
        f"      float q = roundf(frame[c] * {p}_FEATURE_SCALE / input->params.scale) +",
        "                input->params.zero_point;",
        "      input->data.int8[t * 40 + c] = (int8_t)fminf(127.f, fmaxf(-128.f, q));",
        "    }",
        "  }",
        "}",
        "",
        "float mean_of_last(float* scores, int n, int size) {",
        "  int count = n < size ? n : size;",
        "  float sum = 0;",
        "  for (int i = 0; i < count; ++i) sum += scores[i];",
        "  return sum / count;",
        "}",
        "}  // namespace",
        "",
        "/* Once at start-up; returns 0 when both models are ready. */",
        "int kws_setup() {",
    ]
    for role in roles:
        r = f"{p}_{role.upper()}"
        lines += [
            f"  {r}_ADD_OPS({role}_ops);",
            f"  static tflite::MicroInterpreter {role}_interpreter(",
            f"      tflite::GetModel(kws_{name}_{role}_model), {role}_ops, {role}_arena,",
            f"      {r}_ARENA_BYTES);",
            f"  {role} = &{role}_interpreter;",
            f"  if ({role}->AllocateTensors() != kTfLiteOk) return 1;",
        ]
    if "tiny" in models:
        lines.append("  /* the tiny model's state starts at zero, as a stream from silence */")
        for state, _ in models["tiny"].spec.states:
            t = f"{p}_TINY_INPUT_{state.upper()}"
            lines.append(f"  memset(tiny->input({t})->data.int8, {t}_ZERO_POINT, {t}_BYTES);")
    lines += [
        "  return 0;",
        "}",
        "",
        "/* Once per 10 ms frame; returns 1 on a detection. */",
        "int kws_on_frame(const uint16_t frame[40]) {",
        f"  static float tiny_scores[{p}_WAKE_SMOOTHING], full_scores[{p}_DETECT_SMOOTHING];",
        "  static int n_tiny = 0, n_full = 0, since_tiny = 0, since_full = 0;",
        "  static uint32_t awake_until = 0, refractory_until = 0;",
        f"  memcpy(ring[hops % {p}_RING_FRAMES], frame, sizeof(ring[0]));",
        "  ++hops;",
    ]
    if "tiny" in models:
        t = f"{p}_TINY"
        lines += [
            f"  if (++since_tiny == {t}_STRIDE_FRAMES) {{",
            "    since_tiny = 0;",
            f"    fill(tiny->input({t}_INPUT_FEATURES), {t}_WINDOW_FRAMES);",
            "    tiny->Invoke();",
        ]
        for state, next_state in models["tiny"].spec.states:
            lines += [
                f"    memcpy(tiny->input({t}_INPUT_{state.upper()})->data.int8,",
                f"           tiny->output({t}_OUTPUT_{next_state.upper()})->data.int8,",
                f"           {t}_INPUT_{state.upper()}_BYTES);",
            ]
        lines += [
            f"    tiny_scores[n_tiny++ % {p}_WAKE_SMOOTHING] =",
            f"        probability(tiny->output({t}_OUTPUT_SCORE));",
            f"    float wake = mean_of_last(tiny_scores, n_tiny, {p}_WAKE_SMOOTHING);",
            f"    if (wake >= {p}_WAKE_THRESHOLD &&",
            "        hops >= awake_until && hops >= refractory_until) {",
            f"      awake_until = hops + {p}_WAKE_WINDOW_HOPS;",
            f"      since_full = {p}_FULL_STRIDE_FRAMES;  /* run at once on the pre-roll */",
            "      n_full = 0;",
            "    }",
            "  }",
            "  if (hops >= awake_until) return 0;",
        ]
    f = f"{p}_FULL"
    lines += [
        f"  if (++since_full < {f}_STRIDE_FRAMES) return 0;",
        "  since_full = 0;",
        f"  fill(full->input({f}_INPUT_FEATURES), {f}_WINDOW_FRAMES);",
        "  full->Invoke();",
        f"  full_scores[n_full++ % {p}_DETECT_SMOOTHING] =",
        f"      probability(full->output({f}_OUTPUT_SCORE));",
        f"  if (mean_of_last(full_scores, n_full, {p}_DETECT_SMOOTHING) < {p}_DETECT_THRESHOLD ||",
        "      hops < refractory_until) {",
        "    return 0;",
        "  }",
        f"  refractory_until = hops + {p}_REFRACTORY_HOPS;",
        "  awake_until = hops;  /* back to sleep */",
        "  n_full = 0;",
        "  return 1;",
        "}",
        "",
    ]
    return "\n".join(lines)


def arena_total(paths: list[Path]) -> int:
    """The sum of the ``*_ARENA_BYTES`` defines in the exported model headers."""
    total = 0
    for path in paths:
        if path.name.endswith("_model.h"):
            match = re.search(r"_ARENA_BYTES (\d+)", path.read_text(encoding="utf-8"))
            total += int(match.group(1)) if match else 0
    return total
