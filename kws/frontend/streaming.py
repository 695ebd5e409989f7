"""Public entry points: the streaming ``Frontend`` and the batch ``compute_features``.

Both run the same kernel (``kws.frontend.pipeline.process_chunk_into``): batch is one call over the
whole signal from a fresh state, streaming is one call per chunk with the state carried, so the
two give bit-identical frames for any chunking.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.errors import AudioError
from kws.frontend.config import FrontendConfig
from kws.frontend.fft import has_frozen_kernels
from kws.frontend.kernel_cache import check_frontend_cache, on_first_call
from kws.frontend.pipeline import (
    buffer_views,
    buffers_len,
    pack,
    process_chunk_into,
    process_mixed_chunk_into,
)

_INT16 = np.dtype(np.int16)
_UINT16 = np.dtype(np.uint16)
_announced = False
check_frontend_cache(process_chunk_into)  # before any kernel is loaded from the cache


def kernels_cached() -> bool | None:
    """Whether Numba has the frontend's kernel compiled in this process or in its on-disk
    cache (its index file), or None when that cannot be told (a Numba without these
    internals)."""
    if process_chunk_into.overloads:
        return True
    dispatcher: Any = process_chunk_into
    try:
        index_path = dispatcher._cache._cache_file._index_path
    except AttributeError:
        return None
    return Path(index_path).is_file()


def announce_first_compile() -> None:
    """Say once, on stderr, that the frontend is being compiled when nothing is cached yet:
    after an install the first run spends 10-20 s there, and silence looks like a hang."""
    global _announced
    if not _announced and kernels_cached() is False:
        print(
            "kws: compiling the frontend for this machine, once (10-20 s; later runs load it)",
            file=sys.stderr,
            flush=True,
        )
    _announced = True


def validate_pcm(pcm: Any) -> npt.NDArray[np.int16]:
    """Return ``pcm`` as a contiguous 1-D int16 array, or raise ``AudioError`` saying why not."""
    if (  # the always-on path's case, checked first and cheaply (every 10 ms, for hours)
        type(pcm) is np.ndarray
        and pcm.dtype is _INT16
        and pcm.ndim == 1
        and pcm.flags.carray  # C-contiguous, aligned and writeable
    ):
        return pcm
    if not isinstance(pcm, np.ndarray):
        raise AudioError(
            f"audio must be a numpy int16 array, got {type(pcm).__name__}; "
            "use kws.audio.read_audio() or np.asarray(samples, dtype=np.int16)"
        )
    if pcm.ndim != 1:
        raise AudioError(
            f"audio must be mono (1-D), got shape {pcm.shape}; down-mix channels first, "
            "e.g. pcm.mean(axis=1).astype(np.int16)"
        )
    if pcm.dtype != np.int16:
        if np.issubdtype(pcm.dtype, np.floating) and pcm.size and not np.all(np.isfinite(pcm)):
            raise AudioError("audio contains NaN or infinite samples; the frontend takes int16 PCM")
        raise AudioError(
            f"audio must be int16 PCM at 16 kHz, got dtype {pcm.dtype}; floats in [-1, 1] "
            "convert with (np.clip(x, -1, 1) * 32767).astype(np.int16)"
        )
    if not pcm.flags.carray:
        # A read-only, strided or unaligned array would make Numba compile (and cache) a
        # second copy of the whole kernel for that array type, and the unchecked calls'
        # machine code takes one type only; copying a chunk is far cheaper.
        return np.array(pcm, dtype=np.int16, order="C")
    return pcm


_RING_MESSAGE = (
    "ring must be aligned writeable C-contiguous uint16 (rows, channels), a row per frame"
)


class Frontend:
    """Streaming feature extractor: feed chunks of any length, get the frames they complete.

    ``process(pcm)`` returns uint16 features ``(n_frames, num_channels)``, one frame per hop
    once a full window has arrived; state (unframed samples, noise estimate) carries over.
    """

    def __init__(self, config: FrontendConfig | None = None) -> None:
        announce_first_compile()
        self.config = config if config is not None else FrontendConfig()
        packed = pack(self.config)
        self._tables = packed.tables
        # Everything the kernel keeps between calls, and its scratch, in one array.
        self._buffers = np.zeros(buffers_len(packed), dtype=np.int64)
        self._state, self._pending, _, _ = buffer_views(self._buffers, packed)
        # True selects the vectorised kernels frozen for the default FFT size, None the generic
        # ones (a different argument type, so Numba compiles each variant only when used).
        self._frozen_512 = True if has_frozen_kernels(self.config) else None
        self._window_samples = self.config.window_samples
        self._hop_samples = self.config.hop_samples
        # the unchecked calls' kernels: machine code from their first call on (``machine_code``)
        self._kernel = on_first_call(process_chunk_into, self._keep_kernel)
        self._mixed_kernel = on_first_call(process_mixed_chunk_into, self._keep_mixed_kernel)

    def process(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.uint16]:
        """Features of the frames this chunk completes (possibly none).

        Raises ``AudioError`` unless ``pcm`` is a 1-D int16 array.
        """
        samples = validate_pcm(pcm)
        frames = self.frames_completed(samples.shape[0])
        features = np.empty((frames, self.config.num_channels), dtype=np.uint16)
        self.process_into_unchecked(samples, features, 0)
        return features

    def process_into(
        self, pcm: npt.NDArray[np.int16], ring: npt.NDArray[np.uint16], first_row: int
    ) -> int:
        """``process`` writing the frames into rows of ``ring`` from ``first_row`` on, wrapping
        around at its end, instead of a new array; returns how many frames.

        Raises ``AudioError`` unless ``pcm`` is a 1-D int16 array, ``ValueError`` if ``ring``
        is not an aligned, writeable, C-contiguous uint16 ``(rows, num_channels)`` array with a
        row for every frame ``pcm`` completes (then nothing is consumed).
        """
        # ``validate_pcm`` admits the always-on path's chunks first and cheaply; the ring's
        # shape is checked by the kernel (-1: nothing done).
        pcm = validate_pcm(pcm)
        if not (
            isinstance(ring, np.ndarray)
            and ring.dtype == _UINT16
            and ring.ndim == 2
            and ring.flags.carray  # C-contiguous, aligned and writeable
        ):
            raise ValueError(_RING_MESSAGE)
        count = self.process_into_unchecked(pcm, ring, first_row)
        if count < 0:
            raise ValueError(_RING_MESSAGE)
        return count

    def process_into_unchecked(
        self, pcm: npt.NDArray[np.int16], ring: npt.NDArray[np.uint16], first_row: int
    ) -> int:
        """``process_into`` without its checks, for a caller that owns a ring it made right
        and passes a 1-D int16 ``pcm`` that is writeable, aligned and C-contiguous (the
        cascade, every 10-30 ms: the checks cost about a tenth of a three-frame call). The
        kernel is called as machine code (``kernel_cache.machine_code``): arguments of other
        types than those described are read wrongly, not refused. Returns -1, nothing
        consumed, where ``ring`` has the wrong channels or too few rows."""
        count: int = self._kernel(
            pcm, self._tables, self._buffers, self._frozen_512, ring, first_row
        )
        return count

    def process_mixed_into_unchecked(
        self,
        pcm: npt.NDArray[np.int16],
        addend: npt.NDArray[np.int32],
        addend_start: int,
        mixed: npt.NDArray[np.int16],
        ring: npt.NDArray[np.uint16],
        first_row: int,
    ) -> int:
        """``process_into_unchecked`` of ``pcm`` plus ``addend`` looped from ``addend_start``,
        saturated to int16 (a noise floor's table), in one kernel call; the sum is left in
        ``mixed[:pcm.size]`` (``addend`` int32 and ``mixed`` int16, 1-D, writeable, aligned and
        C-contiguous; ``mixed`` may be ``pcm`` itself). Returns -1, nothing consumed, where
        ``mixed`` is shorter than ``pcm`` (or as ``process_into_unchecked``, whose contract on
        the argument types holds here too)."""
        count: int = self._mixed_kernel(
            pcm,
            addend,
            addend_start,
            mixed,
            self._tables,
            self._buffers,
            self._frozen_512,
            ring,
            first_row,
        )
        return count

    def kernel_arguments(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Any]:
        """The kernel's ``tables``, ``buffers`` (this stream's state, reset in place) and
        ``frozen_512``, for a caller that calls ``pipeline.process_chunk_into`` inside its own
        kernel (``kws.always_on``)."""
        return self._tables, self._buffers, self._frozen_512

    def _keep_kernel(self, compiled: Any) -> None:
        self._kernel = compiled

    def _keep_mixed_kernel(self, compiled: Any) -> None:
        self._mixed_kernel = compiled

    def frames_completed(self, samples: int) -> int:
        """How many frames ``samples`` more samples would complete."""
        total = int(self._state[0]) + samples
        window, hop = self._window_samples, self._hop_samples
        return 0 if total < window else (total - window) // hop + 1

    def reset(self) -> None:
        """Forget all audio seen so far (as a freshly built ``Frontend``)."""
        self._buffers[:] = 0

    @property
    def pending_samples(self) -> int:
        """Samples received but not yet part of a completed frame's hop."""
        return int(self._state[0])


def compute_features(
    pcm: npt.NDArray[np.int16], config: FrontendConfig | None = None
) -> npt.NDArray[np.uint16]:
    """Batch features of a whole signal: uint16 ``(n_frames, num_channels)``.

    ``n_frames = (len(pcm) - window) // hop + 1`` (0 when shorter than one window). Identical
    to streaming the same audio through a fresh ``Frontend``. Raises ``AudioError`` on bad input.
    """
    return Frontend(config).process(pcm)
