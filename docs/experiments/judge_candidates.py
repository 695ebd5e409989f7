"""What ``kws train --choose-full voices`` would keep among a training's dumped full-model
candidates (twenty-first session). docs/RESULTS.md, "Other engines' voices as the judge".

Not part of kws: run it from the repo root with the project's venv, on a training made with
``docs/experiments/candidates.patch`` applied and ``KWS_EXP_EXTRA=EXTRA`` set, with Flite's and
Festival's voices installed (``make setup-voices``):

    .venv/bin/python docs/experiments/judge_candidates.py BUNDLE EXTRA [SEED]

The bundle gives the keyword and the tiny model; SEED is the training's (default 0): it picks
the validation split (from the feature cache in ``.cache/kws``) and draws the voices' clips, as
``kws train`` would. Prints one JSON object: the candidate kept, what validation would keep, and
every candidate's thresholds and misses (``training.full.selection`` of a bundle's report).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from training import selection
from training.data.dataset import build_dataset
from training.pipeline import Candidate, TrainOptions, _full_by_voices, data_recipe

CACHE = Path(".cache/kws")
TARGET_FA_PER_HOUR = 0.5


def main(bundle: Path, extra: Path, seed: int) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    keyword = manifest["keyword"]
    tiny = Candidate(0, (bundle / "tiny.tflite").read_bytes(), manifest["models"]["tiny"], 0.0)
    by_start: list[list[Candidate]] = []
    for row in json.loads((extra / "candidates.json").read_text()):
        start = int(row["name"].split("_start")[1].split("_")[0]) - 1
        epochs = int(row["name"].split("_qat")[1])
        content = (extra / f"{row['name']}.tflite").read_bytes()
        while len(by_start) <= start:
            by_start.append([])
        by_start[start].append(Candidate(epochs, content, row["entry"], row["val_mean_frr"]))
    options = TrainOptions(keyword=keyword, out_dir=Path("unused"), cache_dir=CACHE, seed=seed)
    dataset = build_dataset(data_recipe(options, keyword), CACHE)
    clips = selection.voice_clips(keyword, selection.CLIPS, seed)
    assert clips is not None, "Flite's and Festival's voices are not installed (make setup-voices)"
    floor = manifest.get("noise_floor_dbfs")
    start, kept, record = _full_by_voices(
        keyword, dataset, TARGET_FA_PER_HOUR, floor, lambda: clips, None, tiny, by_start
    )
    print(json.dumps({"kept": {"start": start + 1, "qat_epochs": kept.qat_epochs}, **record}))


if __name__ == "__main__":  # the judge spawns processes, which import this file again
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
