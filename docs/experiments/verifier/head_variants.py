"""The verifier's head on more synthetic data, and a head trained with noise on its input
(thirty-fourth session; docs/RESULTS.md "The verifier's head: three times the data, and noise
on its input"). Usage:
  head_variants.py REALSPEECH_DIR BUNDLE WORK_DIR SCALE VARIANT[,VARIANT ...]
VARIANT is SIZE:KIND: SIZE x1 (the default's clip counts) or xSCALE; KIND plain (the head as
`kws train --add-verifier` trains it) or noise (Gaussian noise of 0.5 x the embeddings' std on
the head's input windows and 20% dropout on them, in training only: the head's arrays and the
runtime are unchanged).

The data are made once, in WORK_DIR/data_xSCALE.pkl: the training split at SCALE x the default
counts and stream minutes (its first 2,500 / 3,500 clips and 40 stream minutes are the default
split's), validation and test as the default makes them. Each variant's head is trained
(WORK_DIR/head_*.npz), its operating point chosen on validation by `training.verifier.choose`
(the rule `kws train --add-verifier` uses), the bundle written to WORK_DIR, and then measured
on the real-speech dev set (measurement only; nothing is chosen by it). The keyword, seed 0
and noise floor come from BUNDLE.

Scheduling, so that the data and heads can start before the cascade has finished training:
DATA_KEYWORD=K takes K as the keyword with another bundle's floor and makes the data only;
with HEADS_ONLY=1 as well it trains the heads too. A later run without them reuses both.
"""

import json
import os
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np  # noqa: E402

from kws.bundle import read_bundle  # noqa: E402
from kws.loading import load_cascade  # noqa: E402
from kws.verifier import EMBEDDING_HOP  # noqa: E402
from training import verifier as V  # noqa: E402
from training.realspeech import DevSet  # noqa: E402

SEED = 0

realspeech, bundle_dir, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
scale, variants = int(sys.argv[4]), sys.argv[5].split(",")
work.mkdir(parents=True, exist_ok=True)
started = time.monotonic()


def log(message: str) -> None:
    print(f"{(time.monotonic() - started) / 60:6.1f} min  {message}", flush=True)


if os.environ.get("DATA_KEYWORD"):
    bundle = replace(read_bundle(bundle_dir), keyword=os.environ["DATA_KEYWORD"])
else:
    bundle = V._without_verifier(read_bundle(bundle_dir), bundle_dir)
base = V.VerifierSettings()
files = V.embedding_files()  # read from the openwakeword wheel and checked once


data_path = work / f"data_x{scale}.pkl"
if data_path.exists():
    data = pickle.loads(data_path.read_bytes())
else:
    bigger = replace(
        base,
        train_positives=base.train_positives * scale,
        train_negatives=base.train_negatives * scale,
        train_stream_min=base.train_stream_min * scale,
        workers=2,
    )
    data = V.make_data(bundle, bigger, SEED, files, log)
    data_path.write_bytes(pickle.dumps(data))
if os.environ.get("DATA_KEYWORD") and not os.environ.get("HEADS_ONLY"):
    sys.exit(0)


def default_size(split: V._Split) -> V._Split:
    """The training split as the default makes it: its first clips and stream minutes."""
    samples = int(base.train_stream_min * 60 * V.SAMPLE_RATE_HZ)
    return V._Split(
        split.positives[: base.train_positives],
        split.negatives[: base.train_negatives],
        split.stream_embeddings[: samples // EMBEDDING_HOP],
        None,
        base.train_stream_min / 60,
    )


spread = float(
    np.concatenate([c.embeddings for c in data["train"].positives[:500]]).astype(np.float32).std()
)
plain_head = V.head_model


def noisy_head(units: int):  # noqa: ANN201 - a Keras model
    """The default head's layers behind noise and dropout on its input (the same arrays)."""
    import tf_keras as keras

    layers = keras.layers
    inputs = [
        layers.Input((V.WINDOW_EMBEDDINGS, V.EMBEDDING_DIM)),
        layers.GaussianNoise(0.5 * spread),
        layers.Dropout(0.2),
    ]
    return keras.Sequential(inputs + plain_head(units).layers)


dev = DevSet(realspeech)
results_path = work / "results.json"
results = json.loads(results_path.read_text()) if results_path.exists() else {}
for variant in variants:
    size, kind = variant.split(":")
    train = data["train"] if size == f"x{scale}" else default_size(data["train"])
    V.head_model = noisy_head if kind == "noise" else plain_head
    saved = work / f"head_{size}_{kind}.npz"
    if saved.exists():
        with np.load(saved) as stored:
            arrays = {name: stored[name] for name in stored.files}
    else:
        arrays = V.train_head(train, base, SEED)
        np.savez(saved, **arrays)
    if os.environ.get("HEADS_ONLY"):
        log(f"{variant}: head trained")
        continue
    chosen, test_alone, test_with = V.operating_point(bundle, arrays, data, 0.5)
    out = work / f"{bundle.keyword.replace(' ', '_')}_{size}_{kind}"
    entry = {"seed": SEED, "variant": variant, "train_positives": len(train.positives)}
    V._write(bundle, bundle_dir, out, arrays, files, chosen, test_alone, test_with, entry)
    results[variant] = {
        "wake": chosen["wake"],
        "detect": chosen["detect"],
        "verifier": chosen["verifier_threshold"],
        "validation": chosen["validation"],
        "test_alone": test_alone,
        "test_with": test_with,
        "dev": dev.figures(load_cascade(out), bundle.keyword),
    }
    log(f"{variant}: {json.dumps(results[variant])}")
    results_path.write_text(json.dumps(results, indent=1))
