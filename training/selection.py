"""Which full model a training keeps with ``kws train --choose-full voices``: one that misses
least of the keyword said by other engines' voices, each candidate at the thresholds it would
ship with (within one standard error of the fewest misses, the best on validation).

A training makes twenty full-model candidates (four initialisations by default, each exported after
0-4 QAT epochs). They differ most where the training data is silent: on voices unlike espeak-ng's.
The keyword said by Flite's and Festival's seven voices (``training.data.festvox``: each built from
one real speaker's recordings) ranks a training's candidates as real people's recordings do
(Spearman 0.63-0.96 over six trainings, three phrases and two seeds; mean 0.85), where the mean FRR
on validation voices, the default rule, ranks them -0.26-0.96 (mean 0.57; docs/RESULTS.md, "Which
of a training's models finds people"). Yet the candidates of one training are close on people, and
the rule kept models that missed 37.3 / 49.4% of people (clean / 10 dB) against validation's 38.1 /
50.7% on those six: within the spread, so validation stays the default. Over four starts the gap
grew (48.5 / 53.9% against 51.8 / 57.5% on three trainings; "Four starts"), still from few
trainings. The voices never train a model: they only choose among models trained on espeak-ng's.

The clips are made as ``docs/experiments/probe_timing_and_voices.py`` made the measured ones:
the voices in turn, speaking rate drawn per clip, 0.5 s of silence each side, peak 0.1-0.7; then
heard as ``kws bench realspeech`` plays recordings (``training.realspeech``): clean, and mixed
with the project's noise at 10 dB SNR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.errors import TrainingError
from kws.frontend.config import SAMPLE_RATE_HZ
from training import realspeech
from training.data import augment, festvox

# full models trained from new initialisations (`kws train --full-starts`), each start's QAT
# epochs the candidates: a training's starts differ on people far more than its epochs do, and
# validation and the voices agree where they differ most (docs/RESULTS.md, "Four starts")
FULL_STARTS = 4
QUICK_FULL_STARTS = 2  # a smoke test
MAX_FULL_STARTS = 8
CLIPS = 200  # of the default preset: 28-29 a voice
QUICK_CLIPS = 14
SNR_DB = 10.0
SILENCE_S = 0.5
PEAK = (0.1, 0.7)
TRIM_BELOW = 0.02  # of the peak: the voice's own silence at either end is cut first
SEED_SALT = 7919  # the clips' draws apart from the data's, which use the same seed


@dataclass(frozen=True)
class VoiceClips:
    """The keyword said by ``voices`` in turn, as heard clean and at ``SNR_DB``."""

    voices: tuple[str, ...]
    clean: list[npt.NDArray[np.int16]]
    noisy: list[npt.NDArray[np.int16]]


def check_full_starts(starts: int, name: str) -> None:
    """Raise ``TrainingError`` naming ``name`` (the option as the caller knows it) unless
    ``starts`` is 1 to ``MAX_FULL_STARTS``."""
    if not 1 <= starts <= MAX_FULL_STARTS:
        raise TrainingError(f"{name} {starts}: give 1 to {MAX_FULL_STARTS}")


def voice_clips(keyword: str, count: int, seed: int) -> VoiceClips | None:
    """``count`` clips of ``keyword`` in the installed Festvox voices, or None where none is.

    Raises:
        SynthesisError: a voice's program fails.
    """
    voices = festvox.installed_voices()
    if not voices:
        return None
    rng = np.random.default_rng([seed, SEED_SALT])
    silence = np.zeros(int(SILENCE_S * SAMPLE_RATE_HZ), np.float32)
    said = []
    for index in range(count):
        speech = festvox.speak(
            keyword, voices[index % len(voices)], rng.uniform(*festvox.DURATION_STRETCH)
        )
        audio = np.concatenate([silence, _trimmed(speech), silence])
        audio *= rng.uniform(*PEAK) / max(float(np.abs(audio).max()), 1e-6)
        said.append(augment.to_int16(audio))
    clean, noisy = realspeech.heard_sets({keyword: said}, {keyword}, SNR_DB, seed)
    return VoiceClips(voices, clean[keyword], noisy[keyword])


def _trimmed(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    loud = np.flatnonzero(np.abs(audio) > TRIM_BELOW * np.abs(audio).max(initial=0.0))
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def missed(detector: Any, clips: VoiceClips) -> tuple[int, int]:
    """Clips ``detector`` misses (no detection after the lead-in): clean, and at ``SNR_DB``."""
    return (
        sum(not realspeech.detects_after_lead_in(detector, pcm) for pcm in clips.clean),
        sum(not realspeech.detects_after_lead_in(detector, pcm) for pcm in clips.noisy),
    )


@dataclass(frozen=True)
class Judged:
    """One candidate as the voices found it, at its own thresholds."""

    start: int  # which initialisation, from 0
    qat_epochs: int
    val_mean_frr: float
    wake: float
    detect: float
    missed_clean: int
    missed_noisy: int

    @property
    def missed(self) -> int:
        return self.missed_clean + self.missed_noisy


def margin(judged: list[Judged], clips: int) -> float:
    """One binomial standard error of the fewest misses, out of ``clips`` clean and as many
    noisy clips."""
    share = min(row.missed for row in judged) / (2 * clips)
    return float(np.sqrt(2 * clips * share * (1 - share)))


def best(judged: list[Judged], clips: int) -> int:
    """Index of the candidate kept. A count of misses on a few hundred clips is noisy itself
    (two draws of the clips put view glass's two best candidates in opposite order, one clip
    apart), so this is the one-standard-error rule: every candidate within ``margin`` of the
    fewest misses counts as good, and among those the lowest mean FRR on validation is kept,
    then the later QAT epoch (as ``choose_qat``)."""
    fewest = min(row.missed for row in judged)
    good = [i for i, row in enumerate(judged) if row.missed <= fewest + margin(judged, clips)]
    return min(good, key=lambda i: (judged[i].val_mean_frr, -judged[i].qat_epochs))
