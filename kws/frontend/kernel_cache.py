"""Numba's on-disk cache of the frontend's kernels, kept in step with their sources; and a
kernel's machine code, for the always-on path to call without Numba's dispatch.

Numba checks a cached function against its own file only: when a kernel it inlines from another
module changes (``bits.wrap_int16`` inside ``pipeline.process_chunk_into``), it still loads the
old machine code. So the cache holds a digest of every frontend source beside the kernels; when
the sources differ from it, the frontend's cached kernels (files Numba wrote for kws) are
removed before any is loaded, and Numba compiles afresh (``streaming`` announces it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numba
from numba.core.options import DefaultOptions

if TYPE_CHECKING:
    from numba.core.dispatcher import Dispatcher

FRONTEND_DIR = Path(__file__).resolve().parent
STAMP_NAME = "kws-frontend-sources.sha256"
CACHE_SUFFIXES = (".nbi", ".nbc")

_Kernel = TypeVar("_Kernel", bound=Callable[..., object])
# whether this Numba has the option ``unrefcounted`` and ``refcounted`` set
HAS_REFCOUNT_OPTION = hasattr(DefaultOptions, "_nrt")


def unrefcounted(kernel: _Kernel) -> Dispatcher[_Kernel]:
    """``numba.njit(cache=True)`` without reference counting, for kernels of the always-on
    path that allocate nothing.

    Numba counts references to every array a kernel makes, views of its arguments included:
    an atomic increment and decrement each, about 1.1 us of a three-frame frontend call with
    its dozens of views (a twentieth of a 10 ms stride). Its ``_nrt`` option turns that off
    (Numba's own tests use it; where this Numba lacks it, the kernel is compiled as usual). A
    kernel called from one inherits the option unless it sets its own: one that allocates is
    ``refcounted``.
    """
    return _compiled(kernel, refcounts=False)


def refcounted(kernel: _Kernel) -> Dispatcher[_Kernel]:
    """``numba.njit(cache=True)`` with reference counting even when called from an
    ``unrefcounted`` kernel: for a kernel that allocates arrays."""
    return _compiled(kernel, refcounts=True)


def _compiled(kernel: _Kernel, refcounts: bool) -> Dispatcher[_Kernel]:
    options: Any = {"_nrt": refcounts} if HAS_REFCOUNT_OPTION else {}
    dispatcher: Dispatcher[_Kernel] = numba.njit(kernel, cache=True, **options)
    return dispatcher


def sources_digest(sources: Iterable[Path]) -> str:
    """sha256 over the sources' names and bytes, in name order."""
    digest = hashlib.sha256()
    for path in sorted(sources, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def drop_stale_kernels(cache_dir: Path, sources: list[Path]) -> bool:
    """Remove the cached kernels of ``sources``' modules from ``cache_dir`` when they were
    compiled from other sources than today's (or when no digest says which), then record
    today's digest. Returns whether anything was removed. Another process doing the same at
    once is harmless: a file already gone is skipped."""
    digest = sources_digest(sources)
    stamp = cache_dir / STAMP_NAME
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    modules = {path.stem for path in sources}
    removed = False
    for path in cache_dir.glob("*") if cache_dir.is_dir() else ():
        if path.suffix in CACHE_SUFFIXES and path.name.split(".", 1)[0] in modules:
            try:
                path.unlink()
                removed = True
            except FileNotFoundError:
                pass
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass  # a read-only install: Numba caches elsewhere or not at all
    return removed


def check_frontend_cache(dispatcher: object, also: Iterable[Path] = ()) -> None:
    """``drop_stale_kernels`` for the folder where Numba caches ``dispatcher`` (a frontend
    kernel, or one of the modules ``also`` names, whose kernels inline the frontend's), over
    the frontend's sources and ``also``; nothing when this Numba does not say where (its
    internals changed)."""
    try:
        cache_dir = Path(dispatcher._cache._cache_path)  # type: ignore[attr-defined]
    except AttributeError:
        return
    drop_stale_kernels(cache_dir, [*sorted(FRONTEND_DIR.glob("*.py")), *also])


def machine_code(dispatcher: Any, example_args: tuple[Any, ...]) -> Any:
    """The function Numba compiled (or loads from its cache) for ``example_args``' types,
    called without the dispatcher's per-call matching of argument types (~0.1 us an argument:
    a tenth of a 10 ms stride's Python). Every later call must pass arguments of exactly those
    types (an array of another layout or dtype is read wrongly, not refused): for callers that
    own their arrays. The dispatcher itself where this Numba lacks the internals."""
    try:
        signature = tuple(numba.typeof(arg) for arg in example_args)  # type: ignore[no-untyped-call]
        return dispatcher.compile(signature)
    except AttributeError:
        return dispatcher


def on_first_call(dispatcher: Any, keep: Callable[[Any], None]) -> Callable[..., Any]:
    """A stand-in for ``dispatcher`` whose first call takes its ``machine_code`` for that
    call's argument types, hands it to ``keep`` (to put where the stand-in was: later calls go
    straight to the machine code) and returns the call's result."""

    def first_call(*arguments: Any) -> Any:
        compiled = machine_code(dispatcher, arguments)
        keep(compiled)
        return compiled(*arguments)

    return first_call
