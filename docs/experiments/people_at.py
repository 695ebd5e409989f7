"""A bundle on the real-speech dev set at a wake and a detect threshold other than its own, as
`kws bench realspeech` plays the recordings (its `recording_figures`, which also counts each other
phrase's acceptance), without the stream. A measurement of finished bundles: nothing may be
chosen from it. Usage:
  people_at.py REALSPEECH_DIR [--by-phrase] BUNDLE:WAKE:DETECT ...
(`--by-phrase` is accepted for the commands in docs/RESULTS.md that name it; the shares by phrase
are always printed now.)
"""

import json
import sys
from pathlib import Path

from kws.loading import load_cascade
from training.realspeech import DevSet

dev = DevSet(Path(sys.argv[1]))
for arg in (a for a in sys.argv[2:] if a != "--by-phrase"):
    path, wake, detect = arg.split(":")
    cascade = load_cascade(path, wake=float(wake), detect=float(detect))
    print(arg, json.dumps(dev.figures(cascade, cascade.keyword)), flush=True)
