"""A fixed noise floor under everything the cascade hears (``--noise-floor DBFS``).

Models trained from text hear their keyword at 0-30 dB SNR, speech at -32 to -8 dBFS: no
training clip's noise is quieter than about -62 dBFS. People's recordings are often far
cleaner (the real-speech dev set's median floor is about -82 dBFS), and there the low-level
detail where a recording differs from synthetic speech is heard as it never was in training.
A floor of pink noise at the training's quietest level masks that detail; louder noise in the
room masks it anyway, so the floor changes little once the room is noisy.

The noise is one seeded period of ``PERIOD_SAMPLES`` pink noise (shaped in the frequency
domain, so it loops without a seam), scaled to ``dbfs`` RMS and rounded to int16, added sample
by sample from the start of the stream, clipped to int16: the same audio gives the same output
in any chunking, and a device can play the same table from flash or make its own floor.

A bundle records its level (``noise_floor_dbfs`` in ``manifest.json``); ``kws train`` adds
the same floor to every clip and stream it makes (``DEFAULT_DBFS`` unless told otherwise), so
validation, thresholds and the test split are measured through it, and ``load_cascade`` puts
it under what the cascade hears unless the caller says otherwise.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from kws.errors import ThresholdError

PERIOD_SAMPLES = 1 << 16  # 4.1 s at 16 kHz
SEED = 0
LOWEST_DBFS = -120.0
HIGHEST_DBFS = -20.0
# Where the training data's noise stops: speech at -32 to -8 dBFS over noise at 0-30 dB SNR
# (``training.data.clips``) never has a floor under about -62 dBFS.
DEFAULT_DBFS = -60.0
# ``load_cascade(noise_floor_dbfs=FROM_BUNDLE)``: the level the bundle records (none if it
# records none).
FROM_BUNDLE: Final = "bundle"
FloorChoice = float | None | Literal["bundle"]


def floor_problem(dbfs: Any) -> str | None:
    """Why ``dbfs`` cannot be a noise floor's level, or None when it can."""
    if (
        isinstance(dbfs, bool)
        or not isinstance(dbfs, (int, float))
        or not math.isfinite(dbfs)
        or not LOWEST_DBFS <= dbfs <= HIGHEST_DBFS
    ):
        return f"must be {LOWEST_DBFS:g} to {HIGHEST_DBFS:g} dBFS, got {dbfs!r}"
    return None


def floor_rms(dbfs: float) -> float:
    """The floor's RMS in int16 units (full scale 32768) at ``dbfs``."""
    return float(32768.0 * 10.0 ** (dbfs / 20.0))


def parse_floor(text: str) -> float | None:
    """A command line's ``--noise-floor``: a level in dBFS, or "off" for none.

    Raises:
        ThresholdError: neither "off" nor a level ``floor_problem`` accepts.
    """
    if text.strip().lower() in ("off", "none"):
        return None
    try:
        dbfs = float(text)
    except ValueError:
        dbfs = text  # type: ignore[assignment]  # reported below as it was given
    problem = floor_problem(dbfs)
    if problem is not None:
        raise ThresholdError(f"noise floor {problem} (or 'off')")
    return dbfs


@functools.lru_cache(maxsize=4)
def pink_period(samples: int = PERIOD_SAMPLES, seed: int = SEED) -> npt.NDArray[np.float64]:
    """``samples`` of pink noise at unit RMS and zero mean whose end joins its start (made once
    per process; read-only)."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    bins = np.arange(spectrum.size, dtype=np.float64)
    spectrum[0] = 0.0
    spectrum[1:] /= np.sqrt(bins[1:])
    noise: npt.NDArray[np.float64] = np.fft.irfft(spectrum, samples)
    noise /= float(np.sqrt(np.mean(noise**2)))
    noise.flags.writeable = False
    return noise


class NoiseFloor:
    """Adds the floor to int16 PCM, continuing where the last call stopped (``reset`` starts
    over).

    Raises:
        ThresholdError: ``dbfs`` is not a number from ``LOWEST_DBFS`` to ``HIGHEST_DBFS``.
    """

    def __init__(self, dbfs: float) -> None:
        problem = floor_problem(dbfs)
        if problem is not None:
            raise ThresholdError(f"noise floor {problem}")
        self.dbfs = float(dbfs)
        # Rounded once: pcm + round(floor) is round(pcm + floor) for integer pcm, one add per
        # sample as a device would do it from a table. Left writeable, as every array the
        # kernels take (a read-only one is another Numba type, compiled again); nothing writes it.
        self.table = np.rint(pink_period() * floor_rms(self.dbfs)).astype(np.int32)
        self._position = 0
        from kws.frontend.bits import add_looped_saturating  # Numba: not for a manifest's reader

        self._add = add_looped_saturating

    def reset(self) -> None:
        self._position = 0

    def add(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """``pcm`` with the floor's next ``pcm.size`` samples added (a new array)."""
        mixed = np.empty(pcm.size, np.int16)
        self.add_into(np.ascontiguousarray(pcm, np.int16), mixed)
        return mixed

    def add_into(self, pcm: npt.NDArray[np.int16], out: npt.NDArray[np.int16]) -> None:
        """``add`` written into ``out`` (``pcm``'s size; both contiguous int16)."""
        self._add(pcm, self.table, self.take(pcm.size), out)

    def take(self, samples: int) -> int:
        """Where in ``table`` the next ``samples`` samples' floor starts; the floor moves on
        past them (for a caller that adds ``table`` itself, looped: the cascade, inside the
        frontend's kernel)."""
        start = self._position
        self._position = (start + samples) % PERIOD_SAMPLES
        return start


def add_floor(pcm: npt.NDArray[np.int16], dbfs: float | None) -> npt.NDArray[np.int16]:
    """``pcm`` (one stream from its start) with the floor at ``dbfs`` under it; ``pcm`` itself
    when ``dbfs`` is None."""
    return pcm if dbfs is None else NoiseFloor(dbfs).add(pcm)
