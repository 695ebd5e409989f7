"""What users feed `kws detect`: each case works (resampled, down-mixed, clipped with a
warning) or gets one clear line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import json
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
    from kws.cli import main

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
