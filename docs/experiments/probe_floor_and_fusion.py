"""Two run-time probes of finished bundles on the real-speech dev set (twentieth session).

docs/RESULTS.md, "A floor relative to the speaker, and the tiny model's score in the decision".
Not part of kws: run it from the repo root with the project's venv.

    .venv/bin/python docs/experiments/probe_floor_and_fusion.py relative DIR BUNDLE SNR[,SNR...]
    .venv/bin/python docs/experiments/probe_floor_and_fusion.py fusion DIR BUNDLE STREAM.npy

``relative`` plays every recording of DIR clean, as ``kws bench realspeech`` does (after its
room-tone lead-in), with pink noise added at SNR dB under the recording's own level (its RMS,
as training's ``mix_at_snr`` measures a clip; ``none``: no noise), then the bundle's own floor
and thresholds; it prints the share of the bundle's phrase missed and of each other phrase
accepted. Training's clips are never cleaner than 30 dB SNR.

``fusion`` decides on the mean of the tiny and the full model's logits (the tiny model's last
score, already computed when the full model runs) instead of the full model's alone. The
thresholds are chosen as training chooses them (``evaluate.choose_thresholds``, 0.5 FA/h, on the
validation split of the bundle's own data recipe, read from the feature cache, seed 0), for the
bundle as it is ("rechosen") and fused; each is then measured on validation, on DIR as the
benchmark plays it (clean, 10 dB, other phrases accepted) and on STREAM.npy (a saved keyword-free
stream: ``probe_timing_and_voices.py stream``). Measurements of finished bundles: nothing is
chosen from DIR.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.cascade import Cascade
from kws.loading import load_cascade
from kws.noise_floor import NoiseFloor
from training import evaluate, realspeech
from training.data import augment
from training.data.dataset import build_dataset
from training.pipeline import TrainOptions, data_recipe

CACHE = Path(".cache/kws")
PROBE_SEED = 7


def relative(data_dir: Path, bundle: str, levels: str) -> None:
    recordings, _ = realspeech.read_folders(realspeech.phrase_folders(data_dir))
    cascade = load_cascade(bundle)
    for level in levels.split(","):
        shares: dict[str, float] = {}
        index = 0
        for phrase, clips in recordings.items():
            fired = 0
            for pcm in clips:
                audio = with_relative_noise(pcm, None if level == "none" else float(level), index)
                fired += realspeech.detects_after_lead_in(cascade, audio)
                index += 1
            shares[phrase] = fired / len(clips)
        own = cascade.keyword
        others = {p: round(s, 4) for p, s in shares.items() if p != own}
        print(bundle, "snr", level, "missed", round(1 - shares[own], 4), "others", others)


def with_relative_noise(
    pcm: npt.NDArray[np.int16], snr_db: float | None, index: int
) -> npt.NDArray[np.int16]:
    speech = pcm.astype(np.float32) / 32768.0
    audio = np.concatenate([realspeech.room_tone_lead_in(pcm), speech])
    if snr_db is not None:
        noise = augment.make_noise("pink", audio.size, np.random.default_rng([PROBE_SEED, index]))
        audio = audio + noise * augment.rms(speech) / (augment.rms(noise) * 10 ** (snr_db / 20))
    return augment.to_int16(audio)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


class _Tap:
    """The tiny model, its last score kept for the fused full model."""

    def __init__(self, model: Any) -> None:
        self.model, self.last = model, 0.0
        self.window_frames, self.stride_frames = model.window_frames, model.stride_frames

    def step(self, frames: npt.NDArray[np.uint16]) -> float:
        self.last = float(self.model.step(frames))
        return self.last

    def reset(self) -> None:
        self.model.reset()
        self.last = 0.0


class _Fused:
    """The full model whose score is the mean of its logit and the tiny model's last one."""

    def __init__(self, full: Any, tap: _Tap) -> None:
        self.full, self.tap = full, tap
        self.window_frames, self.stride_frames = full.window_frames, full.stride_frames

    def step(self, frames: npt.NDArray[np.uint16]) -> float:
        z = 0.5 * _logit(float(self.full.step(frames))) + 0.5 * _logit(self.tap.last)
        return 1 / (1 + math.exp(-z))

    def reset(self) -> None:
        self.full.reset()


def fusion(data_dir: Path, bundle: str, stream_path: str) -> None:
    shipped = load_cascade(bundle)
    keyword = shipped.keyword
    options = TrainOptions(keyword=keyword, out_dir=Path("unused"), cache_dir=CACHE)
    val = build_dataset(data_recipe(options, keyword), CACHE).val
    stream = np.load(stream_path)
    recordings, _ = realspeech.read_folders(realspeech.phrase_folders(data_dir))
    clean, noisy = realspeech.heard_sets(recordings, {keyword}, 10.0, 0)
    floor = shipped.noise_floor.dbfs if shipped.noise_floor is not None else None

    def pair(kind: str) -> tuple[Any, Any]:
        cascade = load_cascade(bundle)
        if kind == "rechosen":
            return cascade.tiny, cascade.full
        tap = _Tap(cascade.tiny)
        return tap, _Fused(cascade.full, tap)

    base = replace(shipped.thresholds, wake=0.5, detect=0.9999)
    for kind in ("rechosen", "fused"):
        # one pair serves every run: each Cascade resets its models when it is made
        tiny, full = pair(kind)
        thresholds, _ = evaluate.choose_thresholds(
            tiny, full, keyword, base, val.positives, val.stream_features, val.stream_hours, 0.5
        )
        on_val = evaluate.cascade_run(
            partial(Cascade, keyword, full, thresholds, tiny=tiny),
            val.positives,
            val.stream_features,
            val.stream_hours,
            val.negatives,
        )
        cascade = Cascade(
            keyword, full, thresholds, tiny=tiny, noise_floor=NoiseFloor(floor) if floor else None
        )
        figures = realspeech.recording_figures(cascade, keyword, clean, noisy)
        cascade.reset()
        row = {
            "bundle": bundle,
            "kind": kind,
            "wake": thresholds.wake,
            "detect": thresholds.detect,
            "val_frr": round(on_val["frr"], 4),
            "val_fa_per_hour": round(on_val["fa_per_hour"], 3),
            "val_negative_clips_accepted": round(on_val.get("negative_clips_accepted", 0.0), 4),
            "dev_missed_clean": figures["frr_clean"],
            "dev_missed_10db": figures["frr_noisy"],
            "dev_others_accepted": figures["others_accepted"],
            "stream_false_accepts": len(cascade.process(stream)),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    command, data, target, extra = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    if command == "relative":
        relative(data, target, extra)
    elif command == "fusion":
        fusion(data, target, extra)
    else:
        sys.exit(f"unknown probe {command!r}: relative or fusion")
