"""`make demo`: the main job on the shipped default model, with no microphone needed.

Until the default bundle lands, the demo runs the frontend benchmark.
"""

from __future__ import annotations

from kws.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", "frontend", "--seconds", "30"]))
