"""A bundle at lower wake thresholds, its detect threshold kept: people (the dev set, as `kws
bench realspeech` plays it) and, on a keyword-free stream the bench makes, false accepts, the
tiny model's wakes and the share of time the full model is awake. A measurement of a finished
bundle, nothing chosen from it. Usage (repo root, the venv):
  wake_sweep.py REALSPEECH_DIR STREAM_MINUTES BUNDLE:WAKE[:WAKE...] ...   (WAKE "full": alone)
"""

import json
import sys
from pathlib import Path

from kws.frontend.config import SAMPLE_RATE_HZ
from kws.loading import load_cascade
from training.realspeech import DevSet, keyword_free_stream

dev = DevSet(Path(sys.argv[1]))
stream = keyword_free_stream(float(sys.argv[2]), 0)
hours = len(stream) / SAMPLE_RATE_HZ / 3600
for argument in sys.argv[3:]:
    path, *wakes = argument.split(":")
    for wake in wakes:
        if wake == "full":
            cascade = load_cascade(path, full_only=True)
        else:
            cascade = load_cascade(path, wake=float(wake))
        row = dev.figures(cascade, cascade.keyword)
        cascade.reset()
        false_accepts = len(cascade.process(stream))
        row |= {
            "fa_per_hour": round(false_accepts / hours, 2),
            "wakes_per_hour": round(cascade.counters.wakes / hours, 1),
            "full_awake": round(cascade.counters.duty_cycle_full, 4),
        }
        print(path, wake, json.dumps(row), flush=True)
