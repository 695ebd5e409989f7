"""A fixed noise floor under everything the cascade hears (``--noise-floor DBFS``).

Models trained from text hear their keyword at 0-30 dB SNR, speech at -32 to -8 dBFS: no
training clip's noise is quieter than about -62 dBFS. People's recordings are often far
cleaner (the real-speech dev set's median floor is about -82 dBFS), and there the low-level
detail where a recording differs from synthetic speech is heard as it never was in training.
A floor of pink noise at the training's quietest level masks that detail; louder noise in the
room masks it anyway, so the floor changes little once the room is noisy.

The noise is one seeded period of ``PERIOD_SAMPLES`` pink noise (shaped in the frequency
domain, so it loops without a seam), scaled to ``dbfs`` RMS, added sample by sample from the
start of the stream and rounded: the same audio gives the same output in any chunking, and a
device can play the same table from flash or make its own floor.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from kws.errors import ThresholdError

PERIOD_SAMPLES = 1 << 16  # 4.1 s at 16 kHz
SEED = 0
LOWEST_DBFS = -120.0
HIGHEST_DBFS = -20.0


def pink_period(samples: int = PERIOD_SAMPLES, seed: int = SEED) -> npt.NDArray[np.float64]:
    """``samples`` of pink noise at unit RMS and zero mean whose end joins its start."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    bins = np.arange(spectrum.size, dtype=np.float64)
    spectrum[0] = 0.0
    spectrum[1:] /= np.sqrt(bins[1:])
    noise: npt.NDArray[np.float64] = np.fft.irfft(spectrum, samples)
    return noise / float(np.sqrt(np.mean(noise**2)))


class NoiseFloor:
    """Adds the floor to int16 PCM, continuing where the last call stopped (``reset`` starts
    over).

    Raises:
        ThresholdError: ``dbfs`` is not a number from ``LOWEST_DBFS`` to ``HIGHEST_DBFS``.
    """

    def __init__(self, dbfs: float) -> None:
        if (
            isinstance(dbfs, bool)
            or not isinstance(dbfs, (int, float))
            or not math.isfinite(dbfs)
            or not LOWEST_DBFS <= dbfs <= HIGHEST_DBFS
        ):
            raise ThresholdError(
                f"noise floor must be {LOWEST_DBFS:g} to {HIGHEST_DBFS:g} dBFS, got {dbfs!r}"
            )
        self.dbfs = float(dbfs)
        self._table = pink_period() * (32768.0 * 10.0 ** (self.dbfs / 20.0))
        self._position = 0

    def reset(self) -> None:
        self._position = 0

    def add(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """``pcm`` with the floor's next ``pcm.size`` samples added (a new array)."""
        start = self._position % PERIOD_SAMPLES
        self._position = (start + pcm.size) % PERIOD_SAMPLES
        floor = np.take(self._table, np.arange(start, start + pcm.size), mode="wrap")
        mixed: npt.NDArray[np.int16] = np.clip(np.rint(pcm + floor), -32768, 32767).astype(np.int16)
        return mixed
