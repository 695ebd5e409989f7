"""Every full-model candidate of one training, on validation, on other engines' voices and on
the dev set (twentieth session). docs/RESULTS.md, "Which of a training's models finds people".

Not part of kws: run it from the repo root with the project's venv, on a training made with
``docs/experiments/candidates.patch`` applied and ``KWS_EXP_EXTRA=EXTRA`` set (the patch writes
each start's int8 full model after each QAT epoch there, 0 being the PTQ export, with its
validation mean FRR in ``candidates.json``):

    .venv/bin/python docs/experiments/probe_candidates.py BUNDLE EXTRA FESTVOX DEV [SEED]

FESTVOX is the ``festvox`` folder that ``probe_timing_and_voices.py make`` writes (the phrases in
Flite's and Festival's voices), DEV the real-speech dev set. For each candidate, with the
bundle's tiny model: the thresholds training would choose were it kept (the full model alone's
detect threshold for 0.5 FA/h on the validation split of the bundle's data recipe, read from the
feature cache, SEED the training's (default 0), then
``training.pipeline.thresholds_on_validation``), then FESTVOX and DEV
as ``kws bench realspeech`` plays them (missed clean / 10 dB / other phrases accepted) at those
thresholds ("own") and at wake 0.5 / detect 0.976 ("common"). One JSON line per candidate. A
measurement of finished models: nothing is chosen from DEV.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from kws.cascade import Cascade
from kws.loading import load_cascade
from kws.noise_floor import NoiseFloor
from training import evaluate, realspeech
from training.data.dataset import build_dataset
from training.pipeline import (
    DETECT_SMOOTHING,
    TrainOptions,
    _model_for,
    data_recipe,
    thresholds_on_validation,
)

CACHE = Path(".cache/kws")
TARGET_FA_PER_HOUR = 0.5


def main(bundle: str, extra: Path, festvox: Path, dev: Path, seed: int) -> None:
    shipped = load_cascade(bundle)
    keyword = shipped.keyword
    options = TrainOptions(keyword=keyword, out_dir=Path("unused"), cache_dir=CACHE, seed=seed)
    val = build_dataset(data_recipe(options, keyword), CACHE).val
    played = {}
    for name, folder in (("dev", dev), ("festvox", festvox)):
        recordings, _ = realspeech.read_folders(realspeech.phrase_folders(folder))
        played[name] = realspeech.heard_sets(recordings, {keyword}, 10.0, 0)
    floor = shipped.noise_floor.dbfs if shipped.noise_floor is not None else None
    tiny = shipped.tiny
    assert tiny is not None, f"{bundle} has no tiny model"

    for candidate in json.loads((extra / "candidates.json").read_text()):
        content = (extra / f"{candidate['name']}.tflite").read_bytes()
        # one model serves every run: each Cascade resets its models when it is made
        full = _model_for(content, candidate["entry"], reference_kernels=False)
        alone = evaluate.model_scores(
            full, val.positives, val.stream_features, val.stream_hours, DETECT_SMOOTHING
        )
        detect = max(0.5, alone.operating_point(TARGET_FA_PER_HOUR)["threshold"])
        chosen, _ = thresholds_on_validation(tiny, full, keyword, val, TARGET_FA_PER_HOUR, detect)
        row: dict[str, Any] = {
            "name": candidate["name"],
            "val_mean_frr": round(candidate["val_mean_frr"], 4),
            "wake": chosen.wake,
            "detect": chosen.detect,
        }
        for point, thresholds in (
            ("own", chosen),
            ("common", replace(chosen, wake=0.5, detect=0.976)),
        ):
            for name, (clean, noisy) in played.items():
                cascade = Cascade(
                    keyword,
                    full,
                    thresholds,
                    tiny=tiny,
                    noise_floor=NoiseFloor(floor) if floor is not None else None,
                )
                figures = realspeech.recording_figures(cascade, keyword, clean, noisy)
                row[f"{point}_{name}"] = [
                    figures["frr_clean"],
                    figures["frr_noisy"],
                    figures["others_accepted"],
                ]
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), seed)
