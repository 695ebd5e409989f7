"""Audio on stdin (``kws detect -``): raw PCM, or a WAV, FLAC, Ogg or MP3 file piped in.

What arrives is told by its first bytes. Raw s16le 16 kHz mono
(``arecord -f S16_LE -r 16000 -c 1 | kws detect -``) is read as it arrives, up to 1 s per read,
so a live source is processed while it speaks and an endless pipe runs in constant memory. A WAV
(``RIFF``) is streamed the same way once its header is read: any rate, channels, 8/16/24/32-bit
PCM, float, A-law or mu-law, converted per read and resampled by a streaming resampler. FLAC
(``fLaC``), Ogg (``OggS``) and MP3 (``ID3`` or an MPEG audio frame) are read whole first, then
decoded like a file: libsndfile seeks in them.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from kws.audio import RepairCounts, convert_to_pcm16, decode_bytes
from kws.errors import AudioError
from kws.frontend.config import SAMPLE_RATE_HZ
from kws.wav_header import (
    CHUNK_HEADER_BYTES,
    UNKNOWN_LENGTH_BYTES,
    WAVE_FORMAT_ALAW,
    WAVE_FORMAT_IEEE_FLOAT,
    WAVE_FORMAT_MULAW,
    WAVE_FORMAT_PCM,
    WavFormat,
    is_chunk_header,
    read_wav_header,
)

STDIN_NAME = "-"
STDIN_CHUNK_BYTES = 32000  # at most 1 s of 16 kHz int16 per read
DECODED_CHUNK_S = 10.0  # FLAC, Ogg, MP3: decoded in blocks this long, like a file
CONTAINER_MAGIC = {b"fLaC": "FLAC", b"OggS": "Ogg", b"ID3": "MP3"}
# MPEG audio frame header fields, by version (3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5) and layer
# (3: I, 2: II, 1: III): bit rates in kbit/s by index, sample rates in Hz by index.
MPEG1_KBPS = {
    3: (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    2: (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
}
MPEG2_KBPS = {
    3: (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    1: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
MPEG_RATES_HZ = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
MPEG_HEADER_BYTES = 4


def _g711_tables() -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """Every A-law and mu-law byte decoded to int16, as ITU-T G.711 (and libsndfile) do."""
    codes = np.arange(256)
    ulaw = ~codes & 0xFF
    exponent, mantissa = (ulaw >> 4) & 7, ulaw & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    mulaw = np.where(ulaw & 0x80, -magnitude, magnitude)
    alaw = codes ^ 0x55
    exponent, mantissa = (alaw >> 4) & 7, alaw & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    alaw_pcm = np.where(alaw & 0x80, magnitude, -magnitude)
    return alaw_pcm.astype(np.int16), mulaw.astype(np.int16)


ALAW_PCM, MULAW_PCM = _g711_tables()


class _Stdin:
    """Reads from a file descriptor: ``read`` returns what one read gives (as a pipe delivers
    it), ``read_exactly`` waits for the count; bytes put back by ``unread`` come first."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pending = b""

    def read(self, size: int) -> bytes:
        if self._pending:
            block, self._pending = self._pending[:size], self._pending[size:]
            return block
        try:
            return os.read(self._fd, size)
        except OSError as error:
            raise AudioError(f"{STDIN_NAME}: cannot read stdin ({error.strerror})") from error

    def read_exactly(self, size: int) -> bytes:
        pieces, count = [], 0
        while count < size:
            piece = self.read(size - count)
            if not piece:
                break
            pieces.append(piece)
            count += len(piece)
        return b"".join(pieces)

    def unread(self, block: bytes) -> None:
        self._pending = block + self._pending

    def read_all(self) -> bytes:
        pieces = [self._pending]
        self._pending = b""
        while block := self.read(1 << 20):
            pieces.append(block)
        return b"".join(pieces)


def _mpeg_frame_bytes(header: bytes) -> int | None:
    """The length of the MPEG audio frame this 4-byte header starts, or None when it is not
    a valid frame header."""
    if len(header) < MPEG_HEADER_BYTES or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = header[1] >> 3 & 3, header[1] >> 1 & 3
    bitrate_index, rate_index, padding = header[2] >> 4, header[2] >> 2 & 3, header[2] >> 1 & 1
    if version == 1 or layer == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    kbps = (MPEG1_KBPS if version == 3 else MPEG2_KBPS)[layer][bitrate_index]
    rate_hz = MPEG_RATES_HZ[version][rate_index]
    if layer == 3:  # layer I: 4-byte slots
        return (12 * kbps * 1000 // rate_hz + padding) * 4
    samples_per_frame = 576 if layer == 1 and version != 3 else 1152
    return samples_per_frame // 8 * kbps * 1000 // rate_hz + padding


def _starts_mpeg_audio(stdin: _Stdin, head: bytes) -> bool:
    """Two MPEG audio frames in a row at the start (``head``, the first bytes, are still to be
    read): raw PCM whose first sample happens to look like a frame header is not MP3."""
    frame_bytes = _mpeg_frame_bytes(head)
    if frame_bytes is None:
        return False
    start = stdin.read_exactly(frame_bytes + MPEG_HEADER_BYTES)
    stdin.unread(start)
    return _mpeg_frame_bytes(start[frame_bytes:]) is not None


def stdin_chunks() -> Iterator[tuple[npt.NDArray[np.int16], list[str]]]:
    """Stdin as consecutive int16 16 kHz mono chunks with their warnings, whatever it carries
    (see the module docstring).

    Raises:
        AudioError: stdin is closed, cannot be read, or carries a file that cannot be decoded.
    """
    if sys.stdin is None:  # `kws detect - <&-`: file descriptor 0 may be a file kws opened
        raise AudioError(f"{STDIN_NAME}: stdin is closed; pipe audio in, or name a file")
    try:
        stdin = _Stdin(sys.stdin.fileno())
    except (OSError, ValueError) as error:
        raise AudioError(f"{STDIN_NAME}: stdin cannot be read ({error})") from error
    head = stdin.read_exactly(MPEG_HEADER_BYTES)
    stdin.unread(head)
    container = next(
        (kind for magic, kind in CONTAINER_MAGIC.items() if head[: len(magic)] == magic), None
    )
    if head == b"RIFF":
        yield from _wav_chunks(stdin)
    elif container is not None or _starts_mpeg_audio(stdin, head):
        yield from decode_bytes(stdin.read_all(), STDIN_NAME, DECODED_CHUNK_S)
    else:
        yield from _raw_chunks(stdin)


def _raw_chunks(stdin: _Stdin) -> Iterator[tuple[npt.NDArray[np.int16], list[str]]]:
    """Raw s16le 16 kHz mono, each read as soon as it arrives; an odd last byte is dropped."""
    leftover = b""
    while block := stdin.read(STDIN_CHUNK_BYTES):
        block = leftover + block
        usable = len(block) - len(block) % 2
        leftover = block[usable:]
        yield np.frombuffer(block[:usable], dtype="<i2").astype(np.int16), []


def _samples(wav: WavFormat, block: bytes) -> npt.NDArray[np.generic]:
    """Whole frames of WAV data as an array (frames x channels) convert_to_pcm16 takes."""
    width = wav.block_align // wav.channels
    if wav.format_tag in (WAVE_FORMAT_ALAW, WAVE_FORMAT_MULAW):
        table = ALAW_PCM if wav.format_tag == WAVE_FORMAT_ALAW else MULAW_PCM
        values: npt.NDArray[np.generic] = table[np.frombuffer(block, np.uint8)]
    elif wav.format_tag == WAVE_FORMAT_IEEE_FLOAT:
        values = np.frombuffer(block, "<f4" if width == 4 else "<f8")
    elif width == 3:  # 24-bit: placed in the top of an int32, so full scale stays full scale
        triplets = np.frombuffer(block, np.uint8).reshape(-1, 3).astype(np.int32)
        values = (triplets[:, 0] << 8) | (triplets[:, 1] << 16) | (triplets[:, 2] << 24)
    else:
        values = np.frombuffer(block, np.dtype({1: "u1", 2: "<i2", 4: "<i4"}[width]))
    return values.reshape(-1, wav.channels)


def _streamable(wav: WavFormat) -> bool:
    width = wav.block_align // wav.channels
    if wav.block_align % wav.channels or width * 8 != wav.bits_per_sample:
        return False
    if wav.format_tag == WAVE_FORMAT_PCM:
        return width in (1, 2, 3, 4)
    if wav.format_tag == WAVE_FORMAT_IEEE_FLOAT:
        return width in (4, 8)
    return wav.format_tag in (WAVE_FORMAT_ALAW, WAVE_FORMAT_MULAW) and width == 1


class _Recording:
    """A reader that keeps what it read, to hand a header it cannot stream to libsndfile."""

    def __init__(self, stdin: _Stdin) -> None:
        self.stdin = stdin
        self.seen = io.BytesIO()

    def read(self, size: int) -> bytes:
        block = self.stdin.read_exactly(size)
        self.seen.write(block)
        return block


def _wav_chunks(stdin: _Stdin) -> Iterator[tuple[npt.NDArray[np.int16], list[str]]]:
    """A WAV streamed from its header on, as its data arrives; one whose encoding kws does not
    stream (ADPCM, say) is read whole and decoded like a file."""
    recording = _Recording(stdin)
    try:
        wav = read_wav_header(recording.read)
    except AudioError as error:
        raise AudioError(f"{STDIN_NAME}: {error}") from error
    if wav is None or not _streamable(wav):
        yield from decode_bytes(
            recording.seen.getvalue() + stdin.read_all(), STDIN_NAME, DECODED_CHUNK_S
        )
        return
    declared = wav.data_bytes if 0 < wav.data_bytes < UNKNOWN_LENGTH_BYTES else None
    converter = _WavConverter(wav)
    received = 0
    while True:
        size = STDIN_CHUNK_BYTES
        if declared is not None:
            if received >= declared:
                after = stdin.read_exactly(CHUNK_HEADER_BYTES + 1)
                if _metadata_follows(after, declared):
                    break
                stdin.unread(after)
                yield np.zeros(0, np.int16), [_understated_warning(wav, declared)]
                declared = None  # the data runs to the end of the stream
                continue
            size = min(size, declared - received)
        block = stdin.read(size)
        if not block:
            break
        received += len(block)
        yield converter.pcm(block), []
    warnings = converter.counts.warnings(STDIN_NAME)
    if declared is not None and received < declared:
        promised_s = declared / wav.block_align / wav.rate_hz
        read_s = received / wav.block_align / wav.rate_hz
        warnings.append(
            f"{STDIN_NAME}: truncated, the header promises {promised_s:.2f} s, read {read_s:.2f} s"
        )
    yield converter.finish(), warnings


def _metadata_follows(after: bytes, declared: int) -> bool:
    """Whether the bytes after the declared data end the audio: nothing, or a chunk (after
    the pad byte of an odd-sized data chunk, or without it)."""
    any_size = 1 << 32  # a stream's length is unknown
    return (
        len(after) < CHUNK_HEADER_BYTES  # the end, perhaps after a pad byte
        or is_chunk_header(after, any_size)
        or (declared % 2 == 1 and is_chunk_header(after[1:], any_size))
    )


def _understated_warning(wav: WavFormat, declared: int) -> str:
    declared_s = declared / wav.block_align / wav.rate_hz
    return (
        f"{STDIN_NAME}: the WAV header declares {declared_s:.2f} s of audio but more follows; "
        "reading all of it"
    )


class _WavConverter:
    """WAV data bytes, as they arrive, to int16 16 kHz mono: partial frames wait for the rest
    of their bytes, other rates go through a streaming resampler."""

    def __init__(self, wav: WavFormat) -> None:
        self._wav = wav
        self._leftover = b""
        self.counts = RepairCounts()
        self._resampler = None
        if wav.rate_hz != SAMPLE_RATE_HZ:
            import soxr

            self._resampler = soxr.ResampleStream(
                wav.rate_hz, SAMPLE_RATE_HZ, 1, dtype="int16", quality="HQ"
            )

    def pcm(self, block: bytes) -> npt.NDArray[np.int16]:
        block = self._leftover + block
        usable = len(block) - len(block) % self._wav.block_align
        self._leftover = block[usable:]
        samples = _samples(self._wav, block[:usable])
        # as if at 16 kHz: down-mixed and scaled here, resampled below without chunk edges
        pcm = convert_to_pcm16(samples, SAMPLE_RATE_HZ, self.counts, STDIN_NAME)
        if self._resampler is None:
            return pcm
        resampled: npt.NDArray[np.int16] = self._resampler.resample_chunk(pcm)
        return resampled

    def finish(self) -> npt.NDArray[np.int16]:
        """What the resampler still holds; a partial last frame is dropped."""
        if self._resampler is None:
            return np.zeros(0, np.int16)
        tail: npt.NDArray[np.int16] = self._resampler.resample_chunk(
            np.zeros(0, np.int16), last=True
        )
        return tail
