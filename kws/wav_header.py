"""RIFF/WAVE headers read by kws itself, for what libsndfile does not tell: where the audio
starts in a stream that cannot be seeked (stdin), and whether more audio follows the data chunk
than its header declares (libsndfile trusts the declared size and reads only that much).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kws.errors import AudioError

CHUNK_HEADER_BYTES = 8  # four-letter id + little-endian uint32 size
MAX_HEADER_BYTES = 1 << 20  # chunks before the audio (LIST, bext, JUNK) beyond this: not WAV
WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_ALAW = 0x0006
WAVE_FORMAT_MULAW = 0x0007
WAVE_FORMAT_EXTENSIBLE = 0xFFFE  # the real tag is the first two bytes of its subformat GUID
TRAILING_TAGS = (b"ID3", b"TAG")  # ID3v2 / ID3v1 tags some tools append to a WAV: not audio
UNKNOWN_LENGTH_BYTES = 0x7F00_0000  # a data size this large is a streaming writer's placeholder


@dataclass(frozen=True)
class WavFormat:
    """What a WAV header says about its audio."""

    format_tag: int  # WAVE_FORMAT_*; an extensible header's subformat tag
    channels: int
    rate_hz: int
    bits_per_sample: int
    block_align: int  # bytes per frame, all channels
    data_offset: int  # the first audio byte, counted from the start of the file
    data_bytes: int  # as the data chunk's header declares it


def is_chunk_header(header: bytes, room_bytes: int) -> bool:
    """Whether 8 bytes read like a RIFF chunk header (a printable four-letter id and a size that
    fits in the ``room_bytes`` that follow them; a missing final pad byte is allowed)."""
    if len(header) < CHUNK_HEADER_BYTES:
        return False
    if not all(0x20 <= byte <= 0x7E for byte in header[:4]):
        return False
    size = int(struct.unpack("<I", header[4:8])[0])
    return size <= room_bytes


def _format(body: bytes) -> tuple[int, int, int, int, int]:
    """(format tag, channels, rate, bits per sample, block align) from a fmt chunk's body."""
    if len(body) < 16:
        raise AudioError(f"WAV fmt chunk of {len(body)} bytes, at least 16 expected")
    tag, channels, rate_hz, _, block_align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
        (tag,) = struct.unpack("<H", body[24:26])
    if channels == 0 or rate_hz == 0 or block_align == 0:
        raise AudioError(
            f"WAV header with {channels} channels, {rate_hz} Hz, {block_align}-byte frames"
        )
    return tag, channels, rate_hz, bits, block_align


def read_wav_header(read: Callable[[int], bytes]) -> WavFormat | None:
    """Read a stream from its first byte up to its first audio byte; ``read(n)`` returns up to
    n bytes (fewer only at the end). None when the stream does not start with RIFF/WAVE.

    Raises:
        AudioError: a RIFF/WAVE header that ends, or reaches the audio, before its format.
    """
    start = read(12)
    if len(start) < 12 or start[:4] != b"RIFF" or start[8:12] != b"WAVE":
        return None
    offset = 12
    fmt: tuple[int, int, int, int, int] | None = None
    while offset <= MAX_HEADER_BYTES:
        header = read(CHUNK_HEADER_BYTES)
        if len(header) < CHUNK_HEADER_BYTES:
            raise AudioError("WAV header ends before its audio")
        chunk_id, size = header[:4], struct.unpack("<I", header[4:8])[0]
        offset += CHUNK_HEADER_BYTES
        if chunk_id == b"data":
            if fmt is None:
                raise AudioError("WAV header has no fmt chunk before its audio")
            return WavFormat(*fmt, data_offset=offset, data_bytes=size)
        padded = size + size % 2  # RIFF pads every chunk to an even size
        if chunk_id == b"fmt " and padded <= MAX_HEADER_BYTES:
            body = read(padded)
            fmt = _format(body[:size])
        else:
            skipped = 0
            while skipped < padded and offset + skipped <= MAX_HEADER_BYTES:
                piece = read(min(65_536, padded - skipped))
                if not piece:
                    raise AudioError("WAV header ends before its audio")
                skipped += len(piece)
        offset += padded
    raise AudioError(f"WAV header has no audio in its first {MAX_HEADER_BYTES} bytes")


class PatchedFile:
    """A file read through, with some of its bytes replaced: a WAV whose RIFF and data chunk
    sizes say what the file really holds, for libsndfile to read all of it."""

    def __init__(self, path: Path, patches: dict[int, bytes]) -> None:
        self._file: BinaryIO = path.open("rb")
        self._patches = patches
        self._patched_up_to = max((o + len(r) for o, r in patches.items()), default=0)

    def read(self, size: int = -1) -> bytes:
        start = self._file.tell()
        data = self._file.read(size)
        if start >= self._patched_up_to:
            return data  # past the header: the file as it is
        patched = bytearray(data)
        for offset, replacement in self._patches.items():
            for index, byte in enumerate(replacement):
                if 0 <= offset + index - start < len(patched):
                    patched[offset + index - start] = byte
        return bytes(patched)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def __enter__(self) -> PatchedFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._file.close()


@dataclass(frozen=True)
class UnderstatedWav:
    """A WAV whose data chunk declares less than follows it to the end of the file."""

    wav: WavFormat
    present_bytes: int  # audio bytes from the data chunk's start to the end of the file

    def patches(self) -> dict[int, bytes]:
        """The RIFF and data chunk sizes that say what the file holds, by byte offset."""
        riff_bytes = min(self.wav.data_offset + self.present_bytes - 8, 0xFFFF_FFFF)
        return {
            4: struct.pack("<I", riff_bytes),
            self.wav.data_offset - 4: struct.pack("<I", self.present_bytes),
        }

    def warning(self, name: str) -> str:
        declared_s = self.wav.data_bytes / self.wav.block_align / self.wav.rate_hz
        present_s = self.present_bytes / self.wav.block_align / self.wav.rate_hz
        return (
            f"{name}: the WAV header declares {declared_s:.2f} s of audio, the file holds "
            f"{present_s:.2f} s; read all of it"
        )


def understated_wav(path: Path) -> UnderstatedWav | None:
    """The WAV's layout when its data chunk under-states the audio after it (a recorder that
    never wrote the final size, a bad edit): bytes after the declared data that are not the
    next chunk are audio. None for any other file, or one that cannot be checked."""
    try:
        file_bytes = path.stat().st_size
        with path.open("rb") as handle:
            wav = read_wav_header(handle.read)
            if wav is None:
                return None
            data_end = wav.data_offset + wav.data_bytes
            handle.seek(data_end)
            after = handle.read(CHUNK_HEADER_BYTES + 1)
    except (OSError, AudioError):
        return None  # libsndfile says what is wrong with it
    beyond = file_bytes - data_end
    if beyond < max(CHUNK_HEADER_BYTES, wav.block_align) or after.startswith(TRAILING_TAGS):
        return None
    if is_chunk_header(after, beyond - CHUNK_HEADER_BYTES + 1):
        return None  # the next chunk (an odd-sized data chunk not padded, as libsndfile writes)
    if wav.data_bytes % 2 and is_chunk_header(after[1:], beyond - CHUNK_HEADER_BYTES - 1):
        return None  # the next chunk after the pad byte
    present = min(file_bytes - wav.data_offset, 0xFFFF_FFFF)
    return UnderstatedWav(wav, present - present % wav.block_align)
