"""Lines other libraries write to stderr that a kws user should not have to read.

LiteRT announces "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on the first model
a process loads, libmpg123 notes each damaged MP3 frame it skips, and TensorFlow logs a dozen
lines per process through absl (which ``TF_CPP_MIN_LOG_LEVEL`` no longer silences: TensorFlow
2.21 logs before the level is read), converter settings and Python deprecation warnings. They
are written by C code straight to file descriptor 2, so they are filtered there: ``dropping``
for a short section (a model being loaded, an MP3 block being decoded), ``filtered`` for a long
run with child processes (training). Lines that do not match the noise still reach stderr.
"""

from __future__ import annotations

import os
import re
import select
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from threading import Event, RLock, Thread
from typing import BinaryIO, TextIO

LITERT_INFO = re.compile(r"INFO: ")  # LiteRT's own information lines; its errors say ERROR:
MPG123_NOTE = re.compile(r"\[[^\]]*libmpg123[^\]]*\]|Note: |Warning: ")
ABSL_LOG = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    # absl's I/W/E lines ("I0000 00:00:1796275855.356489   31056 port.cc:153] ..."; before
    # absl is initialised the time is seconds since 1970); F (fatal) lines stay
    r"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "
    # the second line of cpu_feature_guard's "This TensorFlow binary is optimized ..."
    r"|To enable the following instructions: .*rebuild TensorFlow"
)
TFLITE_CONVERTER = re.compile(r"fully_quantize: |INFO: ")
PYTHON_WARNING = re.compile(r"\S.*\.py:\d+: \w*Warning: ")  # warnings.showwarning's first line
PIPE_READ_BYTES = 65_536
POLL_S = 0.05  # how often the filter looks whether it is asked to stop

# One section at a time: file descriptor 2 belongs to the whole process.
_FD2_LOCK = RLock()


class TensorflowNoise:
    """Whether a stderr line is TensorFlow's, its converter's or a Python warning (with its
    indented continuation lines): called line by line, it keeps state across them."""

    def __init__(self) -> None:
        self._in_warning = False

    def __call__(self, line: str) -> bool:
        if self._in_warning and line[:1] in (" ", "\t"):
            return True
        self._in_warning = bool(PYTHON_WARNING.match(line))
        if self._in_warning or not line.strip():  # TensorFlow's import writes an empty line
            return True
        return bool(ABSL_LOG.match(line) or TFLITE_CONVERTER.match(line))


def _flush_python_stderr() -> None:
    if sys.stderr is not None:
        sys.stderr.flush()


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _capture_file() -> tuple[int, BinaryIO] | None:
    """A duplicate of file descriptor 2 and a temporary file to hold its lines, or None when
    there is no stderr or nowhere to hold them (then nothing is filtered)."""
    try:
        capture = tempfile.TemporaryFile()
    except OSError:
        return None
    try:
        return os.dup(2), capture
    except OSError:
        capture.close()
        return None


@contextmanager
def dropping(noise: re.Pattern[str]) -> Iterator[None]:
    """Run the block with file descriptor 2 in a temporary file, then write to stderr the
    lines that do not match ``noise``. For short sections: what is kept is written late."""
    with _FD2_LOCK:
        _flush_python_stderr()
        opened = _capture_file()
        if opened is None:
            yield
            return
        saved_fd, capture = opened
        with capture:
            os.dup2(capture.fileno(), 2)
            try:
                yield
            finally:
                _flush_python_stderr()
                os.dup2(saved_fd, 2)
                os.close(saved_fd)
                capture.seek(0)
                lines = capture.read().decode("utf-8", "replace").splitlines(keepends=True)
                kept = "".join(line for line in lines if not noise.match(line))
                _write_all(2, kept.encode())


def _pump(read_fd: int, terminal_fd: int, is_noise: Callable[[str], bool], stop: Event) -> None:
    """Copy the pipe to the terminal line by line, leaving out the noise, until ``stop`` is set
    and the pipe has nothing more to read (a child process that outlives the run, such as
    multiprocessing's resource tracker, keeps it open: waiting for its end would hang)."""
    pending = b""
    try:
        while True:
            readable, _, _ = select.select([read_fd], [], [], POLL_S)
            if not readable:
                if stop.is_set():
                    break
                continue
            block = os.read(read_fd, PIPE_READ_BYTES)
            if not block:
                break
            *lines, pending = (pending + block).split(b"\n")
            kept = [line + b"\n" for line in lines if not is_noise(line.decode("utf-8", "replace"))]
            _write_all(terminal_fd, b"".join(kept))
        if pending and not is_noise(pending.decode("utf-8", "replace")):
            _write_all(terminal_fd, pending)
    finally:
        os.close(read_fd)
        os.close(terminal_fd)


@contextmanager
def filtered(is_noise: Callable[[str], bool]) -> Iterator[TextIO]:
    """Run the block with file descriptor 2, and so the stderr of every process it starts,
    going through a filter that drops the lines ``is_noise`` says are noise; the others reach
    stderr as they come. Yields a stream on the real stderr, for a progress display that must
    know it writes to a terminal.
    """
    _flush_python_stderr()
    try:
        saved_fd = os.dup(2)
    except OSError:  # no stderr at all: nothing to filter
        yield sys.stderr
        return
    read_fd, write_fd = os.pipe()
    stop = Event()
    pump = Thread(target=_pump, args=(read_fd, os.dup(saved_fd), is_noise, stop), daemon=True)
    pump.start()
    with _FD2_LOCK:
        os.dup2(write_fd, 2)
    os.close(write_fd)
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    terminal = open(os.dup(saved_fd), "w", buffering=1, encoding=encoding, errors="replace")
    try:
        yield terminal
    finally:
        terminal.close()
        _flush_python_stderr()
        with _FD2_LOCK:
            os.dup2(saved_fd, 2)
        os.close(saved_fd)
        stop.set()
        pump.join()
