"""Generated music, no recordings, only numpy and a seed: the background of the streaming
wake-word benchmark (``firmware_sim.benchmark``) and of training's loud scenes
(``training.data.clips``).

MLPerf Tiny's streaming test plays two music recordings (MUSAN: a classical piece and a
Jamendo track). We have no licence to ship those, so we synthesise two pieces of the same kinds:
- ``chamber``: sustained diatonic chords (I-vi-IV-V style progressions) of harmonic tones with
  a slow attack and release, and an arpeggiated melody of plucked notes over them;
- ``band``: the same harmony as pads at 100-130 beats per minute with a bass on each chord's
  root, a kick drum on beats 1 and 3 (a decaying 120 -> 50 Hz sweep), a snare on 2 and 4 (a
  noise burst with a 190 Hz body) and a closed hi-hat on every eighth (a 3 ms noise tick).
Both are mono 16 kHz float32 at RMS 1.0; the caller sets the level. Tones are additive
(harmonic k at amplitude 1/k), so the spectrum fills the same bands as real instruments,
which is what the keyword spotter's features see; timbre and room are not modelled.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kws.frontend.config import SAMPLE_RATE_HZ

HARMONICS = 6
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
# chord progressions by scale degree (0 = I), the common ones of popular and classical music
PROGRESSIONS = ((0, 5, 3, 4), (0, 3, 4, 0), (5, 3, 0, 4), (0, 4, 5, 3), (1, 4, 0, 0))

FloatArray = npt.NDArray[np.float32]


def _midi_hz(note: float) -> float:
    return float(440.0 * 2 ** ((note - 69) / 12))


def _tone(freq_hz: float, length: int, decay_per_s: float, attack_s: float) -> FloatArray:
    """A harmonic tone (harmonic k at 1/k, none above 7.5 kHz) with a linear attack and an
    exponential decay."""
    t = np.arange(length, dtype=np.float32) / SAMPLE_RATE_HZ
    wave = np.zeros(length, np.float32)
    for k in range(1, HARMONICS + 1):
        if k * freq_hz < 7500:
            wave += np.sin(np.float32(2 * np.pi * k * freq_hz) * t) / np.float32(k)
    envelope = np.exp(-decay_per_s * t) * np.minimum(1.0, t / max(attack_s, 1e-3))
    shaped: FloatArray = (wave * envelope).astype(np.float32)
    return shaped


def _chord_notes(key: int, degree: int, octave: int) -> list[int]:
    """The triad on scale ``degree`` of the major ``key`` (MIDI root), ``octave`` up."""
    notes = []
    for step in (0, 2, 4):
        index = degree + step
        notes.append(key + 12 * (octave + index // 7) + MAJOR_SCALE[index % 7])
    return notes


def _add(out: FloatArray, start: int, sound: FloatArray) -> None:
    stop = min(out.size, start + sound.size)
    if start < stop:
        out[start:stop] += sound[: stop - start]


def _to_unit_rms(out: FloatArray) -> FloatArray:
    rms = float(np.sqrt(np.mean(out.astype(np.float64) ** 2))) if out.size else 0.0
    return (out / np.float32(rms)).astype(np.float32) if rms > 0 else out


def chamber(duration_s: float, rng: np.random.Generator) -> FloatArray:
    """Sustained chords with an arpeggiated melody (see the module docstring), RMS 1.0."""
    length = int(round(duration_s * SAMPLE_RATE_HZ))
    out = np.zeros(length, np.float32)
    key = int(rng.integers(55, 67))  # G3 .. F#4
    chord_s = float(rng.uniform(1.6, 2.4))
    note_s = chord_s / 8
    chord_samples = int(chord_s * SAMPLE_RATE_HZ)
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    for index, start in enumerate(range(0, length, chord_samples)):
        if index % 8 == 0:  # a new phrase: maybe another progression
            progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
        notes = _chord_notes(key, progression[index % 4], -1)
        for note in notes:
            _add(out, start, 0.5 * _tone(_midi_hz(note), chord_samples + 4000, 0.8, 0.25))
        melody = _chord_notes(key, progression[index % 4], 1)
        for step in range(8):
            note = melody[int(rng.integers(3))] + (12 if rng.random() < 0.2 else 0)
            pluck = _tone(_midi_hz(note), int(note_s * 3 * SAMPLE_RATE_HZ), 4.0, 0.005)
            _add(out, start + int(step * note_s * SAMPLE_RATE_HZ), 0.6 * pluck)
    return _to_unit_rms(out)


def _kick(length: int) -> FloatArray:
    t = np.arange(length, dtype=np.float32) / SAMPLE_RATE_HZ
    freq = 50 + 70 * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE_HZ
    return (np.sin(phase) * np.exp(-t / 0.12)).astype(np.float32)


def _snare(length: int, rng: np.random.Generator) -> FloatArray:
    t = np.arange(length, dtype=np.float32) / SAMPLE_RATE_HZ
    noise = rng.standard_normal(length).astype(np.float32) * np.exp(-t / 0.06)
    body = np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.08)
    return (0.7 * noise + 0.5 * body).astype(np.float32)


def _hat(length: int, rng: np.random.Generator) -> FloatArray:
    t = np.arange(length, dtype=np.float32) / SAMPLE_RATE_HZ
    noise = rng.standard_normal(length).astype(np.float32)
    bright = np.diff(noise, prepend=np.float32(0))  # a first difference tilts it to the highs
    return (0.3 * bright * np.exp(-t / 0.003)).astype(np.float32)


def band(duration_s: float, rng: np.random.Generator) -> FloatArray:
    """Chord pads, bass and drums at a steady tempo (see the module docstring), RMS 1.0."""
    length = int(round(duration_s * SAMPLE_RATE_HZ))
    out = np.zeros(length, np.float32)
    key = int(rng.integers(52, 64))
    beat = int(60.0 / float(rng.uniform(100, 130)) * SAMPLE_RATE_HZ)
    bar = 4 * beat
    kick, snare = _kick(int(0.3 * SAMPLE_RATE_HZ)), _snare(int(0.25 * SAMPLE_RATE_HZ), rng)
    progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    for index, start in enumerate(range(0, length, bar)):
        if index % 8 == 0:
            progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
        notes = _chord_notes(key, progression[index % 4], 0)
        for note in notes:
            _add(out, start, 0.3 * _tone(_midi_hz(note), bar, 0.5, 0.05))
        root = _midi_hz(notes[0] - 24)
        for beat_index in range(4):
            at = start + beat_index * beat
            _add(out, at, 0.8 * _tone(root, beat, 5.0, 0.005))
            _add(out, at, 1.2 * (kick if beat_index % 2 == 0 else snare))
            for half in (0, beat // 2):
                _add(out, at + half, _hat(int(0.05 * SAMPLE_RATE_HZ), rng))
    return _to_unit_rms(out)
