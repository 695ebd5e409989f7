"""Numba's cache of the frontend kernels follows every frontend source, not only the decorated
function's own file: an edit to an inlined kernel drops the stale machine code."""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import numpy.typing as npt
import pytest

from kws.frontend.kernel_cache import (
    HAS_REFCOUNT_OPTION,
    STAMP_NAME,
    drop_stale_kernels,
    refcounted,
    sources_digest,
    unrefcounted,
)


def _cached(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"machine code")


def test_an_edit_to_any_frontend_source_drops_that_frontends_cached_kernels(
    tmp_path: Path,
) -> None:
    sources = tmp_path / "src"
    sources.mkdir()
    (sources / "bits.py").write_text("def wrap(x): return x\n")
    (sources / "pipeline.py").write_text("from bits import wrap\n")
    files = sorted(sources.glob("*.py"))
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    ours = (
        "pipeline.process-55.py311.nbi",
        "pipeline.process-55.py311.1.nbc",
        "bits.wrap-3.py311.nbi",
    )
    _cached(cache, *ours, "other.kernel-1.py311.nbi", "pipeline.cpython-311.pyc")

    assert drop_stale_kernels(cache, files)  # no digest yet: nothing says what they were built from
    assert sorted(p.name for p in cache.iterdir()) == [
        STAMP_NAME,
        "other.kernel-1.py311.nbi",  # another package's kernel
        "pipeline.cpython-311.pyc",  # not Numba's
    ]
    assert (cache / STAMP_NAME).read_text() == sources_digest(files)

    _cached(cache, *ours)  # Numba compiles and caches again
    assert not drop_stale_kernels(cache, files)  # the same sources: the cache is kept
    assert all((cache / name).exists() for name in ours)

    (sources / "bits.py").write_text("def wrap(x): return -x\n")  # the inlined kernel changes
    assert drop_stale_kernels(cache, files)
    assert not any((cache / name).exists() for name in ours)


def test_the_real_cache_holds_the_digest_of_todays_sources() -> None:
    from kws.frontend.kernel_cache import FRONTEND_DIR
    from kws.frontend.pipeline import process_chunk_into

    cache_dir = Path(process_chunk_into._cache._cache_path)
    digest = (cache_dir / STAMP_NAME).read_text()
    assert digest == sources_digest(sorted(FRONTEND_DIR.glob("*.py")))


def test_machine_code_computes_what_the_dispatcher_does_and_falls_back_without_one() -> None:
    import numpy as np

    from kws.frontend.bits import lookup_into
    from kws.frontend.kernel_cache import machine_code

    table = np.arange(65536, dtype=np.int64).astype(np.int8)
    indices = np.arange(120, dtype=np.uint16).reshape(3, 40) * 517
    through_dispatch = np.zeros((3, 40), np.int8)
    direct = np.ones((3, 40), np.int8)
    lookup_into(table, indices, through_dispatch)
    compiled = machine_code(lookup_into, (table, indices, direct))
    assert compiled is not lookup_into
    compiled(table, indices, direct)
    np.testing.assert_array_equal(direct, through_dispatch)
    np.testing.assert_array_equal(direct, table[indices])

    def plain(x: int) -> int:  # not a Numba dispatcher: returned as it is
        return x

    assert machine_code(plain, (1,)) is plain


def test_a_stand_in_gives_way_to_machine_code_after_its_first_call() -> None:
    import numpy as np

    from kws.frontend.bits import lookup_into
    from kws.frontend.kernel_cache import on_first_call

    table = np.arange(65536, dtype=np.int64).astype(np.int8)
    indices = np.arange(80, dtype=np.uint16).reshape(2, 40) * 811
    kept: list[object] = []
    stand_in = on_first_call(lookup_into, kept.append)
    first, second = np.zeros((2, 40), np.int8), np.zeros((2, 40), np.int8)
    stand_in(table, indices, first)
    assert len(kept) == 1 and kept[0] is not lookup_into
    kept[0](table, indices, second)  # type: ignore[operator]
    np.testing.assert_array_equal(first, table[indices])
    np.testing.assert_array_equal(second, first)


@unrefcounted
def _sum_of_a_view(values: npt.NDArray[np.int64]) -> int:
    total: int = values[1:].sum()
    return total


@refcounted
def _allocates(size: int) -> int:
    return int(np.zeros(size).size)


@unrefcounted
def _calls_one_that_allocates(size: int) -> int:
    return int(_allocates(size))


@unrefcounted
def _allocates_unrefcounted(size: int) -> int:
    return int(np.zeros(size).size)


def test_unrefcounted_kernels_read_views_and_call_refcounted_ones_that_allocate() -> None:
    assert _sum_of_a_view(np.arange(5, dtype=np.int64)) == 10
    assert _calls_one_that_allocates(3) == 3
    if HAS_REFCOUNT_OPTION:  # without it both are ordinary kernels
        with pytest.raises(numba.core.errors.TypingError):
            _allocates_unrefcounted(3)
