"""kws: an always-on INT8 keyword-spotting cascade for battery-powered devices.

The public face is small::

    import kws
    cascade = kws.load_bundle("hey_jarvis")  # a shipped bundle's name, or a folder
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
    """Load a model bundle (a folder, or a known bundle's name as ``kws models`` lists them)
    and return a ready ``Cascade``.

    Imported lazily so that ``import kws`` stays cheap (no interpreter, no JIT).

    Raises:
        BundleError: neither an existing path nor a known name, or a bundle that is corrupt.
    """
    from kws.defaults import resolve_bundle
    from kws.loading import load_cascade

    return load_cascade(resolve_bundle(path), **overrides)
