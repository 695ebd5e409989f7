"""One clip or one stretch of stream audio, made by a pure function of its job.

Runs in worker processes: every function here takes a picklable job and returns plain arrays,
and draws all randomness from a ``numpy.random.Generator`` seeded by (recipe seed, split, kind,
index). espeak-ng itself is not a pure function: it carries state from one utterance to the
next within a process (the same phrase and settings said twice differ by a few samples;
``espeak_ng_SetRandSeed``, re-initialising it and a reset utterance do not clear it), so a
clip is the same only where its worker said the same things before it, not for any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kws import music, synth
from kws.frontend import compute_features
from kws.frontend.config import SAMPLE_RATE_HZ
from kws.noise_floor import add_floor
from training.data import augment, kokoro, neural, text

SPLITS = ("train", "val", "test")
CLIP_S = 2.0
LEAD_IN_S = 1.0  # noise reduction and PCAN settle over this, then its frames are dropped
HOP_SAMPLES = 160
NOISE_KINDS = (*augment.NOISE_KINDS, "babble")
TEST_POSITIVE_SNRS_DB = (10.0, 20.0)
STREAM_CONFUSABLE_SHARE = 0.15  # of the phrases in the training stream
NEGATIVE_CONFUSABLE_SHARE = 0.4  # of the keyword-free clips; ordinary speech next, then noise
NEGATIVE_SPEECH_SHARE = 0.45
NEGATIVE_CLIPS_ARE = (
    f"{NEGATIVE_CONFUSABLE_SHARE:.0%} confusables, {NEGATIVE_SPEECH_SHARE:.0%} ordinary speech, "
    f"{1 - NEGATIVE_CONFUSABLE_SHARE - NEGATIVE_SPEECH_SHARE:.0%} noise only"
)
# Of the clips and stream phrases of a split that has neural voices (training only): positives,
# confusables and ordinary speech alike, so the voice itself never tells the keyword apart.
NEURAL_VOICE_SHARE = 0.3
# Loud scenes (``SpeechPlan.loud_share``, training clips only): a crowd or music at these SNRs,
# as MLPerf Tiny's streaming test plays its wake words (about -1 dB under 8 talkers, -6 dB
# under music); the other clips stay at 0-30 dB
LOUD_SNR_DB = (-8.0, 5.0)
MAX_KEYWORD_S = 1.4  # half the test positives at 10 dB, Picovoice-style

# features, end frame, voice, pcm, context (what came before the keyword; "" for negatives)
Record = tuple[npt.NDArray[np.uint16], int, str, Any, str]
# What a positive's keyword follows; the test split reports FRR for each.
CONTEXTS = ("alone", "after a carrier, no pause", "after a sentence and a pause")


@dataclass(frozen=True)
class SpeechPlan:
    """What every job of one split shares: the phrase lists (computed once) and the voices."""

    keyword: str
    voices: tuple[str, ...]
    pronunciations: tuple[str, ...]  # espeak [[phoneme]] variants of the keyword
    confusables: tuple[str, ...]
    seed: int
    neural_voices: tuple[str, ...] = ()  # Piper voices (``training.data.neural``)
    noise_floor_dbfs: float | None = None  # ``kws.noise_floor`` under each clip (None: none)
    loud_share: float = 0.0  # of the training split's clips (``clip_audio``), ``loud_background``


@dataclass(frozen=True)
class ClipJob:
    plan: SpeechPlan
    split: str
    kind: str  # "pos" or "neg"
    index: int
    keep_pcm: bool


@dataclass(frozen=True)
class StreamJob:
    plan: SpeechPlan
    split: str
    index: int
    seconds: float


def random_settings(voice: str, rng: np.random.Generator) -> synth.VoiceSettings:
    """espeak prosody across its range: 80-260 wpm, pitch 0-99, pitch range 0-80, word gaps."""
    return synth.VoiceSettings(
        voice=voice,
        rate_wpm=int(rng.integers(80, 261)),
        pitch=int(rng.integers(0, 100)),
        pitch_range=int(rng.integers(0, synth.MAX_PITCH_RANGE + 1)),
        word_gap_10ms=int(rng.integers(0, 4)),
    )


def pick_voice(plan: SpeechPlan, rng: np.random.Generator, long_speech: bool = False) -> str:
    """A voice of the split: a neural one ``NEURAL_VOICE_SHARE`` of the time, where it has any.
    Made Kokoro speakers say clips only, not the minutes of stream and babble (``long_speech``):
    at about one CPU second per utterance they would double the data's time."""
    neural_voices = plan.neural_voices
    if long_speech:
        neural_voices = tuple(v for v in neural_voices if not kokoro.is_kokoro(v))
    if neural_voices and rng.random() < NEURAL_VOICE_SHARE:
        return str(rng.choice(neural_voices))
    return str(rng.choice(plan.voices))


def speak(phrase: str, voice: str, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Synthesize ``phrase`` with random prosody, then change the speaker, room and microphone.
    A neural voice is first made into another speaker (``augment.new_speaker``): one recorded
    voice becomes many."""
    if neural.is_neural(voice):
        audio = neural.speak_neural(phrase, voice, rng)
        audio = augment.new_speaker(audio, rng) if audio.size else audio
    else:
        audio = augment.to_float(synth.synthesize(phrase, random_settings(voice, rng)))
    return augment.augment_speech(audio, rng) if audio.size else audio


def babble(
    plan: SpeechPlan, rng: np.random.Generator, n_samples: int, talkers: tuple[int, int] = (3, 7)
) -> npt.NDArray[np.float32]:
    """Several people talking at once (``talkers`` = [low, high) overlapped sentences; 3-6 by
    default), unit RMS, tiled to length."""
    length = min(n_samples, 5 * SAMPLE_RATE_HZ)
    out = np.zeros(length, np.float32)
    for _ in range(int(rng.integers(*talkers))):
        voice = pick_voice(plan, rng, long_speech=True)
        speech = speak(text.random_sentence(rng, plan.keyword), voice, rng)[:length]
        if speech.size == 0:
            continue
        offset = int(rng.integers(0, length))
        placed = np.roll(np.pad(speech, (0, length - speech.size)), offset)
        out += placed * float(10 ** rng.uniform(-0.3, 0.3)) / max(augment.rms(speech), 1e-4)
    out /= max(augment.rms(out), 1e-6)
    return np.tile(out, int(np.ceil(n_samples / length)))[:n_samples].astype(np.float32)


def background(plan: SpeechPlan, rng: np.random.Generator, n_samples: int) -> Any:
    kind = str(rng.choice(NOISE_KINDS))
    if kind == "babble":
        return babble(plan, rng, n_samples)
    return augment.make_noise(kind, n_samples, rng)


def loud_background(
    plan: SpeechPlan, rng: np.random.Generator, n_samples: int
) -> tuple[npt.NDArray[np.float32], float]:
    """A crowd (4-8 talkers) or music (``kws.music``, seeded here, not the benchmark's pieces),
    as loud as the speech or louder: (unit-RMS noise, SNR in ``LOUD_SNR_DB``)."""
    snr_db = float(rng.uniform(*LOUD_SNR_DB))
    if rng.random() < 0.5:
        return babble(plan, rng, n_samples, talkers=(4, 9)), snr_db
    piece = music.chamber if rng.random() < 0.5 else music.band
    return piece(n_samples / SAMPLE_RATE_HZ, rng)[:n_samples], snr_db


def _rng(plan: SpeechPlan, split: str, kind: int, index: int) -> np.random.Generator:
    return np.random.default_rng([plan.seed, SPLITS.index(split), kind, index])


def fit_keyword(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Trim the silence around the keyword and, if it lasts longer than ``MAX_KEYWORD_S``
    (espeak at 80 wpm says "okay nabu" in 2 s), speed it up to fit: the whole keyword must lie
    inside the clip and inside the full model's 1.5 s window, or a positive would hold only the
    keyword's end, which the negatives teach as a confusable."""
    magnitude = np.abs(audio)
    loud = np.nonzero(magnitude > 0.02 * magnitude.max(initial=0.0))[0]
    if loud.size == 0:
        return audio
    audio = audio[loud[0] : loud[-1] + 1]
    max_samples = int(MAX_KEYWORD_S * SAMPLE_RATE_HZ)
    if audio.size > max_samples:
        audio = augment.change_speed(audio, audio.size / max_samples)
    return audio[:max_samples]


def keyword_clip(
    plan: SpeechPlan, voice: str, rng: np.random.Generator, n_lead: int, n_clip: int
) -> Any:
    """The keyword ending at 1.25-1.85 s of the clip (later when the keyword is longer than
    that), all of it inside the clip, over ``n_lead`` samples of lead-in and ``n_clip`` of clip.
    A quarter run on from a carrier ("ok so hey jarvis", 0.02-0.25 s gap), a quarter follow an
    ordinary sentence after a pause (0.25-1.5 s), which may start in the lead-in, so the
    frontend's noise estimate has heard speech; 40% have a carrier after."""
    phrase = plan.keyword
    if plan.pronunciations and rng.random() < 0.3 and not neural.is_neural(voice):
        phrase = plan.pronunciations[int(rng.integers(0, len(plan.pronunciations)))]
    keyword_audio = fit_keyword(speak(phrase, voice, rng))
    before = np.zeros(0, np.float32)
    after = np.zeros(0, np.float32)
    gap_s = float(rng.uniform(0.02, 0.25))
    roll = rng.random()
    context = CONTEXTS[0]
    if roll < 0.25:
        before = speak(str(rng.choice(text.CARRIER_PREFIXES)), voice, rng)
        context = CONTEXTS[1]
    elif roll < 0.5:
        before = speak(text.random_sentence(rng, plan.keyword), voice, rng)
        gap_s = float(rng.uniform(0.25, 1.5))
        context = CONTEXTS[2]
    if rng.random() < 0.4:
        after = speak(str(rng.choice(text.CARRIER_SUFFIXES)), voice, rng)
    gap = np.zeros(int(gap_s * SAMPLE_RATE_HZ), np.float32)
    tail_gap = np.zeros(int(rng.uniform(0.02, 0.25) * SAMPLE_RATE_HZ), np.float32)
    end_in_clip = int(rng.uniform(1.25, 1.85) * SAMPLE_RATE_HZ)
    end_in_clip = max(end_in_clip, keyword_audio.size + int(0.05 * SAMPLE_RATE_HZ))
    speech = np.concatenate([before, gap, keyword_audio, tail_gap, after])
    keyword_end = before.size + gap.size + keyword_audio.size
    start = keyword_end - (n_lead + end_in_clip)
    padded = np.concatenate([np.zeros(max(0, -start), np.float32), speech[max(0, start) :]])
    audio = np.zeros(n_lead + n_clip, np.float32)
    audio[: min(audio.size, padded.size)] = padded[: audio.size]
    return audio, end_in_clip, context


def pick_confusable(plan: SpeechPlan, rng: np.random.Generator) -> str:
    """A confusable phrase; 40% of them the keyword's own parts ("hey", "jarvis", "hey jar"),
    the near misses users say most, which would otherwise be a few of ~48 phrases."""
    parts = [p for p in text.fixed_confusables(plan.keyword) if p in plan.confusables]
    if parts and rng.random() < 0.4:
        return parts[int(rng.integers(0, len(parts)))]
    return plan.confusables[int(rng.integers(0, len(plan.confusables)))]


def _negative(plan: SpeechPlan, voice: str, rng: np.random.Generator, n_clip: int) -> Any:
    """A confusable, ordinary speech or nothing but the background (``NEGATIVE_CLIPS_ARE``)."""
    roll = rng.random()
    if roll < NEGATIVE_CONFUSABLE_SHARE and plan.confusables:
        phrase = pick_confusable(plan, rng)
    elif roll < NEGATIVE_CONFUSABLE_SHARE + NEGATIVE_SPEECH_SHARE:
        phrase = text.random_sentence(rng, plan.keyword)
        if kokoro.is_kokoro(voice):  # sentences are long speech (``pick_voice``)
            voice = str(rng.choice(plan.voices))
    else:
        phrase = ""
    speech = speak(phrase, voice, rng) if phrase else np.zeros(0, np.float32)
    clip = np.zeros(n_clip, np.float32)
    offset = int(rng.integers(0, max(1, n_clip - speech.size)))
    speech = speech[: n_clip - offset]
    clip[offset : offset + speech.size] = speech
    return clip


def make_clip(job: ClipJob) -> Record:
    """One 2 s clip over background noise and the plan's noise floor, as (features, keyword end
    frame or -1, voice, pcm or None, context). Features are computed over 1 s of lead-in
    (noise, and for some positives the end of a sentence before the keyword) that is then
    dropped."""
    n_lead = int(LEAD_IN_S * SAMPLE_RATE_HZ)
    pcm, end_sample, voice, context = clip_audio(job)
    frames = compute_features(pcm)[n_lead // HOP_SAMPLES :]
    if end_sample >= 0:
        end_sample -= n_lead
    end_frame = -1 if end_sample < 0 else min(frames.shape[0] - 1, end_sample // HOP_SAMPLES)
    return frames, end_frame, voice, (pcm[n_lead:] if job.keep_pcm else None), context


def clip_audio(job: ClipJob) -> tuple[npt.NDArray[np.int16], int, str, str]:
    """The audio of ``make_clip``'s clip with its lead-in: (int16 pcm, the keyword's end sample
    in it or -1, voice, context)."""
    plan = job.plan
    rng = _rng(plan, job.split, int(job.kind == "pos"), job.index)
    voice = pick_voice(plan, rng)
    n_clip = int(CLIP_S * SAMPLE_RATE_HZ)
    n_lead = int(LEAD_IN_S * SAMPLE_RATE_HZ)
    end_sample = -1
    context = ""
    if job.kind == "pos":
        clip, end_sample, context = keyword_clip(plan, voice, rng, n_lead, n_clip)
    else:
        clip = np.concatenate([np.zeros(n_lead, np.float32), _negative(plan, voice, rng, n_clip)])
    speech_rms = augment.rms(clip[n_lead:])  # levels and SNR as heard in the clip itself
    if speech_rms > 1e-4:  # gain: speech at -32 to -8 dBFS RMS, near and far talkers
        clip = augment.apply_gain_db(clip, float(rng.uniform(-32.0, -8.0)) - _db(speech_rms))
    if job.split == "train" and plan.loud_share and rng.random() < plan.loud_share:
        noise, snr_db = loud_background(plan, rng, n_lead + n_clip)
    else:
        noise = background(plan, rng, n_lead + n_clip)
        if job.split == "test" and job.kind == "pos":
            snr_db = TEST_POSITIVE_SNRS_DB[job.index % len(TEST_POSITIVE_SNRS_DB)]
        else:
            snr_db = float(rng.uniform(0.0, 30.0))
    clip_rms = augment.rms(clip[n_lead:])
    reference_rms = clip_rms if clip_rms > 1e-4 else 0.01
    audio = noise * (reference_rms / (augment.rms(noise) * 10 ** (snr_db / 20.0)))
    audio += clip
    pcm = add_floor(augment.to_int16(audio), plan.noise_floor_dbfs)
    return pcm, (n_lead + end_sample if end_sample >= 0 else -1), voice, context


def _db(value: float) -> float:
    return 20.0 * float(np.log10(max(value, 1e-9)))


def make_stream_chunk(job: StreamJob) -> npt.NDArray[np.int16]:
    """``seconds`` of keyword-free audio: sentences and pauses over noise; in the training split
    15% of the phrases are confusables (mining finds the model's false alarms there). Held-out
    streams are ordinary speech, as in the field's false-accepts-per-hour figures (microWakeWord
    and openWakeWord measure on conversation and ambient audio); confusables are measured apart,
    as the held-out negative clips."""
    plan = job.plan
    rng = _rng(plan, job.split, 7, job.index)
    n_total = int(job.seconds * SAMPLE_RATE_HZ)
    out = np.zeros(n_total, np.float32)
    position = int(rng.uniform(0.0, 1.0) * SAMPLE_RATE_HZ)
    confusable_share = STREAM_CONFUSABLE_SHARE if job.split == "train" else 0.0
    while position < n_total:
        if rng.random() < confusable_share and plan.confusables:
            phrase = pick_confusable(plan, rng)
        else:
            phrase = text.random_sentence(rng, plan.keyword)
        speech = speak(phrase, pick_voice(plan, rng, long_speech=True), rng)
        speech *= float(10 ** rng.uniform(-1.5, -0.5)) / max(augment.rms(speech), 1e-4)
        speech = speech[: n_total - position]
        out[position : position + speech.size] += speech
        position += speech.size + int(rng.uniform(0.1, 2.5) * SAMPLE_RATE_HZ)
    noise = background(plan, rng, n_total) * float(10 ** rng.uniform(-3.0, -1.5))
    return augment.to_int16(out + noise)
