"""Audio sources: files (anything soundfile reads) and raw arrays, as int16 PCM at 16 kHz mono.

Other rates are resampled, channels are averaged, floats outside [-1, 1] are clipped with a
warning. Unreadable input raises ``AudioError`` with the reason. Long files are read in chunks
(``iter_audio_chunks``) so memory stays constant.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from kws.errors import AudioError
from kws.frontend.config import SAMPLE_RATE_HZ
from kws.paths import printable
from kws.stderr_filter import MPG123_NOTE, dropping
from kws.wav_header import PatchedFile, understated_wav

if TYPE_CHECKING:
    import soundfile

CHUNK_SECONDS = 10.0
MAX_BLOCK_S = 60.0  # decoded at a time (the header's length is only a claim)
SALVAGE_STEP_S = 0.1  # a block the decoder fails in is re-read in steps this long
OGG_MAX_PAGE_BYTES = 65_307  # 27-byte header + 255 lacing values + 255 x 255 bytes of data
OGG_END_OF_STREAM_FLAG = 0x04  # header_type bit of a stream's last page
# libsndfile's note on an 8-bit, A-law or mu-law WAV with an odd number of samples: legal RIFF
ODD_DATA_NOTE = "should be an even number of bytes"


@contextmanager
def _opened(path: Path) -> Iterator[tuple[soundfile.SoundFile, list[str]]]:
    """The file opened for reading, and a warning about it when it is read differently from
    what its header says (a WAV whose header under-states its data is read to its end).

    Raises:
        AudioError: missing path, a directory, a file libsndfile cannot open.
    """
    import soundfile

    name = printable(path)
    if not path.exists():
        raise AudioError(f"{name}: no such file")
    if path.is_dir():
        raise AudioError(f"{name}: is a directory, not an audio file")
    understated = understated_wav(path)
    with ExitStack() as stack:
        try:
            if understated is None:
                # bytes: soundfile cannot encode a name that is not valid UTF-8
                source: bytes | PatchedFile = os.fsencode(path)
            else:
                source = stack.enter_context(PatchedFile(path, understated.patches()))
            with dropping(MPG123_NOTE):  # libmpg123 scans an MP3 when opened, noting damage
                handle = stack.enter_context(soundfile.SoundFile(source))
        except (soundfile.LibsndfileError, RuntimeError, TypeError, OSError) as error:
            raise AudioError(f"{name}: not a readable audio file ({error})") from error
        yield handle, [] if understated is None else [understated.warning(name)]


def to_float_samples(array: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    """Integer samples (signed or unsigned, any width) to floats in [-1, 1)."""
    info = np.iinfo(array.dtype)  # type: ignore[type-var]
    midpoint = (int(info.max) + int(info.min) + 1) / 2  # 0 for signed, 128 for uint8
    half_range = (int(info.max) - int(info.min) + 1) / 2
    return (array.astype(np.float64) - midpoint) / half_range


def _samples(count: int) -> str:
    return f"{count} sample{'' if count == 1 else 's'}"


@dataclass
class RepairCounts:
    """Samples replaced while converting to int16: counted across a file's chunks, reported
    once for the file."""

    non_finite: int = 0
    clipped: int = 0

    def warnings(self, source: str) -> list[str]:
        """One line per kind of repair made, none when nothing was repaired."""
        lines = []
        if self.non_finite:
            lines.append(f"{source}: {_samples(self.non_finite)} NaN/inf replaced by 0")
        if self.clipped:
            lines.append(f"{source}: {_samples(self.clipped)} outside [-1, 1] clipped")
        return lines


def to_pcm16(
    samples: npt.NDArray[np.generic], sample_rate_hz: int, source: str = "audio"
) -> tuple[npt.NDArray[np.int16], list[str]]:
    """Convert an array (frames x channels, or 1-D) of any dtype and rate to int16 16 kHz mono.

    Returns the PCM and a list of warnings (clipping, non-finite samples replaced).

    Raises:
        AudioError: an array of another shape or sample type, or a rate <= 0.
    """
    counts = RepairCounts()
    pcm = convert_to_pcm16(samples, sample_rate_hz, counts, source)
    return pcm, counts.warnings(source)


def convert_to_pcm16(
    samples: npt.NDArray[np.generic],
    sample_rate_hz: int,
    counts: RepairCounts,
    source: str = "audio",
) -> npt.NDArray[np.int16]:
    """``to_pcm16`` for one chunk of a longer source: the samples it repairs are added to
    ``counts`` instead of being reported.

    Raises:
        AudioError: an array of another shape or sample type, or a rate <= 0.
    """
    array = np.asarray(samples)
    if array.ndim == 2:
        kind = array.dtype.kind
        array = to_float_samples(array) if kind in "iu" else array.astype(np.float64)
        array = array.mean(axis=1)
    if array.ndim != 1:
        raise AudioError(f"{source}: expected 1-D or (frames, channels) audio, got {array.shape}")
    if array.dtype.kind == "f":
        floats = array.astype(np.float64)
        bad = ~np.isfinite(floats)
        if bad.any():
            counts.non_finite += int(bad.sum())
            floats[bad] = 0.0
        counts.clipped += int((np.abs(floats) > 1.0).sum())
        floats = np.clip(floats, -1.0, 1.0)
    elif array.dtype.kind in "iu":
        floats = to_float_samples(array)
    else:
        raise AudioError(f"{source}: unsupported sample type {array.dtype}")
    if sample_rate_hz <= 0:
        raise AudioError(f"{source}: invalid sample rate {sample_rate_hz}")
    if sample_rate_hz != SAMPLE_RATE_HZ and floats.size:
        import librosa

        floats = librosa.resample(
            floats.astype(np.float32),
            orig_sr=sample_rate_hz,
            target_sr=SAMPLE_RATE_HZ,
            res_type="soxr_hq",
        ).astype(np.float64)
    pcm: npt.NDArray[np.int16] = np.clip(np.round(floats * 32768.0), -32768, 32767).astype(np.int16)
    return pcm


def _header_disagreement(handle: soundfile.SoundFile) -> str | None:
    """libsndfile reads what a damaged file still holds and notes where its header disagrees
    with the data ("data : 32000 (should be 16)"): the first such note, if any."""
    damaged = [
        line.strip()
        for line in handle.extra_info.splitlines()
        if "should be" in line and ODD_DATA_NOTE not in line
    ]
    return damaged[0] if damaged else None


def _file_tail(path: Path) -> Callable[[], bytes]:
    """Reads the last ``OGG_MAX_PAGE_BYTES`` of the file, when asked."""

    def tail() -> bytes:
        try:
            with path.open("rb") as handle:
                handle.seek(max(0, path.stat().st_size - OGG_MAX_PAGE_BYTES))
                return handle.read()
        except OSError:
            return b""  # libsndfile has just read it; whatever happened since is not a cut

    return tail


def _ogg_stream_unfinished(tail: bytes) -> bool:
    """True when the last Ogg page in ``tail`` (a stream's last bytes) is not flagged
    end-of-stream: the stream was cut. Ogg's header promises no length, so this flag is the one
    sign of a truncated Ogg Vorbis or Opus file."""
    if not tail:
        return False
    page = tail.rfind(b"OggS")
    if page < 0 or page + 6 > len(tail):
        return True
    return not tail[page + 5] & OGG_END_OF_STREAM_FLAG


def _damage_warning(
    name: str,
    handle: soundfile.SoundFile,
    frames_read: int,
    failure: str | None,
    tail: Callable[[], bytes],
) -> str | None:
    """One line saying the file is truncated or damaged, or None when it reads whole."""
    read_s = frames_read / handle.samplerate
    if failure is not None:
        return f"{name}: truncated or damaged, the decoder stopped at {read_s:.2f} s ({failure})"
    disagreement = _header_disagreement(handle)
    if disagreement is not None:
        return f"{name}: truncated or damaged, header disagrees with the data ({disagreement})"
    if frames_read < handle.frames:
        promised_s = handle.frames / handle.samplerate
        return f"{name}: truncated, the header promises {promised_s:.2f} s, read {read_s:.2f} s"
    if handle.format == "OGG" and _ogg_stream_unfinished(tail()):
        return f"{name}: truncated, the last Ogg page does not end the stream (read {read_s:.2f} s)"
    return None


def _read_block(
    handle: soundfile.SoundFile, frames: int
) -> tuple[npt.NDArray[np.float32], str | None]:
    """Up to ``frames`` frames (frames x channels, float32) from the handle's position, and the
    decoder's error if it failed in them. A failed read is redone from the same position in
    ``SALVAGE_STEP_S`` steps: the audio before the damage is kept, to within one step."""
    try:
        start: int | None = handle.tell()
    except RuntimeError:  # libsndfile cannot seek in every format (a damaged header can pick one)
        start = None
    try:
        return handle.read(frames, dtype="float32", always_2d=True), None
    except (RuntimeError, ValueError) as error:
        failure = str(error).strip() or type(error).__name__
    pieces = [np.zeros((0, handle.channels), np.float32)]
    if start is None:  # no position to re-read from: nothing of this block can be salvaged
        return pieces[0], failure
    step = max(1, int(SALVAGE_STEP_S * handle.samplerate))
    salvaged = 0
    try:
        handle.seek(start)
        while salvaged < frames:
            piece = handle.read(min(step, frames - salvaged), dtype="float32", always_2d=True)
            if len(piece) == 0:
                break
            pieces.append(piece)
            salvaged += len(piece)
    except (RuntimeError, ValueError):
        pass  # the step with the damage in it: everything before it is in `pieces`
    return np.concatenate(pieces), failure


def _decoded_blocks(
    handle: soundfile.SoundFile, name: str, block_frames: int, tail: Callable[[], bytes]
) -> Iterator[tuple[npt.NDArray[np.float32], list[str]]]:
    """Consecutive float32 blocks (frames x channels) until the data ends, then, if the file is
    truncated or damaged, an empty block carrying the one warning that says so: a cut file is
    read as far as it goes, whatever its format.

    ``handle.blocks()`` is not used: when a header promises more frames than the data holds (a
    cut MP3 with a Xing header), it pads the short blocks with the previous block's samples.

    Raises:
        AudioError: the file holds no decodable audio at all.
    """
    if handle.frames == 0:
        raise AudioError(f"{name}: contains no audio")
    frames_read = 0
    while True:
        if handle.format == "MP3":  # libmpg123 writes a note for each damaged frame it skips
            with dropping(MPG123_NOTE):
                samples, failure = _read_block(handle, block_frames)
        else:
            samples, failure = _read_block(handle, block_frames)
        if frames_read == 0 and len(samples) == 0:
            if failure is not None:
                raise AudioError(f"{name}: truncated or corrupt audio ({failure})")
            raise AudioError(f"{name}: contains no audio")
        frames_read += len(samples)
        if len(samples):
            yield samples, []
        if failure is not None or len(samples) < block_frames:
            break
    warning = _damage_warning(name, handle, frames_read, failure, tail)
    if warning is not None:
        yield samples[:0], [warning]


def read_audio(path: str | Path) -> tuple[npt.NDArray[np.int16], list[str]]:
    """Read a whole audio file as int16 PCM, 16 kHz mono, plus warnings.

    A truncated or damaged file gives the audio before the damage and a warning; a WAV whose
    header under-states its data, all of its audio and a warning.

    Raises:
        AudioError: missing path, a directory, an unreadable or empty file.
    """
    file_path = Path(path)
    name = printable(file_path)
    blocks: list[npt.NDArray[np.float32]] = []
    with _opened(file_path) as (handle, warnings):
        # Blocks of up to MAX_BLOCK_S: a header's frame count is not trusted for an allocation
        # (a damaged FLAC stream info can claim billions); resampling is done once, after.
        frames = max(1, min(handle.frames, int(MAX_BLOCK_S * handle.samplerate)))
        for samples, damage in _decoded_blocks(handle, name, frames, _file_tail(file_path)):
            blocks.append(samples)
            warnings += damage
        rate = handle.samplerate
    counts = RepairCounts()
    pcm = convert_to_pcm16(np.concatenate(blocks), rate, counts, name)
    return pcm, counts.warnings(name) + warnings


def iter_audio_chunks(
    path: str | Path, chunk_s: float = CHUNK_SECONDS
) -> Iterator[tuple[npt.NDArray[np.int16], list[str]]]:
    """Yield a long file as consecutive int16 16 kHz chunks (constant memory), each with its
    warnings. A warning about the whole file (its header under-states its data) comes with the
    first chunk; samples clipped or replaced are counted over the file, and they and a
    truncation or damage are reported in an empty chunk after the audio.

    Resampling is per chunk; soxr's edge effects at chunk borders are below a sample's worth.

    Raises:
        AudioError: missing path, a directory, an unreadable or empty file.
    """
    file_path = Path(path)
    with _opened(file_path) as (handle, warnings):
        yield from decoded_chunks(
            handle, printable(file_path), chunk_s, _file_tail(file_path), warnings
        )


def decoded_chunks(
    handle: soundfile.SoundFile,
    name: str,
    chunk_s: float,
    tail: Callable[[], bytes],
    warnings: list[str],
) -> Iterator[tuple[npt.NDArray[np.int16], list[str]]]:
    """``iter_audio_chunks`` of an open file: ``warnings`` come with the first chunk, ``tail()``
    returns the source's last bytes (a cut Ogg stream is told by them).

    Raises:
        AudioError: the source holds no decodable audio.
    """
    block_frames = max(1, int(chunk_s * handle.samplerate))
    counts = RepairCounts()
    damage: list[str] = []
    for samples, block_damage in _decoded_blocks(handle, name, block_frames, tail):
        damage += block_damage
        if len(samples):
            yield convert_to_pcm16(samples, handle.samplerate, counts, name), warnings
            warnings = []
    final = warnings + counts.warnings(name) + damage
    if final:
        yield np.zeros(0, np.int16), final


def decode_bytes(
    data: bytes, name: str, chunk_s: float = CHUNK_SECONDS
) -> Iterator[tuple[npt.NDArray[np.int16], list[str]]]:
    """``iter_audio_chunks`` of a whole file held in memory (one read from a pipe).

    Raises:
        AudioError: no audio, or audio libsndfile cannot decode.
    """
    import soundfile

    if not data:
        raise AudioError(f"{name}: contains no audio")
    try:
        with dropping(MPG123_NOTE):
            handle = soundfile.SoundFile(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioError(f"{name}: not a readable audio file ({error})") from error
    with handle:
        tail = data[-OGG_MAX_PAGE_BYTES:]
        yield from decoded_chunks(handle, name, chunk_s, lambda: tail, [])


AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif"}


def audio_files(folder: Path) -> list[Path]:
    """Every audio file under ``folder`` (any depth) by its suffix, sorted."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)


def word_key(name: str) -> str:
    """A folder or keyword name with case and word separators (spaces, _, -) made alike."""
    return re.sub(r"[\s_-]+", "_", name.strip().lower())


def keyword_folder_spellings(keyword: str) -> list[str]:
    """The folder names taken as the keyword's (in any case), e.g. for "hey jarvis":
    hey_jarvis, hey jarvis, hey-jarvis, heyjarvis."""
    words = word_key(keyword).split("_")
    return list(dict.fromkeys(separator.join(words) for separator in ("_", " ", "-", "")))


def is_keyword_folder(name: str, keyword: str) -> bool:
    """Whether a word folder (Speech Commands layout) holds ``keyword``: its name is one of
    ``keyword_folder_spellings``, in any case. One rule for `kws eval` and `kws train
    --speech-commands`."""
    return word_key(name) in {word_key(spelling) for spelling in keyword_folder_spellings(keyword)}
