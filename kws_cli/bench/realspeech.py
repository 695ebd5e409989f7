"""`kws bench realspeech DIR`: does a bundle wake for real people, and stay quiet otherwise?

DIR holds one folder of recordings per phrase (``smart_mirror/``, ``snowboy/`` ...: Speech
Commands layout, as ``../shared/realspeech``). For every detector whose keyword has a folder:
the share of its recordings missed, clean and mixed with noise at ``--snr-db`` (default 10 dB,
as Picovoice's wake-word benchmark); for every detector, the share of the other folders'
recordings it accepts, and false accepts per hour on a keyword-free stream of the project's own
synthetic speech (voices held out of every kws training with seed 0).

How a recording is heard: a device has been listening before anyone speaks, so each recording
follows one second of its own room tone (its quietest 100 ms, repeated), from a reset; mixed
recordings have the noise over that lead-in too. A detection counts when it comes after the
lead-in. Noise is the project's own (``training.data.augment``: pink, brown, white; babble of
four ``kws.frontend.signals`` speech-like voices), seeded per recording, so every run hears the
same mixtures. The stream's espeak-ng voices carry some state from call to call, so two runs'
streams differ slightly (the voices whose breath noise is unseeded are left out).

Detectors: every ``--model`` (a kws bundle or a microWakeWord ``.json``; default: the shipped
bundles), and the peers whose keyword has a folder in DIR: microWakeWord's models (pip
``pymicro-wakeword``, their own cutoffs) and openWakeWord 0.4.0's (``onnxruntime``, threshold
0.5; its models are CC BY-NC-SA: measured here, never shipped or trained from).
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.errors import KwsError
from kws.frontend.config import SAMPLE_RATE_HZ
from kws.metrics import REFRACTORY_S, per_hour
from kws.noise_floor import FROM_BUNDLE, FloorChoice
from kws_cli.bench.frontend import machine_name
from kws_cli.commands.options import floor_argument
from training.peers import (
    OPENWAKEWORD_FRAME_SAMPLES,
    OPENWAKEWORD_THRESHOLD,
    openwakeword_model,
)
from training.realspeech import (
    LEAD_IN_S,
    NOISE_KINDS,
    heard_sets,
    keyword_free_stream,
    phrase_folders,
    read_folders,
    recording_figures,
)

PEER_KEYWORDS = ("alexa", "hey jarvis", "hey mycroft", "okay nabu")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "realspeech",
        help="misses on recordings of real people, clean and noisy, vs the peers",
        description=__doc__,
    )
    parser.add_argument("data_dir", type=Path, metavar="DIR", help="one folder per phrase")
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        help="bundle folder, bundle name (kws models) or microWakeWord .json (repeatable; "
        "default: the shipped bundles)",
    )
    parser.add_argument("--snr-db", type=float, default=10.0, help="noisy mixtures (default 10)")
    parser.add_argument(
        "--stream-minutes",
        type=float,
        default=60.0,
        help="keyword-free synthetic stream for false accepts per hour (default 60; 0 skips)",
    )
    parser.add_argument("--seed", type=int, default=0, help="noise and stream (default 0)")
    parser.add_argument(
        "--noise-floor",
        type=floor_argument,
        action="append",
        default=[],
        metavar="DBFS|off",
        help="also each kws bundle with this noise floor under all it hears instead of its own, "
        "or with none ('off') (repeatable; kws.noise_floor)",
    )
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run_target=run)


@dataclass(frozen=True)
class Detector:
    """One row: how to build a fresh detector, and what it is."""

    name: str
    keyword: str
    operating_point: str
    build: Callable[[], Any]  # -> object with reset() and process(pcm) -> list of detections


class _OpenWakeWord:
    """openWakeWord 0.4.0 as a detector: 80 ms frames, a detection at each score at or above its
    threshold outside ``kws.metrics.REFRACTORY_S`` after the last (kws's one counting rule)."""

    def __init__(self, model_path: str) -> None:
        from openwakeword import Model

        self._model = Model(wakeword_model_paths=[model_path])
        self._name = Path(model_path).stem
        self._blank_features = self._model.preprocessor.feature_buffer.copy()
        self._pending = np.zeros(0, np.int16)
        self._frames = 0
        self._deaf_until_s = -1.0

    def reset(self) -> None:
        self._model.reset()
        # its audio buffers outlive Model.reset(): back to how its constructor leaves them
        features = self._model.preprocessor
        features.raw_data_buffer.clear()
        features.melspectrogram_buffer = np.ones((76, 32))
        features.accumulated_samples = 0
        features.feature_buffer = self._blank_features.copy()
        self._pending = np.zeros(0, np.int16)
        self._frames = 0
        self._deaf_until_s = -1.0

    def process(self, pcm: npt.NDArray[np.int16]) -> list[float]:
        self._pending = np.concatenate([self._pending, pcm])
        times: list[float] = []
        while self._pending.size >= OPENWAKEWORD_FRAME_SAMPLES:
            frame = self._pending[:OPENWAKEWORD_FRAME_SAMPLES]
            self._pending = self._pending[OPENWAKEWORD_FRAME_SAMPLES:]
            score = float(self._model.predict(frame)[self._name])
            self._frames += 1
            now_s = self._frames * OPENWAKEWORD_FRAME_SAMPLES / SAMPLE_RATE_HZ
            if score >= OPENWAKEWORD_THRESHOLD and now_s >= self._deaf_until_s:
                times.append(now_s)
                self._deaf_until_s = now_s + REFRACTORY_S
        return times


def _kws_detectors(models: list[Path], noise_floors: list[FloorChoice]) -> list[Detector]:
    """Each bundle as it is (with its own noise floor), then with each floor (None: none)."""
    from kws.loading import load_cascade

    detectors = []
    for path in models:
        choices: list[FloorChoice] = [FROM_BUNDLE, *noise_floors]
        for floor in choices:
            # fails here, once, for a broken bundle or a floor out of range
            cascade = load_cascade(path, noise_floor_dbfs=floor)
            thresholds = cascade.thresholds
            point = (
                f"wake {thresholds.wake:g} / detect {thresholds.detect:g}"
                if cascade.tiny is not None
                else f"cutoff {thresholds.detect:g}"
            )
            if cascade.verifier is not None:
                point += f" / verifier {cascade.verifier.policy.threshold:g}"
            heard = cascade.noise_floor
            level = "no floor" if heard is None else f"floor {heard.dbfs:g} dBFS"
            name = f"kws {path.name}, {level}"
            build = functools.partial(load_cascade, path, noise_floor_dbfs=floor)
            detectors.append(Detector(name, cascade.keyword, point, build))
    return detectors


def _peer_detectors(phrases: set[str]) -> list[Detector]:
    """The peers' own models for the keywords that have a folder; those not installed are
    skipped (they come with ``kws[dev]``)."""
    detectors: list[Detector] = []
    wanted = [k for k in PEER_KEYWORDS if k in phrases]
    if not wanted:
        return detectors
    try:
        import pymicro_wakeword

        from kws.loading import load_cascade

        folder = Path(pymicro_wakeword.__file__).parent / "models"
        for keyword in wanted:
            config = folder / f"{keyword.replace(' ', '_')}.json"
            cutoff = json.loads(config.read_text())["micro"]["probability_cutoff"]
            detectors.append(
                Detector(
                    f"microWakeWord {config.stem}",
                    keyword,
                    f"cutoff {cutoff:g}",
                    functools.partial(load_cascade, config),
                )
            )
    except ImportError:
        pass
    for keyword in wanted:
        model_path = openwakeword_model(keyword)
        if model_path is not None:
            detectors.append(
                Detector(
                    f"openWakeWord {Path(model_path).stem}",
                    keyword,
                    f"threshold {OPENWAKEWORD_THRESHOLD:g}",
                    functools.partial(_OpenWakeWord, model_path),
                )
            )
    return detectors


def measure(
    data_dir: Path,
    models: list[Path],
    snr_db: float = 10.0,
    stream_minutes: float = 60.0,
    seed: int = 0,
    noise_floors: tuple[FloorChoice, ...] = (),
) -> dict[str, Any]:
    """Every detector on every folder of ``data_dir`` and on the keyword-free stream; each kws
    bundle with the noise floor it records, then also with each of ``noise_floors`` (dBFS; None:
    none) under all it hears instead.

    Raises:
        KwsError: no folder of audio, or a model that cannot be loaded.
    """
    folders = phrase_folders(data_dir)
    detectors = _kws_detectors(models, list(noise_floors)) + _peer_detectors(set(folders))
    started = time.monotonic()
    recordings, unreadable = read_folders(folders)
    clean, noisy = heard_sets(recordings, {d.keyword for d in detectors}, snr_db, seed)
    stream = keyword_free_stream(stream_minutes, seed)
    stream_hours = stream.size / SAMPLE_RATE_HZ / 3600.0
    rows = []
    for detector_spec in detectors:
        detector = detector_spec.build()
        row: dict[str, Any] = {
            "detector": detector_spec.name,
            "keyword": detector_spec.keyword,
            "operating_point": detector_spec.operating_point,
            **recording_figures(detector, detector_spec.keyword, clean, noisy),
        }
        if stream.size:
            detector.reset()
            false_accepts = 0
            for offset in range(0, stream.size, 480):  # 30 ms chunks, as a device's DMA gives
                false_accepts += len(detector.process(stream[offset : offset + 480]))
            row["false_accepts"] = false_accepts
            row["fa_per_hour"] = round(per_hour(false_accepts, stream.size / SAMPLE_RATE_HZ), 3)
        rows.append(row)
    return {
        "data_dir": str(data_dir),
        "folders": {phrase: len(clips) for phrase, clips in recordings.items()},
        "unreadable": unreadable,
        "snr_db": snr_db,
        "noise_kinds": list(NOISE_KINDS),
        "lead_in_s": LEAD_IN_S,
        "stream_hours": round(stream_hours, 3),
        "seed": seed,
        "noise_floors_dbfs": list(noise_floors),
        "rows": rows,
        "seconds": round(time.monotonic() - started, 1),
        "machine": f"{machine_name()}, Python {platform.python_version()}",
    }


def _percent(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def run(args: argparse.Namespace) -> int:
    from kws.defaults import resolve_bundle, shipped_bundle_dirs

    if args.stream_minutes < 0:
        raise KwsError("--stream-minutes must be 0 or more")
    try:
        import training.data  # noqa: F401  (the noise and the stream are the project's own)
    except ImportError as error:
        raise KwsError(
            f"the real-speech bench needs {error.name}: pip install 'kws[synth]'"
        ) from error
    models = [resolve_bundle(m) for m in args.model] if args.model else shipped_bundle_dirs()
    figures = measure(
        args.data_dir,
        models,
        args.snr_db,
        args.stream_minutes,
        args.seed,
        tuple(args.noise_floor),
    )
    if args.json:
        print(json.dumps(figures))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"Real recordings in {figures['data_dir']}: "
        + ", ".join(f"{phrase} {n}" for phrase, n in figures["folders"].items())
    )
    columns = (
        "detector",
        "keyword",
        "operating point",
        "missed clean",
        f"missed {figures['snr_db']:g} dB",
        "others accepted",
        "FA/h (stream)",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:3] else "right")
    for row in figures["rows"]:
        table.add_row(
            row["detector"],
            row["keyword"],
            row["operating_point"],
            _percent(row.get("frr_clean")),
            _percent(row.get("frr_noisy")),
            _percent(row["others_accepted"]),
            "-" if "fa_per_hour" not in row else f"{row['fa_per_hour']:.2f}",
        )
    console = Console(width=None if sys.stdout.isatty() else 160)  # a log keeps whole rows
    console.print(table)
    console.print(
        f"stream: {figures['stream_hours']:.2f} h of synthetic keyword-free speech; noise: "
        f"{', '.join(figures['noise_kinds'])} at {figures['snr_db']:g} dB SNR, seed "
        f"{figures['seed']}; {figures['seconds']:.0f} s"
    )
    for row in figures["rows"]:
        shares = row.get("others_accepted_by_phrase", {})
        if len(shares) > 1 and row["others_accepted"]:  # with one other phrase the column says it
            console.print(
                f"{row['detector']} accepts "
                + ", ".join(f"{phrase} {_percent(share)}" for phrase, share in shares.items())
            )
    for path in figures["unreadable"]:
        console.print(f"skipped (unreadable): {path}")
    console.print(f"Machine: {figures['machine']}")
    return 0
