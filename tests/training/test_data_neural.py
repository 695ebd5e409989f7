"""Piper voices through onnxruntime: phonemes, framing, and their share of the training data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kws.errors import SynthesisError
from training.data import neural
from training.data.clips import ClipJob, SpeechPlan, make_clip, pick_voice


def test_ipa_comes_from_espeak_ng() -> None:
    from training.data.phonemes import text_to_phonemes

    assert text_to_phonemes("smart mirror", "en-us", ipa=True) == "smˈɑːɹt mˈɪɹɚ"


def test_phoneme_ids_are_framed_as_piper_expects() -> None:
    id_map = {"^": [1], "$": [2], "_": [0], "a": [5], "ˈ": [7], " ": [3]}
    # an unknown character (espeak-ng versions differ) is left out, every phoneme padded
    assert neural.phoneme_ids("ˈa a?", id_map) == [1, 7, 0, 5, 0, 3, 0, 5, 0, 2]


def test_a_voice_needs_its_model_and_config(tmp_path: Path) -> None:
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"not a model")
    with pytest.raises(SynthesisError, match="needs the .onnx and its .onnx.json"):
        neural.voice_id(model)
    model.with_name("voice.onnx.json").write_text("{}")
    voice = neural.voice_id(model)
    assert neural.is_neural(voice) and voice.endswith("voice.onnx")
    with pytest.raises(SynthesisError, match="cannot load the Piper voice"):
        neural.speak_neural("hello", voice, np.random.default_rng(0))


def test_neural_voices_speak_their_share_of_the_training_split_only() -> None:
    plan = SpeechPlan("hey nova", ("en-us+m1", "en+f1"), (), (), 0, ("piper:/v.onnx",))
    rng = np.random.default_rng(0)
    picks = [pick_voice(plan, rng) for _ in range(2000)]
    share = sum(neural.is_neural(v) for v in picks) / len(picks)
    assert abs(share - 0.3) < 0.04
    espeak_only = SpeechPlan("hey nova", ("en-us+m1",), (), (), 0)
    assert {pick_voice(espeak_only, rng) for _ in range(50)} == {"en-us+m1"}


@pytest.mark.skipif(not neural.installed_voices(), reason="no Piper voice package installed")
def test_an_installed_voice_says_the_keyword_in_training_clips() -> None:
    (voice,) = neural.installed_voices()[:1]
    audio = neural.speak_neural("hey nova", voice, np.random.default_rng(0))
    assert 0.4 < audio.size / 16000 < 2.0 and audio.dtype == np.float32
    assert 0.05 < float(np.sqrt(np.mean(audio**2))) < 0.9
    plan = SpeechPlan("hey nova", ("en-us+m1",), (), (), 0, (voice,))
    clips = [make_clip(ClipJob(plan, "train", "pos", i, keep_pcm=False)) for i in range(8)]
    assert any(neural.is_neural(clip[2]) for clip in clips)
    for features, end_frame, _, _, _ in clips:
        assert features.shape[1] == 40 and 0 < end_frame < features.shape[0]
