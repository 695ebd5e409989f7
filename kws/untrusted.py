"""Reading what a bundle or a microWakeWord config hands us: files it names and text it says.

A file is opened only once it is known to be a regular file inside its folder (not a device,
a FIFO, or a link pointing elsewhere), and read only up to the size such a file can have, so a
hostile ``"model": "/dev/zero"`` can neither hang kws nor fill its memory. Text a bundle says
(its keyword) is printed to terminals, so control characters in it are refused or escaped.
"""

from __future__ import annotations

import json
import os
import stat
import unicodedata
from pathlib import Path
from typing import Any

from kws.errors import BundleError

# A model runs from a microcontroller's flash (kws's are ~40 KB, microWakeWord's ~55 KB).
MAX_MODEL_BYTES = 8 * 1024 * 1024
# A manifest with its evaluation figures is ~14 KB; a microWakeWord config under 1 KB.
MAX_JSON_BYTES = 1024 * 1024
# Control (ESC, BEL, CR, C1 CSI...), format (bidi overrides, zero-width) and line separators.
_UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def inside_folder(folder: Path, name: str) -> Path | None:
    """``folder / name`` resolved (links followed), or None when that lands outside ``folder``."""
    candidate = (folder / name).resolve()
    return candidate if candidate.parent == folder.resolve() else None


def read_capped(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``max_bytes``.

    The file type is checked before opening (a FIFO would block, a device read forever) and
    again on the opened descriptor, in case the path was swapped in between.

    Raises:
        BundleError: missing, not a regular file, larger than ``max_bytes``, or unreadable.
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise BundleError(f"{path} is not a regular file")
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise BundleError(f"{path} is not a regular file")
            payload = handle.read(max_bytes + 1)
    except FileNotFoundError as error:
        raise BundleError(f"{path} does not exist") from error
    except OSError as error:
        raise BundleError(f"cannot read {path}: {error.strerror or error}") from error
    if len(payload) > max_bytes:
        raise BundleError(f"{path} is larger than {max_bytes} bytes, more than it can be")
    return payload


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse ``path`` (UTF-8 JSON, a regular file of at most ``max_bytes``).

    Raises:
        BundleError: unreadable (see ``read_capped``), not UTF-8, not JSON, or nested too deeply
            for the parser (``RecursionError``).
    """
    payload = read_capped(path, max_bytes)
    try:
        return json.loads(payload.decode("utf-8"))
    except RecursionError as error:
        raise BundleError(f"{path} is not valid JSON: nested too deeply") from error
    except ValueError as error:  # UnicodeDecodeError, JSONDecodeError, a 5,000-digit number
        raise BundleError(f"{path} is not valid JSON: {error}") from error


def escape_unprintable(text: str) -> str:
    """``text`` with every control or format character written as an escape (``\\x1b``), so
    printing it cannot move the cursor, recolour or retitle a terminal, or reorder the line."""
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) in _UNPRINTABLE_CATEGORIES
        else char
        for char in text
    )
