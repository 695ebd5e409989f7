"""openWakeWord's own models as a peer in a training's report (``training.peers``)."""

from __future__ import annotations

import numpy as np
import pytest

from kws.synth import VoiceSettings, synthesize
from training.card import render_card
from training.data import ClipSet, Split
from training.peers import (
    OPENWAKEWORD_FRAME_SAMPLES,
    OpenWakeWordScorer,
    openwakeword_figures,
    openwakeword_model,
)

pytest.importorskip("openwakeword")  # a dev extra: the peers come with kws[dev]


def _noise(seconds: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * 16000)) * 100).astype(
        np.int16
    )


def _clip(phrase: str, seed: int) -> np.ndarray:
    speech = synthesize(phrase, VoiceSettings(voice="en-us+m3", rate_wpm=140 + 10 * seed))
    return np.concatenate([_noise(0.5, seed), speech, _noise(0.4, seed + 1)]).astype(np.int16)


def _split(positives: list[np.ndarray], stream: np.ndarray) -> Split:
    def clips(pcm: list[np.ndarray]) -> ClipSet:
        empty = [np.zeros((0, 40), np.uint16) for _ in pcm]
        return ClipSet(empty, np.full(len(pcm), -1), ["v"] * len(pcm), pcm=pcm)

    return Split(
        clips(positives),
        clips([_noise(2.0, 7)]),
        np.zeros((0, 40), np.uint16),
        stream.size / 16000 / 3600,
        stream_pcm=stream,
    )


def test_only_the_keywords_openwakeword_has_a_model_for() -> None:
    assert openwakeword_model("hey jarvis") is not None
    assert openwakeword_model("alexa") is not None
    assert openwakeword_model("hey nova") is None
    assert openwakeword_figures("hey nova", _split([], _noise(1, 0)), 0.5) == {"available": False}


def test_a_stream_scores_every_80_ms_and_finds_the_keyword_in_it() -> None:
    scorer = OpenWakeWordScorer(str(openwakeword_model("hey jarvis")))
    keyword = _clip("hey jarvis", 1)
    stream = np.concatenate([_noise(70.0, 2), keyword, _noise(3.0, 3)]).astype(np.int16)
    stream = stream[: stream.size // OPENWAKEWORD_FRAME_SAMPLES * OPENWAKEWORD_FRAME_SAMPLES]
    scores = scorer.stream(stream)
    assert scores.size == stream.size // OPENWAKEWORD_FRAME_SAMPLES  # one per 80 ms
    keyword_at = int(70.0 * 16000 / OPENWAKEWORD_FRAME_SAMPLES)
    assert scores[keyword_at:].max() > 0.5  # the keyword, after the first minute's piece
    assert scores[:keyword_at].max() < 0.5  # noise alone
    assert scorer.clip_best(keyword) == pytest.approx(scores[keyword_at:].max(), abs=0.2)


def test_the_figures_reach_the_report_and_the_card() -> None:
    positives = [_clip("hey jarvis", seed) for seed in (1, 2)] + [_clip("good morning", 3)]
    figures = openwakeword_figures("hey jarvis", _split(positives, _noise(30.0, 4)), 0.5)
    assert figures["available"] and figures["model"] == "openWakeWord 0.4.0 hey_jarvis_v0.1"
    at = figures["at_its_threshold"]
    assert at["threshold"] == 0.5 and at["fa_per_hour"] == 0.0
    assert at["frr"] == pytest.approx(1 / 3, abs=0.01)  # "good morning" is not found
    assert figures["stream_hours"] == pytest.approx(30.0 / 3600, abs=1e-3)
    card = render_card({"keyword": "hey jarvis"}, {"evaluation": {"openwakeword": figures}})
    assert "| openWakeWord 0.4.0 hey_jarvis_v0.1 at its threshold 0.5" in card
    assert "| 33.3% | 0.0 |" in card


def test_a_split_without_audio_says_so() -> None:
    split = _split([], _noise(1, 0))
    split = Split(split.positives, split.negatives, split.stream_features, split.stream_hours)
    assert openwakeword_figures("alexa", split, 0.5) == {
        "available": False,
        "reason": "the test split kept no audio",
    }


def test_the_peer_module_leaves_tensorflow_out_of_the_realspeech_bench() -> None:
    """`kws bench realspeech` imports ``training.peers`` and runs on the runtime install."""
    import subprocess
    import sys

    check = "import sys, kws_cli.bench.realspeech; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"
