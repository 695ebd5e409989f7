"""File names as text: a name that is not valid UTF-8 is shown, never a crash.

Python hands such a name over with its bad bytes as lone surrogates (``b"\\xff.wav"`` becomes
``"\\udcff.wav"``), which no UTF-8 stream can write; ``printable`` shows them as ``\\xff``.
"""

from __future__ import annotations

import os
from pathlib import Path


def printable(path: str | Path) -> str:
    """The path as text any stream can write: undecodable bytes as ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")
