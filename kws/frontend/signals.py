"""Deterministic test signals for the frontend's tests and benchmark (no recordings needed).

``speech_like_pcm`` strings together voiced syllables (a glottal harmonic series with a moving
pitch, shaped by three formants, under a syllable envelope), fricative noise bursts and pauses
over a quiet noise floor: enough spectral and level variety to exercise every stage, including
noise reduction and PCAN adapting between syllables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from kws.frontend.config import SAMPLE_RATE_HZ

_FULL_SCALE = 32767


def _formant_gain(freq_hz: npt.NDArray[np.float64], formants_hz: tuple[float, ...]) -> Any:
    gain = np.zeros_like(freq_hz)
    for center_hz in formants_hz:
        bandwidth_hz = 80.0 + 0.06 * center_hz
        gain += 1.0 / (1.0 + ((freq_hz - center_hz) / bandwidth_hz) ** 2)
    return gain


def speech_like_pcm(
    seconds: float, seed: int = 0, level_dbfs: float = -20.0
) -> npt.NDArray[np.int16]:
    """``seconds`` of speech-like int16 PCM at 16 kHz; the same ``seed`` gives the same audio."""
    rng = np.random.default_rng(seed)
    n_samples = int(round(seconds * SAMPLE_RATE_HZ))
    out = np.zeros(n_samples, dtype=np.float64)
    position = 0
    while position < n_samples:
        kind = rng.choice(3, p=[0.6, 0.15, 0.25])
        length = int(rng.uniform(0.08, 0.3) * SAMPLE_RATE_HZ)
        length = min(length, n_samples - position)
        envelope = np.sin(np.pi * (np.arange(length) + 0.5) / max(length, 1)) ** 2
        if kind == 0:
            f0_start, f0_end = rng.uniform(90.0, 260.0, size=2)
            f0_hz = np.linspace(f0_start, f0_end, length)
            phase = 2 * np.pi * np.cumsum(f0_hz) / SAMPLE_RATE_HZ
            formants = (rng.uniform(300, 900), rng.uniform(900, 2300), rng.uniform(2300, 3500))
            segment = np.zeros(length)
            mean_f0 = float(np.mean(f0_hz))
            for harmonic in range(1, int(7000 // mean_f0)):
                gain = _formant_gain(np.array([harmonic * mean_f0]), formants)[0] / harmonic**0.5
                segment += gain * np.sin(harmonic * phase)
            segment *= envelope * rng.uniform(0.3, 1.0)
        elif kind == 1:
            noise = rng.standard_normal(length)
            # Fricatives are mostly high frequency: first difference as a cheap high-pass.
            segment = np.diff(noise, prepend=0.0) * envelope * rng.uniform(0.1, 0.4)
        else:
            segment = np.zeros(length)
        out[position : position + length] = segment
        position += length
    peak = np.max(np.abs(out)) if n_samples else 0.0
    if peak > 0:
        out *= (10 ** (level_dbfs / 20) * _FULL_SCALE * 4) / peak
    out += rng.standard_normal(n_samples) * (10 ** (-60 / 20) * _FULL_SCALE)
    return np.clip(np.round(out), -32768, _FULL_SCALE).astype(np.int16)


def noise_pcm(seconds: float, seed: int = 0, level_dbfs: float = -30.0) -> npt.NDArray[np.int16]:
    """``seconds`` of white Gaussian noise as int16 PCM with the given RMS level."""
    rng = np.random.default_rng(seed)
    n_samples = int(round(seconds * SAMPLE_RATE_HZ))
    rms = 10 ** (level_dbfs / 20) * _FULL_SCALE
    return np.clip(np.round(rng.standard_normal(n_samples) * rms), -32768, _FULL_SCALE).astype(
        np.int16
    )


def tone_pcm(freq_hz: float, seconds: float, amplitude: float = 0.5) -> npt.NDArray[np.int16]:
    """A pure sine tone at ``amplitude`` of full scale."""
    t_s = np.arange(int(round(seconds * SAMPLE_RATE_HZ))) / SAMPLE_RATE_HZ
    return np.round(amplitude * _FULL_SCALE * np.sin(2 * np.pi * freq_hz * t_s)).astype(np.int16)


def bench_pcm(seconds: float, seed: int = 0) -> npt.NDArray[np.int16]:
    """The benchmark audio: the speech-like signal (with its pauses) over -45 dBFS noise."""
    speech = speech_like_pcm(seconds, seed=seed)
    background = noise_pcm(seconds, seed=seed + 1, level_dbfs=-45.0)
    mixed: npt.NDArray[np.int16] = np.clip(
        speech.astype(np.int32) + background, -32768, _FULL_SCALE
    ).astype(np.int16)
    return mixed
