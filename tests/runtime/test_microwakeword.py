"""microWakeWord's models on kws's frontend and runtime give what pymicro-wakeword gives:
the same probability at every step, hence the same detections. That is the proof that the
frontend is TFLM-compatible end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pymicro_wakeword = pytest.importorskip("pymicro_wakeword")

from kws.errors import ThresholdError  # noqa: E402
from kws.frontend import compute_features  # noqa: E402
from kws.loading import load_cascade  # noqa: E402
from kws.synth import VoiceSettings, synthesize  # noqa: E402

MODELS = Path(pymicro_wakeword.__file__).parent / "models"


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    pieces = []
    for voice in ("en-us", "en+m3", "en-GB-x-rp+f2"):
        pieces += [
            np.zeros(8000, np.int16),
            synthesize("hey jarvis", VoiceSettings(voice, 140)),
            np.zeros(8000, np.int16),
            synthesize("okay nabu alexa", VoiceSettings(voice, 160)),
        ]
    rng = np.random.default_rng(3)
    audio = (
        np.concatenate(pieces).astype(np.float64)
        + rng.standard_normal(sum(p.size for p in pieces)) * 200
    )
    return np.clip(audio, -32768, 32767).astype(np.int16)


def reference_probabilities(name: str, pcm: np.ndarray) -> np.ndarray:
    model = pymicro_wakeword.MicroWakeWord.from_builtin(pymicro_wakeword.Model(name))
    features = pymicro_wakeword.MicroWakeWordFeatures()
    probabilities = []
    for start in range(0, pcm.size, 160):
        for frame in features.process_streaming(pcm[start : start + 160].tobytes()):
            model.process_streaming_prob(frame)
            if not model._features and model._probabilities:  # an inference just ran
                probabilities.append(model._probabilities[-1])
    return np.array(probabilities)


@pytest.mark.parametrize("name", ["hey_jarvis", "alexa", "okay_nabu"])
def test_same_probabilities_as_pymicro_wakeword(name: str, speech: np.ndarray) -> None:
    cascade = load_cascade(MODELS / f"{name}.json", reference_kernels=True)
    model = cascade.full
    frames = compute_features(speech)
    ours = np.array([model.step(frames[i : i + 3]) for i in range(0, frames.shape[0] - 2, 3)])
    theirs = reference_probabilities(name, speech)
    assert ours.size == theirs.size > 100
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_detections_match_at_a_low_cutoff(speech: np.ndarray) -> None:
    # espeak voices rarely reach the shipped 0.97 cutoff; a low cutoff gives detections to compare
    cutoff = 0.02
    cascade = load_cascade(MODELS / "hey_jarvis.json", reference_kernels=True, detect=cutoff)
    ours = [round(d.time_s, 2) for d in cascade.process(speech)]
    probabilities = reference_probabilities("hey_jarvis", speech)
    window = cascade.thresholds.smoothing_frames
    means = np.convolve(probabilities, np.ones(window) / window)[: probabilities.size]
    means[: window - 1] = 0  # pymicro-wakeword waits for a full window
    theirs, last = [], -(10**9)
    for step in np.nonzero(means >= cutoff)[0]:
        if step - last >= 25:  # our 0.75 s refractory period, in 30 ms steps
            theirs.append(step)
            last = step
    assert len(ours) == len(theirs)


def test_bad_overrides_of_a_microwakeword_model_are_a_threshold_error() -> None:
    with pytest.raises(ThresholdError, match="detect must be a number"):
        load_cascade(MODELS / "hey_jarvis.json", detect="high")


def test_reset_starts_a_microwakeword_model_afresh(speech: np.ndarray) -> None:
    # its state lives in resource variables, which LiteRT's reset_all_variables leaves alone:
    # before the fix, a second stream began with the first one's state
    model = load_cascade(MODELS / "okay_nabu.json").full
    frames = compute_features(speech)

    def scores() -> list[float]:
        return [model.step(frames[i : i + 3]) for i in range(0, frames.shape[0] - 2, 3)]

    first = scores()
    model.reset()
    assert scores() == first
