"""Bundles of one keyword on the same held-out synthetic test split: the split a default
`kws train --keyword KEYWORD` builds (read from the cache), each bundle through
`training.evaluate.cascade_run` at its own thresholds or at a given detect threshold.
Usage (from the repo root, with the venv):
  same_split.py KEYWORD BUNDLE[:DETECT] ...
"""

import json
import sys
from pathlib import Path

from kws.loading import load_cascade
from training.data.dataset import build_dataset
from training.evaluate import cascade_run
from training.pipeline import TrainOptions, data_recipe

keyword = sys.argv[1]
options = TrainOptions(keyword=keyword, out_dir=Path("unused"))
test = build_dataset(data_recipe(options, keyword), options.cache_dir).test
for argument in sys.argv[2:]:
    bundle, *detect = argument.split(":")
    thresholds = {"detect": float(detect[0])} if detect else {}
    figures = cascade_run(
        lambda: load_cascade(bundle, **thresholds),  # noqa: B023 (called at once)
        test.positives,
        test.stream_features,
        test.stream_hours,
        test.negatives,
    )
    print(argument, json.dumps({k: round(v, 4) for k, v in figures.items()}), flush=True)
