"""What users feed `kws detect`: each case works (resampled, down-mixed, clipped with a
warning) or gets one clear line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile

from kws.audio import iter_audio_chunks, read_audio
from kws.errors import AudioError

RNG = np.random.default_rng(0)


def _tone(rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = 0.3 * np.sin(2 * np.pi * 440 * t)
    return np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono


def _detect(path: Path, bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kws", "detect", "--model", str(bundle), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    files["empty"] = tmp_path / "empty.wav"
    files["empty"].write_bytes(b"")
    good = tmp_path / "good.wav"
    soundfile.write(good, _tone(16000, 1.0), 16000, subtype="PCM_16")
    payload = good.read_bytes()
    files["truncated"] = tmp_path / "truncated.wav"
    files["truncated"].write_bytes(payload[:60])
    files["corrupt_header"] = tmp_path / "corrupt.wav"
    files["corrupt_header"].write_bytes(b"RIFX" + payload[4:12] + b"junk" * 8 + payload[44:])
    files["not_audio"] = tmp_path / "notes.wav"
    files["not_audio"].write_text("these are my meeting notes\n" * 50)
    files["directory"] = tmp_path / "folder.wav"
    files["directory"].mkdir()
    files["missing"] = tmp_path / "missing.wav"
    flac = tmp_path / "good.flac"
    soundfile.write(flac, _tone(16000, 1.0), 16000)
    flac_payload = flac.read_bytes()
    files["flac_cut_in_first_frame"] = tmp_path / "cut.flac"
    first_frame = flac_payload.index(b"\xff\xf8")  # frame sync code after the metadata
    files["flac_cut_in_first_frame"].write_bytes(flac_payload[: first_frame + 50])
    return files


@pytest.mark.parametrize(
    "case",
    ["empty", "corrupt_header", "not_audio", "directory", "missing", "flac_cut_in_first_frame"],
)
def test_unreadable_audio_is_one_line_exit_2(
    case: str, tmp_path: Path, random_bundle: Path
) -> None:
    path = _bad_files(tmp_path)[case]
    with pytest.raises(AudioError):
        read_audio(path)
    result = _detect(path, random_bundle)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if "error" in line] == [
        line for line in result.stderr.splitlines() if line.startswith("kws detect: error:")
    ]


@pytest.mark.parametrize(
    ("rate", "channels", "subtype"),
    [
        (8000, 1, "PCM_16"),
        (44100, 1, "PCM_16"),
        (48000, 2, "PCM_16"),
        (16000, 6, "PCM_16"),
        (16000, 1, "PCM_U8"),
        (22050, 1, "PCM_24"),
        (16000, 2, "FLOAT"),
        (32000, 1, "DOUBLE"),
    ],
)
def test_formats_are_resampled_and_down_mixed(
    rate: int, channels: int, subtype: str, tmp_path: Path
) -> None:
    path = tmp_path / f"clip_{rate}_{channels}_{subtype}.wav"
    soundfile.write(path, _tone(rate, 2.0, channels), rate, subtype=subtype)
    pcm, warnings = read_audio(path)
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert abs(pcm.size - 32000) <= 2
    assert warnings == []
    level = np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) / 32768
    assert level == pytest.approx(0.3 / np.sqrt(2), rel=0.05)  # a 440 Hz tone survives intact


def test_out_of_range_and_nan_floats_are_clipped_with_warnings(
    tmp_path: Path, random_bundle: Path
) -> None:
    audio = _tone(16000, 1.0) * 5.0
    audio[100:110] = np.nan
    audio[200] = np.inf
    path = tmp_path / "loud.wav"
    soundfile.write(path, audio, 16000, subtype="FLOAT")
    pcm, warnings = read_audio(path)
    assert np.abs(pcm).max() == 32767 or np.abs(pcm).min() == -32768
    assert any("NaN/inf" in w for w in warnings) and any("clipped" in w for w in warnings)
    result = _detect(path, random_bundle)
    assert (
        result.returncode == 0 and "warning" in result.stderr and "Traceback" not in result.stderr
    )


def test_truncated_file_is_read_with_a_warning(tmp_path: Path, random_bundle: Path) -> None:
    path = _bad_files(tmp_path)["truncated"]
    pcm, warnings = read_audio(path)
    assert pcm.size == 8 and any("truncated" in w for w in warnings)
    result = _detect(path, random_bundle)
    assert (
        result.returncode == 0 and "truncated" in result.stderr and "Traceback" not in result.stderr
    )


def test_clip_shorter_than_a_model_window(tmp_path: Path, random_bundle: Path) -> None:
    path = tmp_path / "short.wav"
    soundfile.write(path, _tone(16000, 0.1), 16000)
    result = _detect(path, random_bundle)
    assert result.returncode == 0 and result.stdout == "" and result.stderr.count("error") == 0


@pytest.mark.slow
def test_two_hour_file_streams_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "two_hours.wav"
    block = (RNG.standard_normal(16000 * 60) * 500).astype(np.int16)
    with soundfile.SoundFile(path, "w", 16000, 1, "PCM_16") as handle:
        for _ in range(120):
            handle.write(block)
    tracemalloc.start()
    total = 0
    peak_after_first = None
    for pcm, _ in iter_audio_chunks(path):
        total += pcm.size
        if peak_after_first is None:
            peak_after_first = tracemalloc.get_traced_memory()[1]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert total == 16000 * 7200
    assert peak < 2 * peak_after_first + 1_000_000  # one chunk's worth, not the file's 230 MB


def _detection_times(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[float], str]:
    from kws_cli.main import main

    capsys.readouterr()
    code = main(["detect", "--json", str(path)])
    captured = capsys.readouterr()
    times = [json.loads(line)["time_s"] for line in captured.out.splitlines()]
    return code, times, captured.err


@pytest.mark.parametrize("suffix", ["wav", "flac", "ogg", "mp3"])
def test_truncated_recording_keeps_the_detections_before_the_cut(
    suffix: str,
    demo_recordings: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pcm, rate_hz = soundfile.read(demo_recordings[0], dtype="int16")
    whole = tmp_path / f"four_keywords.{suffix}"
    # at half level: lossy codecs overshoot full scale, and clipping has warnings of its own
    soundfile.write(whole, np.concatenate([pcm // 2] * 4), rate_hz)
    cut = tmp_path / f"cut.{suffix}"
    payload = whole.read_bytes()
    cut.write_bytes(payload[: int(len(payload) * 0.8)])

    code, whole_times, whole_err = _detection_times(whole, capsys)
    assert code == 0 and len(whole_times) == 4 and "kws detect:" not in whole_err
    readable_s = sum(len(chunk) for chunk, _ in iter_audio_chunks(cut)) / 16000
    assert 0.7 * len(pcm) * 4 / rate_hz < readable_s < 0.85 * len(pcm) * 4 / rate_hz

    code, cut_times, cut_err = _detection_times(cut, capsys)
    assert code == 0, cut_err
    assert cut_times == [t for t in whole_times if t < readable_s] and len(cut_times) == 3
    ours = [line for line in cut_err.splitlines() if line.startswith("kws detect:")]
    assert len(ours) == 1 and ours[0].startswith("kws detect: warning:") and "truncated" in ours[0]


def _wav_declaring(data_bytes: int, pcm: np.ndarray, after: bytes = b"") -> bytes:
    """A 16 kHz mono 16-bit WAV whose data chunk declares ``data_bytes`` and holds ``pcm``."""
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    body = pcm.astype("<i2").tobytes() + after
    header = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
    return (
        b"RIFF"
        + struct.pack("<I", len(header) + 4 + data_bytes)
        + header
        + (struct.pack("<I", data_bytes) + body)
    )


def test_wav_header_that_under_states_its_data_is_read_whole_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pcm = (_tone(16000, 5.7) * 32767).astype(np.int16)
    path = tmp_path / "understated.wav"
    path.write_bytes(_wav_declaring(100, pcm))  # 50 samples declared, 5.7 s present
    whole, warnings = read_audio(path)
    assert np.array_equal(whole, pcm)
    assert warnings == [
        f"{path}: the WAV header declares 0.00 s of audio, the file holds 5.70 s; read all of it"
    ]
    chunks = list(iter_audio_chunks(path, chunk_s=2.0))
    assert np.array_equal(np.concatenate([chunk for chunk, _ in chunks]), pcm)
    assert [w for _, chunk_warnings in chunks for w in chunk_warnings] == warnings
    assert chunks[0][1] == warnings  # told with the first chunk, not after the whole file

    from kws_cli.main import main

    assert main(["detect", "--model", str(_bundle_dir()), str(path)]) == 0
    err = capsys.readouterr().err
    assert err.count("kws detect: warning:") == 1 and "declares 0.00 s" in err


def _bundle_dir() -> Path:
    from kws.defaults import default_bundle_dir

    return default_bundle_dir()


@pytest.mark.parametrize(
    "after",
    [
        b"LIST" + struct.pack("<I", 12) + b"INFOICMT" + struct.pack("<I", 0) + b"",
        b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10,  # a tag some tools append
    ],
    ids=["chunk_after_the_data", "id3_tag_after_the_data"],
)
def test_what_follows_the_data_of_a_whole_wav_is_not_read_as_audio(
    after: bytes, tmp_path: Path
) -> None:
    pcm = (_tone(16000, 1.0) * 32767).astype(np.int16)
    path = tmp_path / "whole.wav"
    path.write_bytes(_wav_declaring(pcm.size * 2, pcm, after))
    whole, warnings = read_audio(path)
    assert np.array_equal(whole, pcm) and warnings == []


LIST_CHUNK = b"LIST" + struct.pack("<I", 4) + b"INFO"


@pytest.mark.parametrize("subtype", ["PCM_U8", "ULAW", "ALAW"])
@pytest.mark.parametrize("ending", ["pad", "pad_and_chunk", "chunk_without_pad"])
def test_odd_sample_count_in_8_bit_wav_is_no_damage(
    subtype: str, ending: str, tmp_path: Path
) -> None:
    path = tmp_path / f"odd_{subtype}.wav"
    soundfile.write(path, np.append(_tone(16000, 1.0), 0.0), 16000, subtype=subtype)  # 16001
    payload = path.read_bytes()
    assert len(payload) % 2 == 0  # libsndfile writes the pad byte RIFF asks for
    if ending == "pad_and_chunk":
        path.write_bytes(payload + LIST_CHUNK)
    elif ending == "chunk_without_pad":  # as some writers do
        path.write_bytes(payload[:-1] + LIST_CHUNK)
    pcm, warnings = read_audio(path)
    assert pcm.size == 16001 and warnings == []
    assert [w for _, chunk_warnings in iter_audio_chunks(path) for w in chunk_warnings] == []


def test_clipping_is_reported_once_per_file(tmp_path: Path) -> None:
    path = tmp_path / "loud.wav"
    loud = (_tone(16000, 25.0) * 5.0).astype(np.float32)
    soundfile.write(path, loud, 16000, subtype="FLOAT")  # 3 chunks, all of them loud
    chunks = list(iter_audio_chunks(path))
    warnings = [w for _, chunk_warnings in chunks for w in chunk_warnings]
    over = int((np.abs(loud) > 1.0).sum())
    assert warnings == [f"{path}: {over} samples outside [-1, 1] clipped"]


@pytest.mark.parametrize("suffix", ["mp3", "ogg"])
def test_lossy_file_at_full_scale_warns_of_clipping_once(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kws_cli.main import main

    path = tmp_path / f"loud.{suffix}"
    soundfile.write(path, _tone(16000, 25.0) / 0.3 * 0.999, 16000)  # the codec overshoots
    assert main(["detect", "--model", str(_bundle_dir()), str(path)]) == 0
    err = capsys.readouterr().err
    assert err.count("clipped") == 1 and err.count("\n") == 1, err


def test_damaged_mp3_prints_no_decoder_notes(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "damaged.mp3"
    soundfile.write(path, _tone(16000, 10.0), 16000)
    payload = path.read_bytes()
    middle = len(payload) // 2
    path.write_bytes(payload[:middle] + b"\x00" * 100 + payload[middle + 300 :])
    capfd.readouterr()
    pcm, warnings = read_audio(path)
    captured = capfd.readouterr()
    assert pcm.size > 0 and len(warnings) == 1
    assert captured.err == ""  # libmpg123's "Note: Trying to resync..." and the like


@pytest.mark.parametrize("command", ["detect", "eval"])
def test_file_name_that_is_not_utf8_is_named_and_the_rest_processed(
    command: str, tmp_path: Path, random_bundle: Path
) -> None:
    folder = tmp_path / "negatives"
    folder.mkdir()
    bad_name = os.fsdecode(os.fsencode(folder) + b"/\xff\xfe.wav")
    for path in (bad_name, folder / "b.wav", folder / "c.wav"):
        soundfile.write(os.fsencode(path), _tone(16000, 1.0), 16000, format="WAV")
    (folder / "d.wav").write_text("not audio")  # a line naming a file after it
    if command == "eval":
        arguments = ["--json", str(tmp_path)]
    else:
        names = sorted([bad_name, *(str(folder / name) for name in ("b.wav", "c.wav", "d.wav"))])
        arguments = ["--stats", *names]
    result = subprocess.run(
        [sys.executable, "-m", "kws", command, "--model", str(random_bundle), *arguments],
        capture_output=True,
        timeout=300,
    )
    stdout, stderr = result.stdout.decode(), result.stderr.decode()
    assert "Traceback" not in stderr
    assert "d.wav" in stderr  # reached the file after the bad name
    shown = str(folder) + "/\\xff\\xfe.wav"
    if command == "eval":
        assert result.returncode == 0
        assert json.loads(stdout)["negatives"] == 3  # the bad name's file was measured
    else:
        assert result.returncode == 2  # d.wav
        measured = [json.loads(line)["file"] for line in stderr.splitlines() if line[:1] == "{"]
        assert shown in measured and len(measured) == 3
