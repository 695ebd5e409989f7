"""A bundle on the real-speech dev set at other thresholds than its own, as `kws bench
realspeech` plays the recordings (its `recording_figures`), without the stream. Usage:
  at_thresholds.py REALSPEECH_DIR BUNDLE:DETECT[:VERIFIER_THRESHOLD] ...
"""

import json
import sys
from pathlib import Path

from kws.loading import load_cascade
from kws.verifier import VerifierPolicy
from training.realspeech import DevSet

dev = DevSet(Path(sys.argv[1]))
for arg in sys.argv[2:]:
    path, detect, *verifier = arg.split(":")
    cascade = load_cascade(path, detect=float(detect))
    if verifier:
        cascade.verifier.policy = VerifierPolicy(
            float(verifier[0]), cascade.verifier.policy.before_s
        )
    print(arg, json.dumps(dev.figures(cascade, cascade.keyword)), flush=True)
