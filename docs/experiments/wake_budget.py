"""A finished bundle's thresholds chosen again as training chooses them
(`training.pipeline.thresholds_on_validation`, the full model alone's threshold from the
bundle's report), with the awake budget given (0: none), on the validation split of the recipe
that made it (read from the feature cache; rebuilt if missing); then its validation figures and
its people (the dev set) at the point chosen. The awake budget is not in main (not kept:
docs/RESULTS.md, "The tiny model's gate and the power budget"): run it in a worktree with
docs/experiments/wake-budget.patch applied (and PYTHONPATH=. there, or the venv's kws is
main's). Usage (repo root, the venv):
  wake_budget.py KEYWORD SEED BUNDLE BUDGET REALSPEECH_DIR [LOUD_SHARE]
"""

import json
import sys
from pathlib import Path

from kws.loading import load_cascade
from training import evaluate, pipeline
from training.data.dataset import build_dataset
from training.pipeline import TrainOptions, data_recipe
from training.realspeech import real_speech_figures

keyword, seed, bundle, budget = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
loud = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
options = TrainOptions(keyword=keyword, seed=seed, out_dir=Path("unused"), loud_share=loud)
val = build_dataset(data_recipe(options, keyword), options.cache_dir).val
evaluation = json.loads((Path(bundle) / "report.json").read_text())["evaluation"]
models = load_cascade(bundle, noise_floor_dbfs=None)
assert models.tiny is not None, "a bundle with a tiny model"
pipeline.FULL_AWAKE_BUDGET = budget if budget > 0 else None  # the patch's constant, read per call
chosen, steps = pipeline.thresholds_on_validation(
    models.tiny,
    models.full,
    keyword,
    val,
    evaluation["target_fa_per_hour"],
    evaluation["threshold_choice"]["full_alone_detect"],
)
print("steps", json.dumps(steps), flush=True)
wake, detect = chosen.wake, chosen.detect
validation = evaluate.cascade_run(
    lambda: load_cascade(bundle, noise_floor_dbfs=None, wake=wake, detect=detect),
    val.positives,
    val.stream_features,
    val.stream_hours,
    val.negatives,
)
print("validation", json.dumps({k: round(v, 4) for k, v in validation.items()}), flush=True)
people = real_speech_figures(
    load_cascade(bundle, wake=wake, detect=detect), keyword, Path(sys.argv[5])
)
print("people", json.dumps({"wake": wake, "detect": detect} | people), flush=True)
