"""The live loop with a fake input stream: no sound card needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kws.loading import load_cascade
from kws.microphone import BLOCK_SAMPLES, MicrophoneSource, SourceStats
from kws_cli.commands.listen import MAX_SILENT_READS, listen_loop


class FakeSource:
    """Delivers ``blocks`` blocks of noise, then nothing (like an unplugged device)."""

    def __init__(self, blocks: int, dropped_blocks: int = 0) -> None:
        self.remaining = blocks
        self.stats = SourceStats(dropped_blocks=dropped_blocks)
        self.none_reads = 0
        self.rng = np.random.default_rng(0)

    def read(self, timeout_s: float = 1.0) -> np.ndarray | None:
        if self.remaining == 0:
            self.none_reads += 1
            return None
        self.remaining -= 1
        return (self.rng.standard_normal(BLOCK_SAMPLES) * 300).astype(np.int16)


def test_loop_processes_audio_and_ends_when_device_disappears(random_bundle: Path) -> None:
    cascade = load_cascade(random_bundle)
    source = FakeSource(blocks=100, dropped_blocks=4)
    updates = []
    summary = listen_loop(cascade, source, lambda c, level, s: updates.append(level))
    assert summary.seconds == pytest.approx(100 * BLOCK_SAMPLES / 16000)
    assert cascade.counters.hops == 298  # 3 s of audio, minus the first window's 2 hops
    assert source.none_reads == MAX_SILENT_READS
    assert summary.ended_because == "input device stopped delivering audio"
    assert summary.dropped_s == 4 * BLOCK_SAMPLES / 16000
    assert len(updates) == 100 and all(level <= 0 for level in updates)
    assert "audio dropped 0.12 s" in summary.lines()[0]
    # the detector's own CPU, per hour of audio, as kws bench cascade measures it
    assert summary.detector_cpu_s > 0
    assert summary.cpu_s_per_hour == pytest.approx(summary.detector_cpu_s / (3 / 3600))
    assert f"detector CPU {summary.cpu_s_per_hour:.2f} s per hour of audio" in summary.lines()[0]


def test_loop_stops_on_request(random_bundle: Path) -> None:
    cascade = load_cascade(random_bundle)
    source = FakeSource(blocks=1000)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 10

    summary = listen_loop(cascade, source, lambda *a: None, should_stop=stop)
    assert summary.ended_because == "stopped"
    assert source.remaining == 990


def test_a_keyword_with_brackets_is_shown_as_text_not_markup(random_bundle: Path) -> None:
    import io

    from rich.console import Console

    from kws_cli.commands.listen import ListenSummary, print_summary, render_status

    cascade = load_cascade(random_bundle)
    cascade.keyword = "hey [/b] [red]jarvis"
    summary = ListenSummary(detections=[(1.0, cascade.keyword, 0.99)])
    console = Console(file=io.StringIO(), width=100)
    console.print(render_status(cascade, -30.0, summary))
    print_summary(console, summary)
    assert console.file.getvalue().count("hey [/b] [red]jarvis") == 3  # type: ignore[attr-defined]


def test_microphone_callback_counts_overflow_instead_of_blocking() -> None:
    source = MicrophoneSource(queue_blocks=2)
    block = np.zeros((BLOCK_SAMPLES, 1), np.int16)
    for _ in range(5):
        source._callback(block, BLOCK_SAMPLES, None, None)
    assert source.stats.blocks == 2 and source.stats.dropped_blocks == 3
    assert source.read(0.01) is not None and source.read(0.01) is not None
    assert source.read(0.01) is None
