"""Generated acoustic scenarios for battery simulation, each with a stated keyword rate and
share of speech: ``quiet`` (a bedroom at night), ``office`` (colleagues talking), ``tv`` (a
television on most of the time). Speech is espeak-ng (``kws.synth``); noise is numpy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kws import synth
from kws.errors import KwsError
from kws.frontend.config import SAMPLE_RATE_HZ

CHUNK_S = 30.0

_SENTENCES = (
    "could you send me the report before lunch",
    "the meeting moved to three o'clock",
    "I think the printer is out of paper again",
    "let's grab a coffee after this call",
    "tonight on the news the weather turns colder",
    "and the score is now two to one",
    "did you see the email from the client",
    "we should order more water for the kitchen",
    "the train was late again this morning",
    "turn left at the next corner and park there",
)


@dataclass(frozen=True)
class Scenario:
    name: str
    speech_share: float  # fraction of time someone is speaking
    keywords_per_hour: float
    noise_dbfs: float  # background noise level
    speech_dbfs: float


SCENARIOS = {
    "quiet": Scenario(
        "quiet", speech_share=0.05, keywords_per_hour=4.0, noise_dbfs=-65.0, speech_dbfs=-30.0
    ),
    "office": Scenario(
        "office", speech_share=0.35, keywords_per_hour=12.0, noise_dbfs=-50.0, speech_dbfs=-28.0
    ),
    "tv": Scenario(
        "tv", speech_share=0.75, keywords_per_hour=6.0, noise_dbfs=-40.0, speech_dbfs=-26.0
    ),
}


def get_scenario(name: str) -> Scenario:
    if name not in SCENARIOS:
        raise KwsError(f"unknown scenario {name!r}; one of {', '.join(SCENARIOS)}")
    return SCENARIOS[name]


def _level(audio: npt.NDArray[np.float32], dbfs: float) -> npt.NDArray[np.float32]:
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) if audio.size else 0.0
    return audio * (10 ** (dbfs / 20) / rms) if rms > 0 else audio


def generate(
    scenario: Scenario, keyword: str, minutes: float, seed: int = 0
) -> Iterator[tuple[npt.NDArray[np.int16], list[float]]]:
    """Yield ``CHUNK_S`` chunks of int16 audio and the keyword end times (s) inside each chunk,
    relative to the stream start. Memory stays constant for any length."""
    rng = np.random.default_rng(seed)
    voices = [v for v in synth.english_voices() if v.lower() != "en-shaw"]
    # These espeak-ng variants add breath noise from an unseeded generator, so the same seed
    # gave different audio in different processes; leaving them out keeps runs repeatable.
    variants = [v for v in synth.voice_variants() if v not in synth.UNSEEDED_VARIANTS]
    n_chunks = max(1, int(np.ceil(minutes * 60 / CHUNK_S)))
    chunk_samples = int(CHUNK_S * SAMPLE_RATE_HZ)
    keyword_probability = scenario.keywords_per_hour * CHUNK_S / 3600.0
    carry = np.zeros(0, np.float32)
    for index in range(n_chunks):
        out = np.zeros(chunk_samples, np.float32)
        out[: min(carry.size, chunk_samples)] = carry[:chunk_samples]
        position = int(carry.size)
        keyword_times: list[float] = []
        keyword_due = rng.random() < keyword_probability
        while position < chunk_samples:
            if rng.random() < scenario.speech_share or keyword_due:
                settings = synth.VoiceSettings(
                    voice=f"{rng.choice(voices)}+{rng.choice(variants)}",
                    rate_wpm=int(rng.integers(120, 200)),
                    pitch=int(rng.integers(20, 80)),
                )
                text = keyword if keyword_due else str(rng.choice(_SENTENCES))
                speech = _level(
                    synth.synthesize(text, settings).astype(np.float32) / np.float32(32768),
                    scenario.speech_dbfs,
                )
                end = position + speech.size
                if keyword_due:
                    keyword_times.append(index * CHUNK_S + end / SAMPLE_RATE_HZ)
                    keyword_due = False
                    speech = np.concatenate([speech, np.zeros(SAMPLE_RATE_HZ, np.float32)])
            else:
                speech = np.zeros(int(rng.uniform(0.5, 3.0) * SAMPLE_RATE_HZ), np.float32)
            take = min(speech.size, chunk_samples - position)
            out[position : position + take] += speech[:take]
            carry = speech[take:]
            position += speech.size
        noise = _level(rng.standard_normal(chunk_samples).astype(np.float32), scenario.noise_dbfs)
        pcm = np.clip(np.round((out + noise) * 32768), -32768, 32767).astype(np.int16)
        yield pcm, keyword_times
