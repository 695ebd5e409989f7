"""The audio a battery run replays: read PCM chunk by chunk, seconds and keyword times counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from firmware_sim.replay import AudioSource


def test_a_file_is_read_in_chunks_without_labels(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    soundfile.write(path, np.zeros(16000 * 25, np.int16), 16000)  # more than one 10 s read
    source = AudioSource("hey jarvis", audio=path)
    assert source.planned_s is None and not source.labelled
    sizes = [chunk.size for chunk in source.pcm_chunks()]
    assert len(sizes) > 1 and all(size <= 16000 * 10 for size in sizes) and sum(sizes) == 400000
    assert source.seconds == pytest.approx(25.0)
    assert source.keyword_times == []


def test_a_scenario_counts_its_keywords_and_planned_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def two_chunks(scenario, keyword, minutes, seed=0):  # type: ignore[no-untyped-def]
        yield np.zeros(30 * 16000, np.int16), [12.5]
        yield np.zeros(30 * 16000, np.int16), [40.0, 55.0]

    monkeypatch.setattr("firmware_sim.scenarios.generate", two_chunks)
    source = AudioSource("hey jarvis", scenario="office", minutes=0.75)
    assert source.labelled and source.planned_s == 60.0  # generated in whole 30 s chunks
    assert [chunk.size for chunk in source.pcm_chunks()] == [30 * 16000, 30 * 16000]
    assert source.seconds == 60.0 and source.keyword_times == [12.5, 40.0, 55.0]
