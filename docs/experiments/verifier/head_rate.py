"""How often a bundle's verifier head alone fires on a keyword-free synthetic stream (events
per hour at each threshold, 2 s apart), from the embeddings `stream_both.py` saved. Usage:
  head_rate.py STREAM_BOTH.npz BUNDLE ...
"""

import sys
from pathlib import Path

import numpy as np

from kws.verifier import VerifierHead, windows

z = np.load(sys.argv[1])
hours = float(z["hours"])
all_windows = windows(z["emb"].astype(np.float32))


def events(scores, threshold, refractory=25):  # 25 embeddings: 2 s
    count, last = 0, -(10**9)
    for i in np.nonzero(scores >= threshold)[0]:
        if i - last > refractory:
            count += 1
        last = i
    return count


for bundle in sys.argv[2:]:
    head = VerifierHead(Path(bundle, "verifier_head.npz").read_bytes())
    scores = np.concatenate(
        [head(all_windows[i : i + 20000]) for i in range(0, len(all_windows), 20000)]
    )
    rates = {
        v: round(events(scores, v) / hours, 1) for v in (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995)
    }
    print(bundle, rates, flush=True)
