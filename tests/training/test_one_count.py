"""One count of false accepts (``kws.metrics``): what training counts on a score sequence (a
model's DET curve, the cascade's figures in a manifest) and what the runtime and `kws eval`
count on the same audio are the same number, on a stream where the shipped model fires."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from kws import metrics
from kws.defaults import resolve_bundle
from kws.frontend import compute_features
from kws.frontend.config import SAMPLE_RATE_HZ
from kws.loading import load_cascade
from kws.synth import VoiceSettings, synthesize
from kws_cli.commands.eval import evaluate_folder, read_layout
from training.data import ClipSet
from training.evaluate import cascade_run, score_sequence, smooth


@pytest.fixture(scope="module")
def stream() -> np.ndarray:
    """A sentence, then "hey jarvis", five times, in voices held out of training, at 10 dB."""
    from training.data import augment
    from training.data.dataset import split_voices

    rng = np.random.default_rng(3)
    pieces = []
    for index, voice in enumerate(split_voices(seed=0)["test"][:5]):
        settings = VoiceSettings(voice=voice, rate_wpm=140 + 10 * index, pitch=40 + 5 * index)
        pieces += [
            synthesize("so what I wanted to say was", settings),
            np.zeros(int(0.3 * SAMPLE_RATE_HZ), np.int16),
            synthesize("hey jarvis", settings),
            np.zeros(int(1.2 * SAMPLE_RATE_HZ), np.int16),
        ]
    speech = augment.to_float(np.concatenate(pieces))
    noisy = augment.mix_at_snr(speech, augment.make_noise("pink", speech.size, rng), 10.0)
    return augment.to_int16(noisy)


@pytest.mark.parametrize("smoothing", [1, 3])
def test_a_models_det_count_is_the_runtimes_detections(stream: np.ndarray, smoothing: int) -> None:
    features = compute_features(stream)
    counted = []
    for threshold in (0.2, 0.5, 0.9, 0.99):
        cascade = load_cascade(
            resolve_bundle(None),
            full_only=True,
            detect=threshold,
            detect_smoothing=smoothing,
            refractory_s=metrics.REFRACTORY_S,
        )
        scores = smooth(score_sequence(cascade.full, features), smoothing)
        cascade.reset()
        detections = len(cascade.process_features(features))
        assert metrics.firings(scores, threshold, cascade.full.stride_frames) == detections
        counted.append(detections)
    assert max(counted) >= 3  # the rule was exercised: several firings, refractory between


def test_kws_eval_and_trainings_cascade_figures_agree(stream: np.ndarray, tmp_path: Path) -> None:
    negatives = tmp_path / "negatives"
    negatives.mkdir()
    soundfile.write(negatives / "stream.wav", stream, SAMPLE_RATE_HZ)
    bundle = resolve_bundle(None)
    cascade = load_cascade(bundle, detect=0.5)
    evaluated = evaluate_folder(cascade, read_layout(tmp_path, cascade.keyword))
    trained = cascade_run(
        lambda: load_cascade(bundle, detect=0.5),
        ClipSet([], np.zeros(0, np.int32), []),
        compute_features(stream),
        stream.size / SAMPLE_RATE_HZ / 3600,
    )
    assert evaluated["false_accepts"] >= 2
    assert evaluated["fa_per_hour"] == round(trained["fa_per_hour"], 3)
