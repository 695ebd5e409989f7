"""Which full model a training keeps: the voices' clips, the misses, and the rule."""

from __future__ import annotations

import numpy as np
import pytest

from kws.frontend.config import SAMPLE_RATE_HZ
from training import realspeech, selection
from training.data import festvox
from training.selection import Judged


def _judged(start: int, epochs: int, val: float, clean: int, noisy: int) -> Judged:
    return Judged(start, epochs, val, 0.5, 0.9, clean, noisy)


def test_the_fewest_misses_clean_and_noisy_together_are_kept() -> None:
    judged = [_judged(0, 4, 0.10, 5, 40), _judged(1, 0, 0.20, 10, 20), _judged(1, 2, 0.05, 2, 50)]
    assert selection.margin(judged, 200) == pytest.approx(np.sqrt(400 * 0.075 * 0.925))  # 5.3
    assert selection.best(judged, 200) == 1


def test_within_one_standard_error_validation_decides_then_the_later_epoch() -> None:
    # 30 of 400 missed at best: a margin of 5.3 clips
    judged = [_judged(0, 1, 0.2, 10, 20), _judged(1, 2, 0.1, 10, 25), _judged(1, 3, 0.05, 10, 26)]
    assert selection.best(judged, 200) == 1
    judged = [_judged(0, 1, 0.1, 10, 20), _judged(0, 3, 0.1, 10, 24), _judged(1, 0, 0.1, 9, 20)]
    assert selection.best(judged, 200) == 1


def test_no_voice_installed_no_clips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(festvox, "installed_voices", lambda: ())
    assert selection.voice_clips("hey nova", 10, 0) is None


def _fake_voices(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    """Two voices that say a tone of a length set by the rate; the calls they got."""
    calls: list[tuple[str, float]] = []

    def speak(text: str, voice: str, stretch: float) -> np.ndarray:
        calls.append((voice, stretch))
        seconds = 0.4 * stretch
        tone = 0.9 * (-1.0) ** np.arange(int(seconds * SAMPLE_RATE_HZ))
        edge = np.zeros(800)  # the voice's own silence: trimmed
        return np.concatenate([edge, tone, edge]).astype(np.float32)

    monkeypatch.setattr(festvox, "installed_voices", lambda: ("festvox:a", "festvox:b"))
    monkeypatch.setattr(festvox, "speak", speak)
    return calls


def test_clips_take_the_voices_in_turn_as_the_bench_hears_recordings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _fake_voices(monkeypatch)
    clips = selection.voice_clips("hey nova", 5, seed=3)
    assert clips is not None and clips.voices == ("festvox:a", "festvox:b")
    assert [voice for voice, _ in calls] == ["festvox:a", "festvox:b"] * 2 + ["festvox:a"]
    assert all(0.8 <= stretch <= 1.4 for _, stretch in calls)
    lead_in = int(realspeech.LEAD_IN_S * SAMPLE_RATE_HZ)
    silence = int(selection.SILENCE_S * SAMPLE_RATE_HZ)
    assert len(clips.clean) == len(clips.noisy) == 5
    for (_, stretch), clean, noisy in zip(calls, clips.clean, clips.noisy, strict=True):
        # lead-in, silence, the tone without its edges, silence
        assert clean.size == noisy.size == lead_in + 2 * silence + int(0.4 * stretch * 16000)
        assert not clean[: lead_in + silence].any()
        peak = np.abs(clean).max() / 32768
        assert selection.PEAK[0] - 0.01 <= peak <= selection.PEAK[1] + 0.01
        assert np.abs(noisy[:lead_in]).max() > 0  # noise over the lead-in too
    again = selection.voice_clips("hey nova", 5, seed=3)
    assert again is not None
    assert all(np.array_equal(a, b) for a, b in zip(clips.noisy, again.noisy, strict=True))


class _FiresOnLoudClips:
    """A detector that fires after the lead-in when the clip's peak is over a level."""

    def __init__(self, level: int) -> None:
        self.level = level

    def reset(self) -> None:
        pass

    def process(self, pcm: np.ndarray) -> list[float]:
        return [realspeech.LEAD_IN_S + 0.5] if np.abs(pcm).max() > self.level else []


def test_missed_counts_clean_and_noisy_apart() -> None:
    quiet, loud = np.full(20000, 100, np.int16), np.full(20000, 9000, np.int16)
    clips = selection.VoiceClips(("festvox:a",), [quiet, loud, loud], [quiet, quiet, loud])
    assert selection.missed(_FiresOnLoudClips(1000), clips) == (1, 2)


@pytest.mark.skipif(not festvox.installed_voices(), reason="Flite and Festival are not installed")
def test_the_installed_voices_say_the_keyword() -> None:
    clips = selection.voice_clips("hey nova", len(festvox.installed_voices()), seed=0)
    assert clips is not None and len(clips.clean) == len(festvox.installed_voices())
    for pcm in clips.clean:
        assert 0.3 < pcm.size / SAMPLE_RATE_HZ - realspeech.LEAD_IN_S - 1.0 < 3.0
