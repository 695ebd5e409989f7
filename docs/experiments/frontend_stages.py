"""Where the streaming frontend's time goes, stage by stage (issue 16; twentieth session).

docs/RESULTS.md, "The cascade's CPU". Not part of kws: run it from the repo root with the
project's venv:

    .venv/bin/python docs/experiments/frontend_stages.py [CHUNK_SAMPLES]

It copies ``kws.frontend.pipeline.process_chunk_into`` into a temporary module with one more
argument, ``stage``, that stops each frame after the window (1), the FFT (2), the filterbank (3)
or not at all (4), compiles it as the frontend's kernels are compiled, and times each stage count
on 30 s of seeded white noise in chunks of CHUNK_SAMPLES (480: 30 ms, three frames a call), the
best of five passes. The differences between stage counts are each stage's cost per frame; the
call itself (with the window and the carried samples) is what stage 1 costs.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import kws.frontend.pipeline
from kws.frontend import Frontend

PASSES = 5


def staged_source() -> str:
    source = Path(kws.frontend.pipeline.__file__).read_text()
    edits = [
        ("def process_chunk_into(\n", "def process_chunk_into(\n    stage: int,\n"),
        (
            "f * hop, coefficients, frame)\n",
            "f * hop, coefficients, frame)\n        if stage < 2:\n            continue\n",
        ),
        (
            "            frozen_512,\n        )\n        apply_filterbank(",
            "            frozen_512,\n        )\n        if stage < 3:\n            continue\n"
            "        apply_filterbank(",
        ),
        (
            "        finish_frame(\n",
            "        if stage < 4:\n            continue\n        finish_frame(\n",
        ),
    ]
    for old, new in edits:
        if source.count(old) != 1:
            sys.exit(f"kws.frontend.pipeline changed: {old.strip()!r} is not there once")
        source = source.replace(old, new)
    return source[: source.index("@unrefcounted\ndef process_mixed_chunk_into")]


def main() -> None:
    chunk = int(sys.argv[1]) if len(sys.argv) > 1 else 480
    folder = Path(tempfile.mkdtemp())
    path = folder / "staged_pipeline.py"
    path.write_text(staged_source())
    spec = importlib.util.spec_from_file_location("staged_pipeline", path)
    assert spec is not None and spec.loader is not None
    staged = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(staged)

    frontend = Frontend()
    pcm = (np.random.default_rng(0).standard_normal(16_000 * 30) * 300).astype(np.int16)
    chunks = [pcm[i : i + chunk].copy() for i in range(0, pcm.size, chunk)]
    ring = np.zeros((64, 40), np.uint16)
    frames = frontend.config.hop_samples
    best: dict[int, float] = {}
    for _ in range(PASSES):
        for stage in (1, 2, 3, 4):
            frontend.reset()
            kernel = staged.process_chunk_into
            start = time.perf_counter()
            for piece in chunks:
                kernel(
                    stage,
                    piece,
                    frontend._tables,
                    frontend._buffers,
                    frontend._frozen_512,
                    ring,
                    0,
                )
            seconds = (time.perf_counter() - start) / len(chunks) * 1e6
            best[stage] = min(best.get(stage, np.inf), seconds)
    per_call = chunk / frames
    print(f"us per call of {chunk} samples ({per_call:g} frames), best of {PASSES}:")
    print(f"  call, window, carried samples: {best[1]:.2f}")
    for stage, name in ((2, "FFT"), (3, "filterbank"), (4, "noise reduction, PCAN, log")):
        print(f"  {name}: {(best[stage] - best[stage - 1]) / per_call:.2f} per frame")
    print(f"  whole frontend: {best[4]:.2f}")


if __name__ == "__main__":
    main()
