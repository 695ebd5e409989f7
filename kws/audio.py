"""Audio sources: files (anything soundfile reads) and raw arrays, as int16 PCM at 16 kHz mono.

Other rates are resampled, channels are averaged, floats outside [-1, 1] are clipped with a
warning. Unreadable input raises ``AudioError`` with the reason. Long files are read in chunks
(``iter_audio_chunks``) so memory stays constant.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kws.errors import AudioError

SAMPLE_RATE_HZ = 16_000
CHUNK_SECONDS = 10.0


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


def _integrity_warnings(path: Path) -> list[str]:
    """libsndfile reads what a damaged file still holds and notes where its header disagrees
    with the data ("data : 32000 (should be 16)"): pass that on as a truncation warning."""
    import soundfile

    try:
        log = soundfile.info(str(path)).extra_info
    except (soundfile.LibsndfileError, RuntimeError):
        return []
    damaged = [line.strip() for line in log.splitlines() if "should be" in line]
    if not damaged:
        return []
    return [f"{path}: truncated or damaged, header disagrees with the data ({damaged[0]})"]


def read_audio(path: str | Path) -> tuple[npt.NDArray[np.int16], list[str]]:
    """Read a whole audio file as int16 PCM, 16 kHz mono, plus warnings.

    Raises:
        AudioError: missing path, a directory, an unreadable or empty file.
    """
    file_path = Path(path)
    with _open(file_path) as handle:
        if handle.frames == 0:
            raise AudioError(f"{file_path}: contains no audio")
        try:
            samples = handle.read(dtype="float32", always_2d=True)
        except (RuntimeError, ValueError) as error:
            raise AudioError(f"{file_path}: truncated or corrupt audio ({error})") from error
        rate = handle.samplerate
    if samples.size == 0:
        raise AudioError(f"{file_path}: contains no audio")
    pcm, warnings = to_pcm16(samples, rate, str(file_path))
    return pcm, _integrity_warnings(file_path) + warnings


def iter_audio_chunks(
    path: str | Path, chunk_s: float = CHUNK_SECONDS
) -> Iterator[tuple[npt.NDArray[np.int16], list[str]]]:
    """Yield a long file as consecutive int16 16 kHz chunks (constant memory).

    Resampling is per chunk; soxr's edge effects at chunk borders are below a sample's worth.
    """
    file_path = Path(path)
    with _open(file_path) as handle:
        if handle.frames == 0:
            raise AudioError(f"{file_path}: contains no audio")
        block = max(1, int(chunk_s * handle.samplerate))
        pending = _integrity_warnings(file_path)
        try:
            for samples in handle.blocks(blocksize=block, dtype="float32", always_2d=True):
                pcm, warnings = to_pcm16(samples, handle.samplerate, str(file_path))
                yield pcm, pending + warnings
                pending = []
        except (RuntimeError, ValueError) as error:
            raise AudioError(f"{file_path}: truncated or corrupt audio ({error})") from error
