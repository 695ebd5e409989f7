"""kws: an always-on INT8 keyword-spotting cascade for battery-powered devices.

The public face is small::

    import kws
    cascade = kws.load_bundle("models/hey_jarvis")
    for detection in cascade.process(pcm_int16):
        print(detection.time_s, detection.keyword, detection.score)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kws.errors import KwsError

__version__ = "0.1.0"

__all__ = ["KwsError", "__version__", "load_bundle"]

if TYPE_CHECKING:
    from kws.cascade import Cascade


def load_bundle(path: str | Any, **overrides: Any) -> Cascade:
    """Load a model bundle folder and return a ready ``Cascade``.

    Imported lazily so that ``import kws`` stays cheap (no interpreter, no JIT).
    """
    from kws.cascade import load_cascade

    return load_cascade(path, **overrides)
