"""The live microphone: sounddevice (PortAudio) at 16 kHz mono int16, read in a callback that
only copies into a bounded queue. A full queue counts an overflow (audio dropped, reported),
never blocks the audio thread, and never drops silently.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.errors import DeviceError
from kws.frontend.config import SAMPLE_RATE_HZ

BLOCK_SAMPLES = 480  # 30 ms: one tiny-model stride
QUEUE_BLOCKS = 200  # 6 s of audio before the consumer is considered too slow


def import_sounddevice() -> Any:
    """sounddevice, or a ``DeviceError`` that says which system package is missing."""
    try:
        import sounddevice
    except OSError as error:
        raise DeviceError(
            "PortAudio is not installed; on Debian/Ubuntu: sudo apt-get install libportaudio2"
        ) from error
    except ImportError as error:
        raise DeviceError(
            "the live microphone needs sounddevice: pip install sounddevice"
        ) from error
    return sounddevice


def list_input_devices() -> list[tuple[int, str, int]]:
    """(index, name, input channels) for every device with an input."""
    sounddevice = import_sounddevice()
    return [
        (i, str(d["name"]), int(d["max_input_channels"]))
        for i, d in enumerate(sounddevice.query_devices())
        if d["max_input_channels"] > 0
    ]


@dataclass
class SourceStats:
    blocks: int = 0
    dropped_blocks: int = 0
    input_overflows: int = 0  # PortAudio's own overflow flag

    @property
    def dropped_s(self) -> float:
        return self.dropped_blocks * BLOCK_SAMPLES / SAMPLE_RATE_HZ


class MicrophoneSource:
    """Context manager yielding int16 blocks from an input device via ``read(timeout_s)``."""

    def __init__(self, device: int | None = None, queue_blocks: int = QUEUE_BLOCKS) -> None:
        self.device = device
        self.stats = SourceStats()
        self._queue: queue.Queue[npt.NDArray[np.int16]] = queue.Queue(maxsize=queue_blocks)
        self._stream: Any = None

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status and getattr(status, "input_overflow", False):
            self.stats.input_overflows += 1
        try:
            self._queue.put_nowait(np.array(indata[:, 0], dtype=np.int16))
            self.stats.blocks += 1
        except queue.Full:
            self.stats.dropped_blocks += 1

    def __enter__(self) -> MicrophoneSource:
        sounddevice = import_sounddevice()
        try:
            self._stream = sounddevice.InputStream(
                samplerate=SAMPLE_RATE_HZ,
                channels=1,
                dtype="int16",
                blocksize=BLOCK_SAMPLES,
                device=self.device,
                callback=self._callback,
            )
            self._stream.start()
        except (sounddevice.PortAudioError, ValueError) as error:
            raise DeviceError(
                f"cannot open the input device: {error} (see kws listen --list-devices)"
            ) from error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()

    def read(self, timeout_s: float = 1.0) -> npt.NDArray[np.int16] | None:
        """The next block, or None if none arrived within ``timeout_s`` (device stalled)."""
        try:
            return self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None
