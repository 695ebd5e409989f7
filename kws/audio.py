"""Audio sources: files (anything soundfile reads) and raw arrays, as int16 PCM at 16 kHz mono.

Other rates are resampled, channels are averaged, floats outside [-1, 1] are clipped with a
warning. Unreadable input raises ``AudioError`` with the reason. Long files are read in chunks
(``iter_audio_chunks``) so memory stays constant.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from kws.errors import AudioError

if TYPE_CHECKING:
    import soundfile

SAMPLE_RATE_HZ = 16_000
CHUNK_SECONDS = 10.0
SALVAGE_STEP_S = 0.1  # a block the decoder fails in is re-read in steps this long
OGG_MAX_PAGE_BYTES = 65_307  # 27-byte header + 255 lacing values + 255 x 255 bytes of data
OGG_END_OF_STREAM_FLAG = 0x04  # header_type bit of a stream's last page


def _open(path: Path):  # type: ignore[no-untyped-def]
    import soundfile

    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    try:
        return soundfile.SoundFile(str(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioError(f"{path}: not a readable audio file ({error})") from error


def to_float_samples(array: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    """Integer samples (signed or unsigned, any width) to floats in [-1, 1)."""
    info = np.iinfo(array.dtype)  # type: ignore[type-var]
    midpoint = (int(info.max) + int(info.min) + 1) / 2  # 0 for signed, 128 for uint8
    half_range = (int(info.max) - int(info.min) + 1) / 2
    return (array.astype(np.float64) - midpoint) / half_range


def to_pcm16(
    samples: npt.NDArray[np.generic], sample_rate_hz: int, source: str = "audio"
) -> tuple[npt.NDArray[np.int16], list[str]]:
    """Convert an array (frames x channels, or 1-D) of any dtype and rate to int16 16 kHz mono.

    Returns the PCM and a list of warnings (clipping, non-finite samples replaced).
    """
    warnings: list[str] = []
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
            warnings.append(f"{source}: {int(bad.sum())} NaN/inf samples replaced by 0")
            floats[bad] = 0.0
        over = np.abs(floats) > 1.0
        if over.any():
            warnings.append(f"{source}: {int(over.sum())} samples outside [-1, 1] clipped")
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
    pcm = np.clip(np.round(floats * 32768.0), -32768, 32767).astype(np.int16)
    return pcm, warnings


def _header_disagreement(path: Path) -> str | None:
    """libsndfile reads what a damaged file still holds and notes where its header disagrees
    with the data ("data : 32000 (should be 16)"): the first such note, if any."""
    import soundfile

    try:
        log = soundfile.info(str(path)).extra_info
    except (soundfile.LibsndfileError, RuntimeError):
        return None
    damaged = [line.strip() for line in log.splitlines() if "should be" in line]
    return damaged[0] if damaged else None


def _ogg_stream_unfinished(path: Path) -> bool:
    """True when the last Ogg page is not flagged end-of-stream: the file was cut. Ogg's header
    promises no length, so this flag is the one sign of a truncated Ogg Vorbis or Opus file."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - OGG_MAX_PAGE_BYTES))
            tail = handle.read()
    except OSError:
        return False  # libsndfile has just read it; whatever happened since is not a cut
    page = tail.rfind(b"OggS")
    if page < 0 or page + 6 > len(tail):
        return True
    return not tail[page + 5] & OGG_END_OF_STREAM_FLAG


def _damage_warning(
    path: Path, handle: soundfile.SoundFile, frames_read: int, failure: str | None
) -> str | None:
    """One line saying the file is truncated or damaged, or None when it reads whole."""
    read_s = frames_read / handle.samplerate
    if failure is not None:
        return f"{path}: truncated or damaged, the decoder stopped at {read_s:.2f} s ({failure})"
    disagreement = _header_disagreement(path)
    if disagreement is not None:
        return f"{path}: truncated or damaged, header disagrees with the data ({disagreement})"
    if frames_read < handle.frames:
        promised_s = handle.frames / handle.samplerate
        return f"{path}: truncated, the header promises {promised_s:.2f} s, read {read_s:.2f} s"
    if handle.format == "OGG" and _ogg_stream_unfinished(path):
        return f"{path}: truncated, the last Ogg page does not end the stream (read {read_s:.2f} s)"
    return None


def _read_block(
    handle: soundfile.SoundFile, frames: int
) -> tuple[npt.NDArray[np.float32], str | None]:
    """Up to ``frames`` frames (frames x channels, float32) from the handle's position, and the
    decoder's error if it failed in them. A failed read is redone from the same position in
    ``SALVAGE_STEP_S`` steps: the audio before the damage is kept, to within one step."""
    start = handle.tell()
    try:
        return handle.read(frames, dtype="float32", always_2d=True), None
    except (RuntimeError, ValueError) as error:
        failure = str(error).strip() or type(error).__name__
    step = max(1, int(SALVAGE_STEP_S * handle.samplerate))
    pieces = [np.zeros((0, handle.channels), np.float32)]
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
    handle: soundfile.SoundFile, path: Path, block_frames: int
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
        raise AudioError(f"{path}: contains no audio")
    frames_read = 0
    while True:
        samples, failure = _read_block(handle, block_frames)
        if frames_read == 0 and len(samples) == 0:
            if failure is not None:
                raise AudioError(f"{path}: truncated or corrupt audio ({failure})")
            raise AudioError(f"{path}: contains no audio")
        frames_read += len(samples)
        if len(samples):
            yield samples, []
        if failure is not None or len(samples) < block_frames:
            break
    warning = _damage_warning(path, handle, frames_read, failure)
    if warning is not None:
        yield samples[:0], [warning]


def read_audio(path: str | Path) -> tuple[npt.NDArray[np.int16], list[str]]:
    """Read a whole audio file as int16 PCM, 16 kHz mono, plus warnings.

    A truncated or damaged file gives the audio before the damage and a warning.

    Raises:
        AudioError: missing path, a directory, an unreadable or empty file.
    """
    file_path = Path(path)
    blocks: list[npt.NDArray[np.float32]] = []
    damage: list[str] = []
    with _open(file_path) as handle:
        # One block of the whole file: an intact file is decoded and resampled in one piece.
        for samples, warnings in _decoded_blocks(handle, file_path, max(1, handle.frames)):
            blocks.append(samples)
            damage += warnings
        rate = handle.samplerate
    pcm, warnings = to_pcm16(np.concatenate(blocks), rate, str(file_path))
    return pcm, warnings + damage


def iter_audio_chunks(
    path: str | Path, chunk_s: float = CHUNK_SECONDS
) -> Iterator[tuple[npt.NDArray[np.int16], list[str]]]:
    """Yield a long file as consecutive int16 16 kHz chunks (constant memory), each with its
    warnings. A truncated or damaged file yields the audio before the damage, then an empty
    chunk with the warning that says so.

    Resampling is per chunk; soxr's edge effects at chunk borders are below a sample's worth.

    Raises:
        AudioError: missing path, a directory, an unreadable or empty file.
    """
    file_path = Path(path)
    with _open(file_path) as handle:
        block_frames = max(1, int(chunk_s * handle.samplerate))
        for samples, warnings in _decoded_blocks(handle, file_path, block_frames):
            pcm, conversion_warnings = to_pcm16(samples, handle.samplerate, str(file_path))
            yield pcm, conversion_warnings + warnings
