"""A held-out keyword-free stream (`kws bench realspeech`'s: sentences in espeak-ng voices no
seed-0 training hears, pauses, noise; -60 dBFS floor) as kws features and as openWakeWord
embeddings, from one synthesis (espeak-ng carries state: two syntheses differ slightly).
Usage: stream_both.py MINUTES SEED OUT.npz"""
import sys
import time

import numpy as np
from emb_feats import embed_long

from kws.frontend import compute_features
from kws.noise_floor import DEFAULT_DBFS, add_floor
from training.realspeech import keyword_free_stream

t0 = time.time()
pcm = add_floor(keyword_free_stream(float(sys.argv[1]), int(sys.argv[2])), DEFAULT_DBFS)
features = compute_features(pcm)
print("made", f"{time.time() - t0:.0f} s", flush=True)
np.savez(sys.argv[3], features=features, emb=embed_long(pcm), hours=pcm.size / 16000 / 3600)
print("done", f"{time.time() - t0:.0f} s", flush=True)
