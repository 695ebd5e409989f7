"""A probe of full models at one rule (docs/RESULTS.md, "A student distilled from the two starts").

One bundle's tiny model and wake threshold, with each of several full models in its place (int8
files written by the patched training, or the mean logit of two); each one's detect threshold is
the lowest grid threshold with at most 0.5 FA/h on a 3 h synthetic keyword-free stream
(``keyword_free_stream(180, seed=5)``: held-out voices, not the bench's stream), never the dev
set; then the dev set as ``kws bench realspeech`` plays it. Not part of kws: run it from the repo
root with the project's venv:

    .venv/bin/python docs/experiments/probe_full_models.py BUNDLE EXTRA SPEECH [CACHE [WAKE]]

EXTRA holds full_start1.tflite, full_start2.tflite and full_student.tflite (the distillation
patch writes them where KWS_EXP_EXTRA points); CACHE keeps the stream's features between runs;
WAKE replaces the bundle's wake threshold (a diagnosis of the gate; nothing is chosen from it).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from kws.cascade import Cascade
from kws.frontend import SAMPLE_RATE_HZ, compute_features
from kws.loading import load_cascade
from kws.model import TfliteModel
from kws.noise_floor import NoiseFloor
from training import evaluate
from training.realspeech import (
    heard_sets,
    keyword_free_stream,
    phrase_folders,
    read_folders,
    recording_figures,
)

SYSTEMS = {
    "start1": ["full_start1.tflite"],
    "start2": ["full_start2.tflite"],
    "student": ["full_student.tflite"],
    "mean(start1,start2)": ["full_start1.tflite", "full_start2.tflite"],
}


class MeanLogit:
    """Several full models as one: the sigmoid of the mean of their logits."""

    def __init__(self, models: list[Any]) -> None:
        self.models = models
        self.stride_frames = models[0].stride_frames
        self.window_frames = models[0].window_frames

    def reset(self) -> None:
        for model in self.models:
            model.reset()

    def step(self, frames: Any) -> float:
        p = np.clip([model.step(frames) for model in self.models], 1e-7, 1 - 1e-7)
        return float(1 / (1 + np.exp(-np.mean(np.log(p / (1 - p))))))


def main() -> None:
    bundle_dir, extra, speech = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    cache = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    started = time.time()
    base = load_cascade(bundle_dir, wake=float(sys.argv[5]) if len(sys.argv) > 5 else None)
    bundle = base.bundle  # what load_cascade read
    assert bundle is not None
    floor_db = bundle.noise_floor_dbfs

    def floor() -> NoiseFloor | None:
        return None if floor_db is None else NoiseFloor(floor_db)

    if cache is not None and cache.exists():
        saved = np.load(cache)
        features, hours = saved["features"], float(saved["hours"])
    else:
        stream = keyword_free_stream(180, seed=5)
        if floor_db is not None:
            stream = NoiseFloor(floor_db).add(stream)
        features, hours = compute_features(stream), stream.size / SAMPLE_RATE_HZ / 3600
        if cache is not None:
            np.savez(cache, features=features, hours=hours)
    recordings, _ = read_folders(phrase_folders(speech))
    clean, noisy = heard_sets(recordings, {base.keyword}, 10.0, 0)

    def full(files: list[str], remember: bool) -> Any:
        models = [
            TfliteModel((extra / f).read_bytes(), bundle.models["full"], bundle.feature_scale)
            for f in files
        ]
        if remember:
            models = [evaluate.Remembered(m, {}) for m in models]
        return models[0] if len(models) == 1 else MeanLogit(models)

    rows = {}
    for name, files in SYSTEMS.items():
        remembered, tiny = full(files, True), evaluate.Remembered(base.tiny, {})

        def cascade(detect: float, remembered: Any = remembered, tiny: Any = tiny) -> Cascade:
            thresholds = replace(base.thresholds, detect=detect)
            return Cascade(base.keyword, remembered, thresholds, tiny=tiny)

        detect = evaluate.lowest_detect_threshold(cascade, features, hours, 0.5, 0.9999, 0.5)
        thresholds = replace(base.thresholds, detect=detect)
        fresh = Cascade(
            base.keyword, full(files, False), thresholds, tiny=base.tiny, noise_floor=floor()
        )
        rows[name] = {"detect": detect, **recording_figures(fresh, base.keyword, clean, noisy)}
        print(name, json.dumps(rows[name]), f"{time.time() - started:.0f} s", flush=True)
    print(json.dumps({"keyword": base.keyword, "wake": base.thresholds.wake, "rows": rows}))


if __name__ == "__main__":
    main()
