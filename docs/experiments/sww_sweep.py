"""`kws battery --benchmark sww`'s audio for a bundle's keyword (`firmware_sim.benchmark.build`,
seed 0): keywords found per segment and false accepts at the bundle's thresholds or at a grid of
(wake, detect) thresholds, the cascade run on the host (`kws.load_bundle`; `kws battery
--benchmark sww` simulates the device, which gives the same detections since the simulator hears
the bundle's noise floor too, docs/RESULTS.md), MLPerf's count
(`firmware_sim.benchmark.score`). With --train-voices the keyword is said in the seeded espeak-ng
variants of the training split instead of the held-out ones (talkers from the rest): a diagnostic
of whether the loss is the voices or the scenes; with --easier DB the crowd and the music are DB
quieter (the keywords' SNR DB higher; the quiet and speech segments as they are). Usage (from the
repo root, with the venv):
  sww_sweep.py BUNDLE [--train-voices] [--easier DB] [WAKE:DETECT ...]
"""

import json
import sys
from pathlib import Path

import kws
from firmware_sim import benchmark
from kws import synth
from training.data.dataset import split_voices


def train_voices(seed: int = 0) -> list[str]:
    """The training split's voices less the unseeded variants, as ``held_out_voices`` leaves
    the test split's."""
    voices = split_voices(seed)["train"]
    return [v for v in voices if v.split("+")[1] not in synth.UNSEEDED_VARIANTS]


bundle = sys.argv[1]
if "--train-voices" in sys.argv:
    benchmark.held_out_voices = train_voices
if "--easier" in sys.argv:
    easier_db = float(sys.argv[sys.argv.index("--easier") + 1])
    gain = 10 ** (-easier_db / 20)
    benchmark.SEGMENTS = tuple(
        (name, start, stop, level * gain if name in ("babble", "music") else level)
        for name, start, stop, level in benchmark.SEGMENTS
    )
grid = [tuple(float(x) for x in p.split(":")) for p in sys.argv[2:] if ":" in p] or [(None, None)]
keyword = json.loads((Path(bundle) / "manifest.json").read_text())["keyword"]
audio = benchmark.build(keyword)
print(keyword, "sha", audio.sha256[:16])
for wake, detect in grid:
    over = {} if wake is None else {"wake": wake, "detect": detect}
    cascade = kws.load_bundle(bundle, **over)
    times = [d.time_s for d in cascade.process(audio.pcm)]
    s = benchmark.score(audio.windows, times)
    by_segment: dict[str, list[int]] = {}
    for found, name in zip(s.found, audio.keyword_segments, strict=True):
        counts = by_segment.setdefault(name, [0, 0])
        counts[0] += found
        counts[1] += 1
    segments = " ".join(f"{name} {found}/{spoken}" for name, (found, spoken) in by_segment.items())
    thresholds = cascade.thresholds
    print(
        f"wake {thresholds.wake} detect {thresholds.detect}: found {sum(s.found)}/{len(s.found)} "
        f"({segments}), {len(s.false_accept_s)} false accepts at (s) "
        f"{[round(t, 1) for t in s.false_accept_s][:12]}",
        flush=True,
    )
