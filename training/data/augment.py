"""Audio augmentation and noise, all seeded: the same ``numpy.random.Generator`` state gives
the same audio. Works on float32 audio in [-1, 1] at 16 kHz.

Why each exists: users speak through other microphones (band-limiting, codecs), in rooms
(reverberation), at other distances and loudness (gain, noise at an SNR), at other speeds
(speed perturbation, which moves tempo, pitch and formants together), with other voices
(pitch shift at the same tempo) and other vocal-tract lengths (formant warping at the same
pitch). Time shift is where the dataset places speech in each clip.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import signal

from kws.frontend.config import SAMPLE_RATE_HZ

FloatAudio = npt.NDArray[np.float32]

NOISE_KINDS = ("white", "pink", "brown", "tones", "clicks", "silence")


def to_float(pcm: npt.NDArray[np.int16]) -> FloatAudio:
    return (pcm.astype(np.float32) / 32768.0).astype(np.float32)


def from_neural_voice(audio: npt.NDArray[np.floating[Any]], rate_hz: int) -> FloatAudio:
    """A neural voice's float output at its own rate as 16 kHz float32 speech: peak-normalised
    to 0.9, through int16 (as espeak-ng's audio comes), resampled."""
    from kws import synth

    peak = float(np.max(np.abs(audio), initial=0.0))
    pcm = (np.clip(audio / max(peak, 1e-6) * 0.9, -1.0, 1.0) * 32767).astype(np.int16)
    return to_float(synth.resample_int16(pcm, rate_hz, SAMPLE_RATE_HZ))


def to_int16(audio: FloatAudio) -> npt.NDArray[np.int16]:
    return np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)


def _f32(values: Any) -> FloatAudio:
    """float32 audio (also tells the type checker what scipy's untyped results are)."""
    return np.asarray(values, dtype=np.float32)


def rms(audio: npt.NDArray[np.floating[Any]]) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)) + 1e-12))


def make_noise(kind: str, n_samples: int, rng: np.random.Generator) -> FloatAudio:
    """Noise of one kind with unit-ish RMS (silence is near-zero hiss)."""
    if kind == "white":
        out = rng.standard_normal(n_samples)
    elif kind in ("pink", "brown"):
        spectrum = np.fft.rfft(rng.standard_normal(n_samples))
        freqs = np.maximum(np.fft.rfftfreq(n_samples), 1.0 / max(n_samples, 1))
        spectrum /= np.sqrt(freqs) if kind == "pink" else freqs
        out = np.fft.irfft(spectrum, n_samples)
    elif kind == "tones":
        t = np.arange(n_samples) / SAMPLE_RATE_HZ
        out = np.zeros(n_samples)
        for _ in range(rng.integers(1, 4)):
            out += np.sin(2 * np.pi * rng.uniform(100, 4000) * t + rng.uniform(0, 2 * np.pi))
    elif kind == "clicks":
        out = np.zeros(n_samples)
        positions = rng.integers(0, max(n_samples, 1), size=max(1, n_samples // 4000))
        out[positions] = rng.choice([-1.0, 1.0], size=positions.size) * 10.0
        out = signal.lfilter([1.0], [1.0, -0.9], out) + 0.05 * rng.standard_normal(n_samples)
    elif kind == "silence":
        out = 1e-3 * rng.standard_normal(n_samples)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; one of {NOISE_KINDS}")
    level = rms(out)
    return _f32(out / level) if kind != "silence" and level > 0 else _f32(out)


def mix_at_snr(speech: FloatAudio, noise: FloatAudio, snr_db: float) -> FloatAudio:
    """Add ``noise`` (tiled or cut to length) so speech RMS / noise RMS is ``snr_db``."""
    if noise.size < speech.size:
        noise = np.tile(noise, int(np.ceil(speech.size / max(noise.size, 1))))
    noise = noise[: speech.size]
    speech_rms = rms(speech)
    scale = speech_rms / (rms(noise) * 10 ** (snr_db / 20.0))
    return (speech + scale * noise).astype(np.float32)


def room_impulse_response(rng: np.random.Generator, rt60_s: float | None = None) -> FloatAudio:
    """A synthetic room: a direct path, then exponentially decaying noise with decay ``rt60_s``."""
    rt60 = rt60_s if rt60_s is not None else float(rng.uniform(0.15, 0.8))
    n_samples = int(rt60 * SAMPLE_RATE_HZ)
    t = np.arange(n_samples) / SAMPLE_RATE_HZ
    tail = rng.standard_normal(n_samples) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail[: int(0.002 * SAMPLE_RATE_HZ)] = 0.0
    rir = 0.4 * tail / (np.abs(tail).max() + 1e-9)
    rir[0] = 1.0
    return _f32(rir / np.sqrt(np.sum(rir**2)))


def reverberate(audio: FloatAudio, rir: FloatAudio) -> FloatAudio:
    wet = signal.fftconvolve(audio, rir)[: audio.size]
    return _f32(wet * (rms(audio) / max(rms(wet), 1e-9)))


def band_limit(audio: FloatAudio, low_hz: float, high_hz: float) -> FloatAudio:
    """A cheap microphone's band: 4th-order Butterworth band-pass."""
    sos = signal.butter(4, [low_hz, high_hz], btype="bandpass", fs=SAMPLE_RATE_HZ, output="sos")
    return _f32(signal.sosfilt(sos, audio))


def mu_law_codec(audio: FloatAudio, bits: int = 8) -> FloatAudio:
    """Round-trip through a mu-law codec (telephone-style quantisation)."""
    mu = float(2**bits - 1)
    clipped = np.clip(audio, -1.0, 1.0)
    encoded = np.sign(clipped) * np.log1p(mu * np.abs(clipped)) / np.log1p(mu)
    quantized = np.round((encoded + 1) / 2 * mu) / mu * 2 - 1
    return _f32(np.sign(quantized) * ((1 + mu) ** np.abs(quantized) - 1) / mu)


def change_speed(audio: FloatAudio, factor: float) -> FloatAudio:
    """Play ``factor`` times faster: tempo, pitch and formants move together (like a shorter or
    longer vocal tract)."""
    if abs(factor - 1.0) < 1e-3 or audio.size == 0:
        return audio
    n_out = max(1, int(round(audio.size / factor)))
    return _f32(signal.resample(audio, n_out))


def apply_gain_db(audio: FloatAudio, gain_db: float) -> FloatAudio:
    """Scale by ``gain_db`` decibels (clipping happens only at conversion to int16)."""
    return (audio * np.float32(10 ** (gain_db / 20.0))).astype(np.float32)


def pitch_shift(audio: FloatAudio, semitones: float) -> FloatAudio:
    """Raise the pitch by ``semitones`` keeping the duration (phase-vocoder time stretch, then
    resampling; librosa). Formants move with the pitch, as when one speaker talks higher."""
    if abs(semitones) < 1e-3 or audio.size < 2048:
        return audio
    import librosa

    shifted = librosa.effects.pitch_shift(
        audio, sr=SAMPLE_RATE_HZ, n_steps=semitones, res_type="soxr_hq"
    )
    return np.asarray(shifted, dtype=np.float32)


def formant_warp(audio: FloatAudio, alpha: float, n_fft: int = 512) -> FloatAudio:
    """Vocal-tract-length perturbation: stretch the spectral envelope by ``alpha`` (> 1 moves
    formants up, like a shorter vocal tract) while keeping pitch, tempo and phase.

    The magnitude spectrum of each STFT frame is resampled along frequency with the piecewise-
    linear VTLP warp (Jaitly & Hinton 2013: linear up to a boundary frequency, then joined to
    Nyquist so the band edge stays put); the original phase is kept.
    """
    if abs(alpha - 1.0) < 1e-3 or audio.size < n_fft:
        return audio
    hop = n_fft // 4
    _, _, spectrum = signal.stft(audio, fs=SAMPLE_RATE_HZ, nperseg=n_fft, noverlap=n_fft - hop)
    n_bins = spectrum.shape[0]
    out_bins = np.arange(n_bins, dtype=np.float64)
    nyquist_bin = float(n_bins - 1)
    boundary = 0.8 * nyquist_bin * min(1.0, 1.0 / alpha)
    # Output bin f shows the input's content at source(f): f / alpha below the boundary.
    source = np.where(
        out_bins <= boundary * alpha,
        out_bins / alpha,
        boundary
        + (out_bins - boundary * alpha)
        * (nyquist_bin - boundary)
        / (nyquist_bin - boundary * alpha),
    )
    magnitude = np.abs(spectrum)
    warped = np.empty_like(magnitude)
    for frame in range(magnitude.shape[1]):
        warped[:, frame] = np.interp(source, out_bins, magnitude[:, frame])
    phase = np.exp(1j * np.angle(spectrum))
    _, restored = signal.istft(
        warped * phase, fs=SAMPLE_RATE_HZ, nperseg=n_fft, noverlap=n_fft - hop
    )
    restored = restored[: audio.size]
    if restored.size < audio.size:
        restored = np.pad(restored, (0, audio.size - restored.size))
    return _f32(restored * (rms(audio) / max(rms(restored), 1e-9)))


def new_speaker(audio: FloatAudio, rng: np.random.Generator) -> FloatAudio:
    """Another speaker from one voice: a vocal tract 0.82-1.22 times as long (formants), most
    of the time, and a voice up to 5 semitones higher or lower, often."""
    if rng.random() < 0.8:
        audio = formant_warp(audio, float(rng.uniform(0.82, 1.22)))
    if rng.random() < 0.6:
        audio = pitch_shift(audio, float(rng.uniform(-5.0, 5.0)))
    return audio


def augment_speech(audio: FloatAudio, rng: np.random.Generator) -> FloatAudio:
    """One random chain of speaker, room and microphone changes (each applied with a chance)."""
    if rng.random() < 0.5:
        audio = change_speed(audio, float(rng.uniform(0.88, 1.12)))
    if rng.random() < 0.25:
        audio = pitch_shift(audio, float(rng.uniform(-3.0, 3.0)))
    if rng.random() < 0.35:
        audio = formant_warp(audio, float(rng.uniform(0.85, 1.18)))
    if rng.random() < 0.4:
        audio = reverberate(audio, room_impulse_response(rng))
    if rng.random() < 0.3:
        audio = band_limit(audio, float(rng.uniform(80, 400)), float(rng.uniform(3400, 7000)))
    if rng.random() < 0.1:
        audio = mu_law_codec(audio)
    return audio
