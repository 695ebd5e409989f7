"""A verifier bundle whose head stacks several members: the real-speech dev set through the
bundle as written (their mean logit) and through each member alone, at the bundle's own
thresholds and at other (detect, verifier threshold) pairs, as `kws bench realspeech` plays
the recordings (its `recording_figures`), without the stream. A measurement of a finished
bundle, not a choice. Usage:
  members.py REALSPEECH_DIR BUNDLE [DETECT:VERIFIER_THRESHOLD ...]
"""

import io
import json
import sys
from pathlib import Path

import numpy as np

from kws.bundle import read_bundle, read_verifier_file
from kws.loading import load_cascade
from kws.verifier import HEAD_ARRAYS, VerifierHead, VerifierPolicy
from training.realspeech import DevSet

dev = DevSet(Path(sys.argv[1]))
bundle_dir = Path(sys.argv[2])
bundle = read_bundle(bundle_dir)
assert bundle.verifier is not None, "not a verifier bundle"
payload = read_verifier_file(bundle_dir, "head", bundle.verifier.files["head"])
with np.load(io.BytesIO(payload), allow_pickle=False) as loaded:
    stacked = {name: loaded[name] for name in HEAD_ARRAYS}
members = stacked["w0"].shape[0] if stacked["w0"].ndim == 3 else 1
heads = {"mean": None}
for m in range(members if members > 1 else 0):
    buffer = io.BytesIO()
    np.savez(buffer, **{name: value[m] for name, value in stacked.items()})
    heads[f"member {m}"] = VerifierHead(buffer.getvalue())
points = [(None, None)] + [tuple(float(x) for x in p.split(":")) for p in sys.argv[3:]]
for detect, threshold in points:
    for name, head in heads.items():
        cascade = load_cascade(bundle_dir, **({} if detect is None else {"detect": detect}))
        if head is not None:
            cascade.verifier.head = head
        if threshold is not None:
            cascade.verifier.policy = VerifierPolicy(threshold, cascade.verifier.policy.before_s)
        figures = dev.figures(cascade, cascade.keyword)
        where = "own" if detect is None else f"{detect}:{threshold}"
        print(where, name, json.dumps(figures), flush=True)
