"""`kws bench cascade`: CPU seconds per hour of audio, kws cascade against microWakeWord, with
where each row's time goes.

One run, the same generated audio (the firmware simulator's office scenario: speech 35% of the
time, the keyword 12 times an hour), streamed in the same chunks to every row, at 10 ms and at
30 ms chunks (what a device's or a sound card's audio callback delivers): the kws cascade (tiny
always on, full when woken), kws with the full model always on, and pymicro-wakeword's
hey_jarvis model (its own TFLM frontend + LiteRT C library). Each row includes its frontend.

CPU time is process time of this single-threaded loop; lower is better. The rows take turns
over slices of the audio (each keeps its stream state from slice to slice), so a change in the
machine's load during the run falls on every row alike and the ratios hold.

The parts are measured by replaying each alone over the same work: the frontend's calls as the
row made them, in one machine-code loop (``native_replay``: the always-on path calls the
frontend from inside its own kernel); each model's kernels (``invoke``) and its whole ``step``
as many times as the row ran them, on the same windows. A model's I/O is its step less its
kernels (input quantization, state copies, score); a model stepped natively (``Int8Step``) is
replayed in one machine-code loop too, its whole step under kernels (its I/O is inside it).
The glue is the row's total less its parts: the Python around them, with each call's entry
into machine code.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.errors import KwsError
from kws.frontend.config import SAMPLE_RATE_HZ
from kws_cli.bench.frontend import machine_name

SLICES = 12  # turns each row takes over the audio
GOAL_CASCADE_X = 5.0  # the cascade this many times cheaper than pymicro-wakeword
GOAL_FULL_X = 2.0  # the full model always on this many times cheaper


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cascade",
        help="CPU per hour of audio vs pymicro-wakeword, with a breakdown",
        description=__doc__,
    )
    parser.add_argument(
        "--minutes", type=float, default=60.0, help="audio length (default: %(default)s)"
    )
    parser.add_argument("--model", type=Path, help="bundle folder or name (default: hey_jarvis)")
    parser.add_argument(
        "--chunk-ms",
        type=int,
        nargs="+",
        default=[10, 30],
        help="audio chunk per call, one run each (default: 10 30)",
    )
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run_target=run)


Chunks = list[npt.NDArray[np.int16]]


def _cpu_s(work: Callable[[], Any]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def _feed(process_chunk: Callable[[Any], Any], chunks: Chunks) -> Callable[[], None]:
    def work() -> None:
        for chunk in chunks:
            process_chunk(chunk)

    return work


def _interleaved_cpu_s(
    rows: dict[str, Callable[[Any], Any]], chunks: Chunks, slices: int = SLICES
) -> dict[str, float]:
    """CPU seconds each row took for all ``chunks``, the rows taking turns slice by slice."""
    totals = dict.fromkeys(rows, 0.0)
    bounds = np.linspace(0, len(chunks), slices + 1).astype(int)
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        for name, process_chunk in rows.items():
            totals[name] += _cpu_s(_feed(process_chunk, chunks[start:end]))
    return totals


def _model_parts(model: Any, features: npt.NDArray[np.uint16], steps: int) -> dict[str, float]:
    """CPU seconds of ``steps`` of ``model`` (its windows over ``features`` at its stride, as
    the stream gave them): its kernels alone, and the rest of its step."""
    if steps == 0:
        return {"kernels": 0.0, "io": 0.0}
    ends = range(model.window_frames, features.shape[0] + 1, model.stride_frames)
    native = model.native_parts()
    if native is not None:
        from kws_cli.bench.native_replay import replay_steps

        lut, blob, _ = native
        repeated = np.resize(np.array(ends, np.int64), steps)
        model.reset()
        replay_steps(lut, features, repeated[:1], model.window_frames, blob)  # compiled
        steps_s = _cpu_s(lambda: replay_steps(lut, features, repeated, model.window_frames, blob))
        model.reset()
        return {"kernels": steps_s, "io": 0.0}
    windows = [features[end - model.window_frames : end] for end in ends]
    windows = (windows * (steps // max(1, len(windows)) + 1))[:steps]
    model.reset()
    step_s = _cpu_s(lambda: [model.step(window) for window in windows])
    kernels_s = _cpu_s(lambda: [model.invoke() for _ in range(steps)])
    model.reset()
    return {"kernels": kernels_s, "io": step_s - kernels_s}


def _frontend_cpu_s(cascade: Any, chunks: Chunks) -> float:
    """CPU seconds of the frontend's own calls as the row made them, the noise floor the
    cascade adds in the same kernel call included: each call's audio as it came (the cascade
    holds audio that runs no model and frames it with the chunk that does) and floor position
    are recorded on a second pass, then framed again by a fresh frontend's kernel into a ring,
    all calls in one machine-code loop (``native_replay.replay_frontend``). The second pass
    frames in Python (``Cascade._take``): the always-on kernel (``kws.always_on``) holds and
    frames the same audio in the same calls, inside one call with the tiny model's steps
    (which count under the tiny model's parts)."""
    plain: list[npt.NDArray[np.int16]] = []
    mixed: list[tuple[npt.NDArray[np.int16], Any, int]] = []
    frontend = cascade.frontend
    framing, mixing = frontend.process_into_unchecked, frontend.process_mixed_into_unchecked

    def record_plain(pcm: npt.NDArray[np.int16], ring: Any, first_row: int) -> int:
        plain.append(pcm.copy())
        count: int = framing(pcm, ring, first_row)
        return count

    def record_mixed(pcm: Any, addend: Any, start: int, into: Any, ring: Any, row: int) -> int:
        mixed.append((pcm.copy(), addend, start))  # before the floor is added in place
        count: int = mixing(pcm, addend, start, into, ring, row)
        return count

    native = cascade._asleep_chunk
    cascade.reset()
    frontend.process_into_unchecked = record_plain
    frontend.process_mixed_into_unchecked = record_mixed
    cascade._asleep_chunk = None
    try:
        _feed(cascade.process, chunks)()
    finally:
        del frontend.process_into_unchecked, frontend.process_mixed_into_unchecked
        cascade._asleep_chunk = native
        cascade.reset()
    ring = np.zeros_like(cascade._ring)
    into = np.zeros_like(cascade._held)
    floor = mixed[0][1] if mixed else np.zeros(0, np.int32)
    return _replayed_frontend_s(plain, np.zeros(0, np.int32), [0] * len(plain), ring, into) + (
        _replayed_frontend_s([m[0] for m in mixed], floor, [m[2] for m in mixed], ring, into)
    )


def _replayed_frontend_s(
    pieces: Chunks, floor: npt.NDArray[np.int32], starts: list[int], ring: Any, into: Any
) -> float:
    """CPU seconds of a fresh frontend's kernel on ``pieces`` in turn, each with ``floor``
    (empty: none) added from its start, all in one machine-code loop."""
    from kws.frontend import Frontend
    from kws_cli.bench.native_replay import replay_frontend

    if not pieces:
        return 0.0
    audio = np.concatenate(pieces)
    ends = np.cumsum([piece.size for piece in pieces]).astype(np.int64)
    at = np.array(starts, np.int64)
    tables, buffers, frozen = Frontend().kernel_arguments()
    replay_frontend(audio[:0], ends[:0], floor, at, tables, buffers, frozen, ring, into)  # JIT
    return _cpu_s(
        lambda: replay_frontend(audio, ends, floor, at, tables, buffers, frozen, ring, into)
    )


def _kws_parts(
    cascade: Any, chunks: Chunks, features: npt.NDArray[np.uint16], total_s: float
) -> dict[str, float]:
    counters = cascade.counters  # the timed pass's: the frontend's replay resets the cascade
    parts = {"frontend": _frontend_cpu_s(cascade, chunks)}
    for name in ("tiny", "full"):
        model = getattr(cascade, name)
        if model is None:
            continue
        steps = getattr(counters, f"{name}_inferences")
        for part, seconds in _model_parts(model, features, steps).items():
            parts[f"{name} {part}"] = seconds
    parts["glue"] = total_s - sum(parts.values())
    return parts


def _run_chunk_size(
    chunk_ms: int, pcm: npt.NDArray[np.int16], model_dir: Path, pymicro_wakeword: Any
) -> dict[str, Any]:
    from kws.frontend import compute_features
    from kws.loading import load_cascade

    chunk_samples = chunk_ms * 16
    chunks = [pcm[start : start + chunk_samples] for start in range(0, pcm.size, chunk_samples)]
    hours = pcm.size / SAMPLE_RATE_HZ / 3600
    cascade = load_cascade(model_dir)
    full_always = load_cascade(model_dir, full_only=True)
    mww = pymicro_wakeword.MicroWakeWord.from_builtin(pymicro_wakeword.Model.HEY_JARVIS)
    mww_features = pymicro_wakeword.MicroWakeWordFeatures()
    detections: dict[str, list[float]] = {"kws cascade": [], "kws full only": []}

    def mww_chunk(chunk: npt.NDArray[np.int16]) -> None:
        for frame in mww_features.process_streaming(chunk.tobytes()):
            mww.process_streaming(frame)

    def kws_row(target: Any, name: str) -> Callable[[Any], Any]:
        def process_chunk(chunk: npt.NDArray[np.int16]) -> None:
            for detection in target.process(chunk):
                detections[name].append(round(detection.time_s, 2))

        return process_chunk

    rows = {
        "kws cascade": kws_row(cascade, "kws cascade"),
        "kws full only": kws_row(full_always, "kws full only"),
        "pymicro-wakeword": mww_chunk,
    }
    # Warm-up: the kws rows hear the whole audio once, untimed (a second or two of CPU), so
    # every kernel they use is compiled or loaded before the timed pass, those of a wake and a
    # detection included (a second of audio held none: after a change of the frontend's
    # sources, the first run timed a kernel's compilation); pymicro-wakeword, with no JIT,
    # its first second.
    _feed(rows["pymicro-wakeword"], chunks[: max(1, 1000 // chunk_ms)])()
    for name in ("kws cascade", "kws full only"):
        _feed(rows[name], chunks)()
    for target in (cascade, full_always):
        target.reset()
    detections = {name: [] for name in detections}
    totals = _interleaved_cpu_s(rows, chunks)
    cascade_counters = cascade.counters.as_dict()

    features = compute_features(pcm)
    peer_frontend = pymicro_wakeword.MicroWakeWordFeatures()
    parts = {
        "kws cascade": _kws_parts(cascade, chunks, features, totals["kws cascade"]),
        "kws full only": _kws_parts(full_always, chunks, features, totals["kws full only"]),
    }
    peer_frontend_s = _cpu_s(
        _feed(lambda chunk: list(peer_frontend.process_streaming(chunk.tobytes())), chunks)
    )
    parts["pymicro-wakeword"] = {
        "frontend": peer_frontend_s,
        "model and glue": totals["pymicro-wakeword"] - peer_frontend_s,
    }
    reference = totals["pymicro-wakeword"]
    return {
        "chunk_ms": chunk_ms,
        "rows": [
            {
                "name": name,
                "cpu_s": round(cpu_s, 3),
                "cpu_s_per_hour": round(cpu_s / hours, 3),
                "x_cheaper_than_microwakeword": round(reference / cpu_s, 2),
                "parts_cpu_s_per_hour": {
                    part: round(seconds / hours, 3) for part, seconds in parts[name].items()
                },
            }
            for name, cpu_s in totals.items()
        ],
        "cascade_counters": cascade_counters,
        "detections_s": detections,
    }


def measure(
    minutes: float, model_dir: Path, chunk_ms: tuple[int, ...] | list[int] = (10, 30)
) -> dict[str, Any]:
    """The bench's figures: one entry in ``runs`` per chunk size, goals checked."""
    try:
        import pymicro_wakeword
    except ImportError as error:
        raise KwsError(
            "the cascade bench races pymicro-wakeword: pip install 'kws[dev]'"
        ) from error
    from firmware_sim.scenarios import generate, get_scenario
    from kws.loading import load_cascade

    keyword = load_cascade(model_dir).keyword
    pcm = np.concatenate([c for c, _ in generate(get_scenario("office"), keyword, minutes, 1)])
    runs = [_run_chunk_size(ms, pcm, model_dir, pymicro_wakeword) for ms in chunk_ms]
    goals = {}
    for run_figures in runs:
        by_name = {row["name"]: row for row in run_figures["rows"]}
        ms = run_figures["chunk_ms"]
        goals[f"cascade >= {GOAL_CASCADE_X:g}x cheaper at {ms} ms"] = (
            by_name["kws cascade"]["x_cheaper_than_microwakeword"] >= GOAL_CASCADE_X
        )
        goals[f"full always on >= {GOAL_FULL_X:g}x cheaper at {ms} ms"] = (
            by_name["kws full only"]["x_cheaper_than_microwakeword"] >= GOAL_FULL_X
        )
    return {
        "audio_s": round(pcm.size / SAMPLE_RATE_HZ, 1),
        "runs": runs,
        "goals_met": goals,
        "machine": f"{machine_name()}, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }


def run(args: argparse.Namespace) -> int:
    from kws.defaults import resolve_bundle

    if not args.minutes > 0 or args.minutes > 24 * 60 or any(ms <= 0 for ms in args.chunk_ms):
        raise KwsError("--minutes must be in (0, 1440] and --chunk-ms positive")
    figures = measure(args.minutes, resolve_bundle(args.model), args.chunk_ms)
    if args.json:
        print(json.dumps(figures))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for run_figures in figures["runs"]:
        table = Table(
            title=f"CPU s per hour of audio, {run_figures['chunk_ms']} ms chunks "
            f"({figures['audio_s'] / 60:.1f} min of the office scenario)"
        )
        rows = run_figures["rows"]
        parts = [p for p in _PARTS if any(p in row["parts_cpu_s_per_hour"] for row in rows)]
        table.add_column("detector")
        for column in ("total", "x cheaper", *(_PARTS[p] for p in parts)):
            table.add_column(column, justify="right")
        for row in rows:
            shares = row["parts_cpu_s_per_hour"]
            table.add_row(
                row["name"],
                f"{row['cpu_s_per_hour']:.2f}",
                f"{row['x_cheaper_than_microwakeword']:.2f}",
                *(f"{shares[p]:.2f}" if p in shares else "" for p in parts),
            )
        console.print(table)
        counters = run_figures["cascade_counters"]
        console.print(
            f"cascade: {counters['wakes']} wakes, {counters['detections']} detections, "
            f"full model awake {100 * counters['duty_cycle_full']:.2f}% of the time"
        )
    console.print(
        "x cheaper: pymicro-wakeword's CPU over the row's. Parts: frontend; tiny/full: the "
        "model's kernels; I/O: its input, state copies and score; glue: the rest."
    )
    for goal, met in figures["goals_met"].items():
        console.print(f"goal: {goal}: {'met' if met else 'NOT met'}")
    console.print(f"Machine: {figures['machine']}, {figures['date']}")
    return 0


# part key -> column heading
_PARTS = {
    "frontend": "frontend",
    "tiny kernels": "tiny",
    "tiny io": "tiny I/O",
    "full kernels": "full",
    "full io": "full I/O",
    "glue": "glue",
    "model and glue": "model+glue",
}
