"""Augmentation does what it says: measured pitch, formants, duration, decay and levels."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import augment
from training.data.clips import SpeechPlan, babble
from training.data.dataset import split_voices

RATE = augment.SAMPLE_RATE_HZ


def harmonic_vowel(f0_hz: float = 140.0, seconds: float = 1.0) -> np.ndarray:
    """A steady vowel: harmonics of ``f0_hz`` under formant-like peaks at 700 and 1200 Hz."""
    t = np.arange(int(seconds * RATE)) / RATE
    out = np.zeros_like(t)
    for k in range(1, int(7000 / f0_hz)):
        f = k * f0_hz
        envelope = np.exp(-(((f - 700) / 250) ** 2)) + 0.6 * np.exp(-(((f - 1200) / 300) ** 2))
        out += (envelope + 0.02) * np.sin(2 * np.pi * f * t)
    return (0.1 * out / np.abs(out).max()).astype(np.float32)


def pitch_hz(audio: np.ndarray) -> float:
    """Fundamental from the autocorrelation peak between 60 and 400 Hz."""
    middle = audio[RATE // 4 : RATE // 4 + 4096].astype(np.float64)
    corr = np.correlate(middle, middle, mode="full")[middle.size - 1 :]
    low, high = RATE // 400, RATE // 60
    return RATE / (low + int(np.argmax(corr[low:high])))


def spectral_centroid_hz(audio: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(audio.size, 1 / RATE)
    return float((power * freqs).sum() / power.sum())


def test_pitch_shift_moves_pitch_not_duration() -> None:
    vowel = harmonic_vowel(140.0)
    shifted = augment.pitch_shift(vowel, 3.0)
    assert shifted.size == vowel.size
    assert pitch_hz(shifted) == pytest.approx(140.0 * 2 ** (3 / 12), rel=0.04)


@pytest.mark.parametrize("alpha", [0.85, 1.15])
def test_formant_warp_moves_formants_keeps_pitch(alpha: float) -> None:
    vowel = harmonic_vowel(140.0)
    warped = augment.formant_warp(vowel, alpha)
    assert warped.size == vowel.size
    assert pitch_hz(warped) == pytest.approx(pitch_hz(vowel), rel=0.03)
    ratio = spectral_centroid_hz(warped) / spectral_centroid_hz(vowel)
    assert ratio == pytest.approx(alpha, rel=0.08)


def test_speed_change_scales_duration_and_pitch() -> None:
    vowel = harmonic_vowel(140.0)
    faster = augment.change_speed(vowel, 1.1)
    assert faster.size == round(vowel.size / 1.1)
    assert pitch_hz(faster) == pytest.approx(154.0, rel=0.04)


def test_gain_in_db() -> None:
    vowel = harmonic_vowel()
    louder = augment.apply_gain_db(vowel, 6.0)
    assert 20 * np.log10(augment.rms(louder) / augment.rms(vowel)) == pytest.approx(6.0, abs=1e-3)


def test_room_impulse_response_decays_60_db_over_rt60() -> None:
    rir = augment.room_impulse_response(np.random.default_rng(3), rt60_s=0.4)
    assert rir.size == int(0.4 * RATE)
    assert np.argmax(np.abs(rir)) == 0  # the direct path comes first
    tail = rir[int(0.01 * RATE) :].astype(np.float64) ** 2
    early = tail[: int(0.05 * RATE)].mean()
    late = tail[-int(0.05 * RATE) :].mean()
    # Decay over the ~0.34 s between the two windows' centres at 60 dB per 0.4 s: ~51 dB.
    assert 10 * np.log10(early / late) == pytest.approx(51.0, abs=6.0)


def test_mu_law_codec_keeps_the_signal_but_quantizes() -> None:
    vowel = harmonic_vowel()
    coded = augment.mu_law_codec(vowel)
    error = augment.rms(coded - vowel) / augment.rms(vowel)
    assert 0.0 < error < 0.1
    assert np.unique(coded).size <= 256


@pytest.mark.parametrize("kind", [*augment.NOISE_KINDS])
def test_noise_kinds_are_seeded(kind: str) -> None:
    one = augment.make_noise(kind, 8000, np.random.default_rng(4))
    two = augment.make_noise(kind, 8000, np.random.default_rng(4))
    np.testing.assert_array_equal(one, two)
    if kind != "silence":
        assert augment.rms(one) == pytest.approx(1.0, rel=1e-3)


def test_noise_colours_have_their_slopes() -> None:
    rng = np.random.default_rng(5)
    low_to_high = {}
    for kind in ("white", "pink", "brown"):
        power = np.abs(np.fft.rfft(augment.make_noise(kind, 64000, rng))) ** 2
        freqs = np.fft.rfftfreq(64000, 1 / RATE)
        low_to_high[kind] = (
            power[(freqs > 100) & (freqs < 200)].mean()
            / power[(freqs > 3200) & (freqs < 6400)].mean()
        )
    # 5 octaves apart: white ~0 dB, pink ~15 dB (3 dB/octave), brown ~30 dB (6 dB/octave).
    db = {kind: 10 * np.log10(ratio) for kind, ratio in low_to_high.items()}
    assert db["white"] == pytest.approx(0.0, abs=2.0)
    assert db["pink"] == pytest.approx(15.0, abs=3.0)
    assert db["brown"] == pytest.approx(30.0, abs=3.0)


def test_babble_is_overlapping_speech() -> None:
    # Not compared bit for bit across calls: espeak-ng carries a little synthesis state (pitch
    # flutter phase) from one utterance to the next, so repeated synthesis differs slightly.
    plan = SpeechPlan("hey nova", tuple(split_voices(0)["train"][:40]), (), (), 0)
    one = babble(plan, np.random.default_rng(6), 3 * RATE)
    assert one.size == 3 * RATE and augment.rms(one) == pytest.approx(1.0, rel=1e-3)
    # Several talkers at once: few silent 10 ms blocks, unlike one person speaking.
    blocks = np.sqrt(np.mean(one[: one.size // 160 * 160].reshape(-1, 160) ** 2, axis=1))
    assert np.mean(blocks < 0.05) < 0.2
