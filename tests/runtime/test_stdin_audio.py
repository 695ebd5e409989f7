"""`kws detect -` with a file piped in: WAV (streamed from its header on), FLAC, Ogg, MP3
(read whole, then decoded) give the audio the file itself gives; raw PCM stays raw PCM."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from kws.audio import read_audio
from kws.errors import AudioError
from kws.stdin_audio import stdin_chunks

RATE_HZ = 16_000


def _speech_like(seconds: float, rate_hz: int = RATE_HZ) -> np.ndarray:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    return 0.3 * envelope * np.sin(2 * np.pi * (300 + 200 * np.sin(2 * np.pi * t)) * t)


def _from_stdin(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[np.ndarray, list[str]]:
    with path.open("rb") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        chunks = list(stdin_chunks())
    pcm = np.concatenate([np.zeros(0, np.int16), *(chunk for chunk, _ in chunks)])
    return pcm, [warning for _, warnings in chunks for warning in warnings]


@pytest.mark.parametrize(
    ("suffix", "subtype"),
    [
        ("wav", "PCM_16"),
        ("wav", "PCM_U8"),
        ("wav", "PCM_24"),
        ("wav", "PCM_32"),
        ("wav", "FLOAT"),
        ("wav", "DOUBLE"),
        ("wav", "ULAW"),
        ("wav", "ALAW"),
        ("wav", "IMA_ADPCM"),  # not streamed: read whole, like the compressed formats
        ("flac", "PCM_16"),
        ("ogg", "VORBIS"),
        ("mp3", "MPEG_LAYER_III"),
    ],
)
def test_a_file_on_stdin_reads_as_the_file_does(
    suffix: str, subtype: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / f"clip_{subtype}.{suffix}"
    soundfile.write(path, np.append(_speech_like(3.0), 0.0), RATE_HZ, subtype=subtype)  # odd
    from_file, file_warnings = read_audio(path)
    from_stdin, warnings = _from_stdin(path, monkeypatch)
    # libsndfile reads files as float32: 32-bit integers and doubles lose a bit on the way
    tolerance = 1 if subtype in ("PCM_32", "DOUBLE") else 0
    assert from_stdin.size == from_file.size
    assert np.abs(from_stdin.astype(np.int32) - from_file).max() <= tolerance
    assert warnings == [w.replace(str(path), "-") for w in file_warnings] == []


def test_a_wav_at_another_rate_and_in_stereo_is_resampled_and_down_mixed_as_it_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "stereo_44k.wav"
    mono = _speech_like(3.0, 44_100)
    soundfile.write(path, np.stack([mono, mono], axis=1), 44_100, subtype="PCM_16")
    from_file, _ = read_audio(path)
    from_stdin, warnings = _from_stdin(path, monkeypatch)
    assert warnings == [] and abs(from_stdin.size - from_file.size) <= 1
    size = min(from_stdin.size, from_file.size)
    difference = from_stdin[:size].astype(np.float64) - from_file[:size]
    assert np.sqrt(np.mean(difference**2)) < 0.01 * np.sqrt(np.mean(from_file.astype(float) ** 2))


def _wav_header(data_bytes: int, rate_hz: int = RATE_HZ) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate_hz, rate_hz * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", min(36 + data_bytes, 0xFFFF_FFFF))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_bytes)
    )


PCM = (_speech_like(2.0) * 32767).astype("<i2")


@pytest.mark.parametrize(
    ("declared", "after", "expected", "warning"),
    [
        (0xFFFF_FFFF, b"", PCM, None),  # a streaming writer's "length unknown"
        (0, b"", PCM, None),
        (PCM.nbytes, b"LIST" + struct.pack("<I", 4) + b"INFO", PCM, None),
        (100, b"", PCM, "the WAV header declares 0.00 s of audio but more follows"),
        (PCM.nbytes * 2, b"", PCM, "truncated, the header promises 4.00 s, read 2.00 s"),
    ],
    ids=["unknown_length", "zero_length", "metadata_after", "under_stated", "truncated"],
)
def test_a_wav_header_on_stdin_is_read_like_a_files(
    declared: int,
    after: bytes,
    expected: np.ndarray,
    warning: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "piped.wav"
    path.write_bytes(_wav_header(declared) + PCM.tobytes() + after)
    pcm, warnings = _from_stdin(path, monkeypatch)
    assert np.array_equal(pcm, expected)
    assert [w for w in warnings if warning and warning in w] == warnings
    assert len(warnings) == (warning is not None)


def test_raw_pcm_that_starts_like_an_mp3_frame_is_raw_pcm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "raw.s16"
    raw = b"\xff\xf3\x88\xc4" + PCM.tobytes()  # an MPEG-2 layer III frame header, then audio
    path.write_bytes(raw)
    pcm, warnings = _from_stdin(path, monkeypatch)
    assert np.array_equal(pcm, np.frombuffer(raw, "<i2")) and warnings == []


def test_bytes_that_claim_flac_but_are_not_are_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fake.flac"
    path.write_bytes(b"fLaC" + b"\x00" * 1000)
    with pytest.raises(AudioError, match="^-: not a readable audio file"):
        _from_stdin(path, monkeypatch)


def _detect_stdin(stdin: object, bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kws", "detect", "--json", "--model", str(bundle), "-"],
        stdin=stdin,  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("suffix", ["wav", "mp3"])
def test_kws_detect_finds_the_keyword_in_a_file_piped_in(
    suffix: str, demo_recordings: tuple[Path, Path], tmp_path: Path
) -> None:
    """Both were read as raw PCM: nothing found, exit 0, no warning."""
    import soxr

    from kws.defaults import default_bundle_dir

    pcm, rate_hz = soundfile.read(demo_recordings[0], dtype="float32")
    path = tmp_path / f"recording.{suffix}"
    if suffix == "wav":  # as a recorder writes it: 48 kHz float
        soundfile.write(path, soxr.resample(pcm / 2, rate_hz, 48_000), 48_000, subtype="FLOAT")
    else:
        soundfile.write(path, pcm / 2, rate_hz)  # lossy codecs overshoot full scale
    with path.open("rb") as stdin:
        result = _detect_stdin(stdin, default_bundle_dir())
    assert result.returncode == 0 and result.stderr == ""
    assert len(result.stdout.splitlines()) == 1 and '"file": "-"' in result.stdout


def test_closed_stdin_is_one_line_exit_2(random_bundle: Path) -> None:
    """`kws detect - <&-`: was an AttributeError traceback."""
    result = subprocess.run(
        f"{sys.executable} -m kws detect --model {random_bundle} - <&-",
        shell=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "kws detect: error: -: stdin is closed; pipe audio in, or name a file"
    ]
