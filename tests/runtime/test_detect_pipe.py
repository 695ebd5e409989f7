"""`kws detect -` on a live pipe (`arecord ... | kws detect -`): each detection is printed the
moment it is made, while the pipe is still open, and Ctrl-C keeps what was printed."""

from __future__ import annotations

import fcntl
import json
import queue
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import IO

import pytest
import soundfile

SAMPLE_RATE_HZ = 16_000
BLOCK_S = 0.1  # what a live source delivers at a time
WARM_UP_S = 2.0  # audio before the keyword, written before the pacing starts
LATENCY_LIMIT_S = 1.0  # keyword's end written -> its detection on stdout
START_TIMEOUT_S = 120.0  # interpreter, LiteRT and Numba on a busy machine


def _timed_lines(stream: IO[bytes], lines: queue.Queue[tuple[float, str]]) -> None:
    for line in iter(stream.readline, b""):
        lines.put((time.monotonic(), line.decode()))


def _unread_bytes(pipe: IO[bytes]) -> int:
    return int(struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0" * 4))[0])


def _detection_time_s(line: str, as_json: bool) -> float:
    if as_json:
        return float(json.loads(line)["time_s"])
    return float(line.split("\t")[1].split()[0])


# what `arecord -t wav` or `ffmpeg -f wav -` write to a pipe: the data's length is not known
STREAMED_WAV_HEADER = (
    b"RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00"
    + struct.pack("<HHIIHH", 1, 1, SAMPLE_RATE_HZ, 2 * SAMPLE_RATE_HZ, 2, 16)
    + b"data\xff\xff\xff\xff"
)


@pytest.mark.parametrize(
    ("as_json", "wav"), [(False, False), (True, False), (False, True)], ids=["plain", "json", "wav"]
)
def test_pipe_detection_is_printed_while_the_pipe_is_open(
    as_json: bool, wav: bool, demo_recordings: tuple[Path, Path]
) -> None:
    pcm, rate_hz = soundfile.read(demo_recordings[0], dtype="int16")
    assert rate_hz == SAMPLE_RATE_HZ
    command = [sys.executable, "-m", "kws", "detect", *(["--json"] if as_json else []), "-"]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # a test run started in the background by a shell ignores SIGINT, and so would kws:
        # the Ctrl-C below needs the terminal's default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdin and process.stdout and process.stderr
    lines: queue.Queue[tuple[float, str]] = queue.Queue()
    stderr_lines: queue.Queue[tuple[float, str]] = queue.Queue()
    readers = [
        threading.Thread(target=_timed_lines, args=(stream, into), daemon=True)
        for stream, into in ((process.stdout, lines), (process.stderr, stderr_lines))
    ]
    for reader in readers:
        reader.start()
    try:
        warm_up = int(WARM_UP_S * SAMPLE_RATE_HZ)
        if wav:  # a WAV is streamed too, once its header is read
            process.stdin.write(STREAMED_WAV_HEADER)
        process.stdin.write(pcm[:warm_up].astype("<i2").tobytes())
        process.stdin.flush()
        deadline = time.monotonic() + START_TIMEOUT_S
        while _unread_bytes(process.stdin) and time.monotonic() < deadline:
            time.sleep(0.05)  # kws has started once it has read the warm-up
        assert process.poll() is None, "kws detect ended early"
        # then the rest at the pace of a microphone, noting when each stretch of audio went in
        block = int(BLOCK_S * SAMPLE_RATE_HZ)
        written_at: list[tuple[float, float]] = []  # (audio written up to, s; monotonic time)
        paced_from = time.monotonic()
        for index, start in enumerate(range(warm_up, pcm.size, block)):
            time.sleep(max(0.0, paced_from + index * BLOCK_S - time.monotonic()))
            process.stdin.write(pcm[start : start + block].astype("<i2").tobytes())
            process.stdin.flush()
            written_at.append((min(start + block, pcm.size) / SAMPLE_RATE_HZ, time.monotonic()))
        try:
            printed_at, line = lines.get(timeout=LATENCY_LIMIT_S)
        except queue.Empty:
            pytest.fail("no detection printed while the pipe was open")
        time_s = _detection_time_s(line, as_json)
        keyword_written_at = next(at for end_s, at in written_at if end_s >= time_s)
        assert printed_at - keyword_written_at < LATENCY_LIMIT_S
        assert 2.0 < time_s < 4.5  # the keyword, not something else

        process.send_signal(signal.SIGINT)  # Ctrl-C with the pipe still open
        assert process.wait(timeout=30) == 130
    finally:
        process.kill()
        process.wait()
    for reader in readers:
        reader.join(timeout=10)
    assert lines.empty()  # nothing held back, nothing printed twice
    assert any("interrupted" in text for _, text in list(stderr_lines.queue))
