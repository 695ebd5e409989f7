"""A bundle on the real-speech dev set at other thresholds than its own, as `kws bench
realspeech` plays the recordings (its `recording_figures`), without the stream. Usage:
  at_thresholds.py REALSPEECH_DIR BUNDLE:DETECT[:VERIFIER_THRESHOLD] ...
"""

import json
import sys
from pathlib import Path

from kws.loading import load_cascade
from kws.verifier import VerifierPolicy
from training.realspeech import (
    Recordings,
    heard_sets,
    phrase_folders,
    read_folders,
    recording_figures,
)

recordings, _ = read_folders(phrase_folders(Path(sys.argv[1])))
heard: dict[str, tuple[Recordings, Recordings]] = {}  # keyword -> (clean, noisy), mixed once
for arg in sys.argv[2:]:
    path, detect, *verifier = arg.split(":")
    cascade = load_cascade(path, detect=float(detect))
    if verifier:
        cascade.verifier.policy = VerifierPolicy(
            float(verifier[0]), cascade.verifier.policy.before_s
        )
    if cascade.keyword not in heard:
        heard[cascade.keyword] = heard_sets(recordings, {cascade.keyword}, 10.0, 0)
    figures = recording_figures(cascade, cascade.keyword, *heard[cascade.keyword])
    print(arg, json.dumps(figures), flush=True)
