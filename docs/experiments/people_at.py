"""A bundle on the real-speech dev set at a wake and a detect threshold other than its own, as
`kws bench realspeech` plays the recordings (its `recording_figures`), without the stream; with
`--by-phrase`, the other phrases' acceptance one phrase at a time. A measurement of finished
bundles: nothing may be chosen from it. Usage:
  people_at.py REALSPEECH_DIR [--by-phrase] BUNDLE:WAKE:DETECT ...
"""

import json
import sys
from pathlib import Path

from kws.loading import load_cascade
from training.realspeech import (
    Recordings,
    heard_sets,
    phrase_folders,
    read_folders,
    recording_figures,
)

args = sys.argv[2:]
by_phrase = "--by-phrase" in args
recordings, _ = read_folders(phrase_folders(Path(sys.argv[1])))
heard: dict[str, tuple[Recordings, Recordings]] = {}  # keyword -> (clean, noisy), mixed once
for arg in (a for a in args if a != "--by-phrase"):
    path, wake, detect = arg.split(":")
    cascade = load_cascade(path, wake=float(wake), detect=float(detect))
    keyword = cascade.keyword
    if keyword not in heard:
        heard[keyword] = heard_sets(recordings, {keyword}, 10.0, 0)
    clean, noisy = heard[keyword]
    figures = recording_figures(cascade, keyword, clean, noisy)
    if by_phrase:
        for other in (p for p in clean if p != keyword):
            alone = recording_figures(cascade, "", {other: clean[other]}, {})
            figures[f"accepted {other}"] = alone["others_accepted"]
    print(arg, json.dumps(figures), flush=True)
