"""The cascade's events on a training's validation and test streams at a low detect threshold,
each with its score: how many events decide the detect threshold the training chose. Usage
(the bundles trained from one recipe, its dataset in the cache):
  validation_events.py "smart mirror" SEED BUNDLE ...
"""

import json
import sys
from pathlib import Path

from kws.loading import load_cascade
from training.data.dataset import build_dataset
from training.pipeline import TrainOptions, data_recipe

keyword, seed = sys.argv[1], int(sys.argv[2])
options = TrainOptions(keyword=keyword, seed=seed, out_dir=Path("unused"))
dataset = build_dataset(data_recipe(options, keyword), options.cache_dir)
for bundle in sys.argv[3:]:
    shipped = json.loads((Path(bundle) / "manifest.json").read_text())["thresholds"]["detect"]
    for name, split in (("validation", dataset.val), ("test", dataset.test)):
        detections = load_cascade(bundle, detect=0.5).process_features(split.stream_features)
        scores = sorted((round(d.score, 5) for d in detections), reverse=True)
        print(
            f"{bundle} {name} stream {split.stream_hours:.1f} h, detect {shipped}: "
            f"{len(scores)} events at detect 0.5, the highest {scores[:8]}",
            flush=True,
        )
