"""Flite's and Festival's voices: which are found, and what they say."""

from __future__ import annotations

import numpy as np
import pytest

from kws.errors import SynthesisError
from training.data import festvox

FLITE = "festvox:flite:awb"
FESTIVAL = "festvox:festival:kal_diphone"


def test_no_program_no_voice(monkeypatch: pytest.MonkeyPatch) -> None:
    festvox.installed_voices.cache_clear()
    monkeypatch.setattr(festvox.shutil, "which", lambda _name: None)
    try:
        assert festvox.installed_voices() == ()
    finally:
        festvox.installed_voices.cache_clear()


def test_a_voice_that_is_not_installed_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(festvox, "installed_voices", lambda: ())
    with pytest.raises(SynthesisError, match="make setup-voices"):
        festvox.speak("hey nova", FLITE, 1.0)


@pytest.mark.skipif(FLITE not in festvox.installed_voices(), reason="flite is not installed")
def test_a_flite_voice_says_the_phrase_at_the_given_rate() -> None:
    audio = festvox.speak("hey nova", FLITE, 1.0)
    again = festvox.speak("hey nova", FLITE, 1.0)
    slower = festvox.speak("hey nova", FLITE, 1.4)
    assert audio.dtype == np.float32 and 0.3 < audio.size / 16000 < 3.0
    assert np.array_equal(audio, again)
    assert slower.size > audio.size * 1.2
    assert abs(float(np.abs(audio).max()) - 0.9) < 0.01


@pytest.mark.skipif(FESTIVAL not in festvox.installed_voices(), reason="festival is not installed")
def test_a_festival_voice_says_the_phrase() -> None:
    audio = festvox.speak("hey nova", FESTIVAL, 1.0)
    assert audio.dtype == np.float32 and 0.3 < audio.size / 16000 < 3.0
