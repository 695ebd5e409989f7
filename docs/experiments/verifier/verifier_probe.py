"""Probe: a verifier after the cascade. A detection of the cascade (a bundle's tiny model and
wake threshold, one full model) counts only when a head on openWakeWord 0.4.0's speech
embedding (Google's, Apache-2.0; the head trained by emb_head.py on kws's synthetic clips only)
scores at least v on a 1.96 s window ending 0.32 s before to 0.16 s after the detection. For
each v of a grid, the detect threshold is the lowest of a grid with <= 0.5 FA/h on a held-out
synthetic stream (stream_both.py; never the dev set); then the dev set as `kws bench
realspeech` plays it. WAKE=x in the environment overrides the bundle's wake threshold.

  verifier_probe.py BUNDLE FULL.tflite HEAD.h5 STREAM.npz REALSPEECH_DIR DEV_EMB.npz
  verifier_probe.py --fa BUNDLE FULL.tflite HEAD.h5 STREAM.npz d:v [d:v ...]
      false accepts per hour on another stream at chosen (detect, v) pairs
"""
import json
import os
import sys
import time

os.environ["TF_USE_LEGACY_KERAS"] = "1"
from dataclasses import replace
from pathlib import Path

import numpy as np
import tf_keras as keras

from kws.bundle import read_bundle
from kws.cascade import Cascade
from kws.loading import load_cascade
from kws.model import TfliteModel
from kws.noise_floor import NoiseFloor
from training import evaluate
from training.realspeech import heard_sets, phrase_folders, read_folders

FRAME, FIRST_END, W = 1280, 12480, 16
BEFORE_S, AFTER_S, TARGET = 0.32, 0.16, 0.5
D = [0.3, 0.5, 0.7, 0.85, 0.95, 0.98, 0.99, 0.995, 0.998]
V = [0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999]


class Probe:
    def __init__(self, bundle_dir, full_path, head_path):
        wake = {"wake": float(os.environ["WAKE"])} if "WAKE" in os.environ else {}
        self.base = load_cascade(bundle_dir, **wake)
        self.keyword, self.thresholds = self.base.keyword, self.base.thresholds
        floor = self.base.noise_floor
        self.floor_db = floor.dbfs if floor else None
        bundle = read_bundle(bundle_dir)
        self.spec, self.scale = bundle.models["full"], bundle.feature_scale
        self.full_bytes = Path(full_path).read_bytes()
        self.head = keras.models.load_model(head_path)

    def full(self):
        return TfliteModel(self.full_bytes, self.spec, self.scale, False)

    def cascade(self, detect, full=None, tiny=None, floor=False):
        noise = NoiseFloor(self.floor_db) if floor and self.floor_db is not None else None
        return Cascade(self.keyword, full or self.full(),
                       replace(self.thresholds, detect=detect),
                       tiny=tiny or self.base.tiny, noise_floor=noise)

    def head_track(self, emb):
        """(window end times in s of the piece, the head's scores)."""
        e = emb.astype(np.float32)
        if e.shape[0] < W:
            return np.zeros(0), np.zeros(0)
        w = np.lib.stride_tricks.sliding_window_view(e, W, axis=0).transpose(0, 2, 1)
        s = 1 / (1 + np.exp(-self.head.predict(w, batch_size=4096, verbose=0)[:, 0]))
        return (FRAME * (np.arange(s.size) + W - 1) + FIRST_END) / 16000, s


def verified(times, track, offset=0.0):
    """For each detection time, the head's best score near it (-1 when no window)."""
    ends, s = track
    out = []
    for t in times:
        m = (ends >= t + offset - BEFORE_S) & (ends <= t + offset + AFTER_S)
        out.append(float(s[m].max()) if m.any() else -1.0)
    return np.array(out)


def fa_only(probe, stream_path, pairs):
    z = np.load(stream_path)
    features, hours = z["features"], float(z["hours"])
    track = probe.head_track(z["emb"])
    for pair in pairs:
        d, v = map(float, pair.split(":"))
        times = [e.time_s for e in probe.cascade(d).process_features(features)]
        n = int(np.sum(verified(times, track) >= v))
        print(json.dumps({"detect": d, "v": v, "hours": round(hours, 2), "detections":
                          len(times), "verified": n, "fa_per_hour": round(n / hours, 2)}))


def main(probe, stream_path, realspeech_dir, dev_path):
    t0 = time.time()
    z = np.load(stream_path)
    features, hours = z["features"], float(z["hours"])
    stream_track = probe.head_track(z["emb"])
    memory_full, memory_tiny = {}, {}
    stream_best = {}
    for d in D:
        full = evaluate.Remembered(probe.full(), memory_full)
        tiny = evaluate.Remembered(probe.base.tiny, memory_tiny)
        times = [e.time_s for e in probe.cascade(d, full, tiny).process_features(features)]
        stream_best[d] = verified(times, stream_track)
        print("stream", d, len(times), f"{time.time() - t0:.0f} s", flush=True)
    keyword = probe.keyword
    recordings, _ = read_folders(phrase_folders(Path(realspeech_dir)))
    clean, noisy = heard_sets(recordings, {keyword}, 10.0, 0)
    dev = np.load(dev_path, allow_pickle=True)
    own = keyword.replace(" ", "_")
    sets = {"clean": clean[keyword], "noisy": noisy[keyword],
            "others": [p for ph, clips in clean.items() if ph != keyword for p in clips]}
    embs = {"clean": dev[f"{own}_clean"], "noisy": dev[f"{own}_noisy"],
            "others": [e for k in dev.files if k.endswith("_clean") and not k.startswith(own)
                       for e in dev[k]]}
    tracks = {k: [probe.head_track(e) for e in embs[k]] for k in sets}
    rec_best = {}  # (set, d) -> best verified score per recording (-2: no detection)
    for d in D:
        cascade = probe.cascade(d, floor=True)
        for k, clips in sets.items():
            best = []
            for pcm, track in zip(clips, tracks[k]):
                cascade.reset()
                times = [e.time_s for e in cascade.process(pcm) if e.time_s > 1.0]
                v = verified(times, track, offset=1.0)  # its embeddings heard 1 s more lead-in
                best.append(v.max() if v.size else -2.0)
            rec_best[(k, d)] = np.array(best)
        print("dev", d, f"{time.time() - t0:.0f} s", flush=True)

    def figures(d, v):
        return [round(np.sum(stream_best[d] >= v) / hours, 2),
                round(float(np.mean(rec_best[("clean", d)] < v)), 4),
                round(float(np.mean(rec_best[("noisy", d)] < v)), 4),
                round(float(np.mean(rec_best[("others", d)] >= v)), 4)]

    rows = []
    for v in V:
        ok = [d for d in D if np.sum(stream_best[d] >= v) / hours <= TARGET]
        if ok:
            fa, clean_missed, noisy_missed, others = figures(ok[0], v)
            rows.append({"v": v, "detect": ok[0], "fa_per_hour": fa, "missed_clean":
                         clean_missed, "missed_noisy": noisy_missed, "others_accepted": others})
            print(json.dumps(rows[-1]), flush=True)
    grid = {f"{d}/{v}": figures(d, v) for d in D for v in V}  # FA/h, clean, 10 dB, others
    print(json.dumps({"keyword": keyword, "wake": probe.thresholds.wake, "rows": rows,
                      "grid": grid}))
    print("done", f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    if sys.argv[1] == "--fa":
        fa_only(Probe(*sys.argv[2:5]), sys.argv[5], sys.argv[6:])
    else:
        main(Probe(*sys.argv[1:4]), *sys.argv[4:7])
