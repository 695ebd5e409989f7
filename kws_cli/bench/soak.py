"""`kws bench soak`: `kws detect -` on a generated endless stream, memory sampled: it must stay
flat. The audio is generated on the fly (speech-like signal over noise) and piped in, so any
length (24 h) runs without a file."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kws.errors import KwsError

BLOCK_S = 60


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "soak", help="memory of kws detect on a generated endless stream", description=__doc__
    )
    parser.add_argument("--hours", type=float, default=24.0, help="length of the stream")
    parser.add_argument("--model", type=Path, help="bundle folder or name (default hey_jarvis)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(run_target=run)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def soak(hours: float, model: Path | None) -> dict[str, Any]:
    from kws.frontend.signals import bench_pcm

    command = [sys.executable, "-m", "kws", "detect", "--json", "-"]
    if model is not None:
        command[4:4] = ["--model", str(model)]
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stdin is not None
    blocks = [bench_pcm(float(BLOCK_S), seed=seed).tobytes() for seed in range(4)]
    samples: list[tuple[float, int]] = []
    n_blocks = max(1, int(round(hours * 3600 / BLOCK_S)))
    try:
        for index in range(n_blocks):
            process.stdin.write(blocks[index % len(blocks)])
            if index % 10 == 0:
                samples.append((index * BLOCK_S / 3600, _rss_kb(process.pid)))
        process.stdin.close()
    except BrokenPipeError:
        pass
    stderr = process.stderr.read().decode() if process.stderr else ""
    code = process.wait()
    if code != 0:
        raise KwsError(f"kws detect exited {code}: {stderr.strip().splitlines()[-1:]}")
    settled = [rss for hour, rss in samples if hour >= min(0.1, hours / 4)] or [
        s[1] for s in samples
    ]
    return {
        "hours": round(n_blocks * BLOCK_S / 3600, 3),
        "wall_s": round(time.monotonic() - started, 1),
        "rss_mb": {
            "first": round(samples[0][1] / 1024, 1),
            "settled_min": round(min(settled) / 1024, 1),
            "settled_max": round(max(settled) / 1024, 1),
            "last": round(samples[-1][1] / 1024, 1),
        },
        "samples": [[round(h, 3), kb] for h, kb in samples],
    }


def run(args: argparse.Namespace) -> int:
    if args.hours <= 0:
        raise KwsError("--hours must be positive")
    from kws.defaults import resolve_bundle

    # resolved here, so a wrong name is one line now, not an exit of the child process
    result = soak(args.hours, None if args.model is None else resolve_bundle(args.model))
    if args.json:
        print(json.dumps(result))
    else:
        rss = result["rss_mb"]
        print(
            f"kws detect on {result['hours']} h of generated audio in {result['wall_s']} s: RSS "
            f"{rss['settled_min']}-{rss['settled_max']} MB after warm-up "
            f"(first {rss['first']}, last {rss['last']})"
        )
    return 0
