"""Behaviour unchanged: the shipped bundles on recordings made once (``tests/fixtures/replay``)
give exactly the detections, scores and counters recorded there. A change that moves one of
them is either a bug or meant; when meant, ``tests/fixtures/make_replay.py`` records the new
behaviour in the same commit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import soundfile

from kws.defaults import shipped_bundle_dirs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))
from make_replay import REPLAY_DIR, replay  # noqa: E402

EXPECTED = json.loads((REPLAY_DIR / "expected.json").read_text())


@pytest.mark.parametrize("recording", sorted(EXPECTED))
def test_the_shipped_bundles_replay_exactly(recording: str) -> None:
    pcm = soundfile.read(REPLAY_DIR / f"{recording}.flac", dtype="int16")[0]
    bundles = {bundle.name: bundle for bundle in shipped_bundle_dirs()}
    assert sorted(bundles) == sorted(EXPECTED[recording])
    for name, expected in EXPECTED[recording].items():
        assert json.loads(json.dumps(replay(bundles[name], pcm))) == expected, name


def test_the_replay_exercises_detections_wakes_and_quiet() -> None:
    """Not vacuous: the recordings hold detections by both bundles, a wake that confirms
    nothing, and speech that wakes nothing."""
    runs = [run for by_bundle in EXPECTED.values() for run in by_bundle.values()]
    assert {d[1] for run in runs for d in run["detections"]} == {"hey jarvis", "alexa"}
    assert any(run["counters"][3] > run["counters"][4] for run in runs)  # wakes > detections
    assert any(run["counters"][3] == 0 for run in runs)
