"""`kws bench realspeech` on a folder it builds itself (tests never read ../shared)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kws.defaults import default_bundle_dir
from kws_cli.bench.realspeech import measure
from training.realspeech import (
    LEAD_IN_S,
    DevSet,
    heard,
    heard_sets,
    phrase_folders,
    read_folders,
    recording_figures,
)


@pytest.fixture(scope="module")
def phrase_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kws_cli.demo import make_recordings

    root = tmp_path_factory.mktemp("realspeech")
    (root / "hey_jarvis").mkdir()
    (root / "other_talk").mkdir()
    (root / "empty").mkdir()
    with_keyword, without_keyword = make_recordings(root)
    with_keyword.rename(root / "hey_jarvis" / "one.wav")
    without_keyword.rename(root / "other_talk" / "one.wav")
    return root


def test_folders_are_phrases_and_empty_ones_are_left_out(phrase_dir: Path) -> None:
    folders = phrase_folders(phrase_dir)
    assert sorted(folders) == ["hey jarvis", "other talk"]


def test_a_recording_is_heard_after_its_room_tone_and_mixed_at_the_snr() -> None:
    rng = np.random.default_rng(0)
    room = rng.standard_normal(16000) * 30
    tone = np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000) * 8000
    pcm = np.concatenate([room, tone]).astype(np.int16)
    clean = heard(pcm, None, seed=0, index=0)
    lead = int(LEAD_IN_S * 16000)
    assert clean.size == lead + pcm.size
    assert np.array_equal(clean[lead:], pcm)
    assert np.sqrt(np.mean(clean[:lead].astype(float) ** 2)) < 60  # room tone, not the tone
    for index in range(4):  # each noise kind
        noisy = heard(pcm, 10.0, seed=0, index=index).astype(float)
        noise = noisy - clean  # over the lead-in too: the noise's level is its average
        snr_db = 10 * np.log10(np.mean(pcm.astype(float) ** 2) / np.mean(noise**2))
        assert abs(snr_db - 10.0) < 0.5
        assert np.array_equal(noisy, heard(pcm, 10.0, seed=0, index=index))  # seeded


class _FiresOnLoud:
    """A detector that fires, after the lead-in, on any recording louder than 1,000."""

    def reset(self) -> None:
        pass

    def process(self, pcm: np.ndarray) -> list[float]:
        return [LEAD_IN_S + 0.5] if np.abs(pcm).max() > 1000 else []


def test_the_other_phrases_are_counted_one_by_one() -> None:
    loud, quiet = np.full(800, 2000, np.int16), np.zeros(800, np.int16)
    clean = {"own": [loud, quiet], "a": [loud, quiet, quiet, quiet], "b": [quiet] * 4}
    row = recording_figures(_FiresOnLoud(), "own", clean, {"own": [loud, loud]})
    assert row["frr_clean"] == 0.5 and row["frr_noisy"] == 0.0 and row["recordings"] == 2
    assert row["others_accepted"] == 0.125 and row["others"] == 8  # 1 of 8
    assert row["others_accepted_by_phrase"] == {"a": 0.25, "b": 0.0}


def test_a_dev_set_hears_each_keyword_once_and_measures_as_the_protocol(phrase_dir: Path) -> None:
    dev = DevSet(phrase_dir)
    figures = dev.figures(_FiresOnLoud(), "hey jarvis")
    recordings, _ = read_folders(phrase_folders(phrase_dir))
    expected = recording_figures(
        _FiresOnLoud(), "hey jarvis", *heard_sets(recordings, {"hey jarvis"}, 10.0, 0)
    )
    assert figures == expected and figures["recordings"] == 1 and figures["others"] == 1
    heard_once = dev._heard["hey jarvis"]
    assert dev.figures(_FiresOnLoud(), "hey jarvis") == figures
    assert dev._heard["hey jarvis"] is heard_once  # mixed once, not per detector


def test_the_shipped_bundle_and_the_peers_on_a_phrase_folder(phrase_dir: Path) -> None:
    figures = measure(phrase_dir, [default_bundle_dir()], snr_db=10.0, stream_minutes=0.3)
    rows = {row["detector"]: row for row in figures["rows"]}
    ours = rows["kws hey_jarvis, floor -60 dBFS"]
    assert ours["keyword"] == "hey jarvis" and ours["recordings"] == 1
    assert ours["frr_clean"] == 0.0  # make demo's recording is found
    assert ours["others_accepted"] == 0.0 and ours["others"] == 1
    assert ours["others_accepted_by_phrase"] == {"other talk": 0.0}
    assert figures["stream_hours"] == pytest.approx(20 / 3600, abs=1e-3)
    assert ours["false_accepts"] >= 0 and "fa_per_hour" in ours
    # the peers whose keyword has a folder sit beside it, on the same audio
    assert {"microWakeWord hey_jarvis", "openWakeWord hey_jarvis_v0.1"} <= set(rows)
    assert all("frr_noisy" in row for row in rows.values())


def test_a_missing_folder_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kws", "bench", "realspeech", str(tmp_path / "nope"), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"kws bench: error: {tmp_path / 'nope'} is not a folder"
    ]
    assert result.stdout == ""


def test_json_output_has_a_row_per_detector(phrase_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kws", "bench", "realspeech", str(phrase_dir)]
        + ["--model", str(default_bundle_dir()), "--stream-minutes", "0", "--json"]
        + ["--noise-floor", "off", "--noise-floor", "-50"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout)
    assert figures["stream_hours"] == 0 and figures["folders"] == {"hey jarvis": 1, "other talk": 1}
    assert [row["detector"] for row in figures["rows"]][:3] == [
        "kws hey_jarvis, floor -60 dBFS",  # the bundle's own
        "kws hey_jarvis, no floor",
        "kws hey_jarvis, floor -50 dBFS",
    ]
    assert figures["noise_floors_dbfs"] == [None, -50.0]
    # make demo's recording is found with and without a floor
    assert [row["frr_clean"] for row in figures["rows"][:3]] == [0.0, 0.0, 0.0]
