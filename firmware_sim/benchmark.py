"""MLPerf Tiny's streaming wake-word benchmark (SWW), rebuilt on this project's own audio.

MLPerf Tiny v1.3's streaming test (mlcommons/tiny, ``benchmark/training/streaming_wakeword``:
``build_long_wav_spec.py``, ``build_long_wav.py``, ``str_ww_util.py``) plays one 20 minute file
and counts wake words found and false accepts. Its layout, kept here at the same times and
relative levels (RMS, before scaling):

==============  ============  ==========================================  ===========
segment         seconds       background                                  keywords
==============  ============  ==========================================  ===========
quiet           0-100         none (we add a room noise floor)            yes
babble          100-300       8 talkers at 0.1 each                       yes
music           300-600       two pieces at 0.5 (MUSAN classical, pop)    yes
speech          600-1200      one talker at 0.5                           none: FAs
==============  ============  ==========================================  ===========

50 wake words at 0.25 (each trimmed of its leading and trailing audio under 5% of its peak,
then scaled to that RMS), spaced by exponential intervals of mean 7 s with those under 3 s
dropped, stretched so that the last starts at 47.5% of the file. A wake word counts as found
when a detection falls between its start and 0.5 s after its end; a detection elsewhere,
except up to 1.0 s after a wake word, is a false accept, those within 1.0 s of one counted once.
It passes at no more than 8 misses and 8 false accepts.

What differs, and why: their wake words are Speech Commands recordings of "marvin", ours the
bundle's keyword in espeak-ng voices held out from training (``held_out_voices``, the test
split of ``training.data.dataset.split_voices(seed=0)``, less the unseeded variants); their
talkers are LibriVox readers, ours espeak-ng voices not among the keyword's reading templated
sentences; their music is recorded, ours generated (``kws.music``). As MLPerf does,
the mix is scaled so that its peak is full scale. A device's microphone never hears digital
silence, so a room noise floor runs under the whole file, ``ROOM_NOISE_BELOW_KEYWORD_DB`` under
the wake words (MLPerf's quiet segment is digital zeros, played into the device by its
harness). Every random choice comes from the seed; the audio is the same for a seed in every
fresh process (espeak-ng's output depends on the utterances a process synthesised before, so
``build`` in a process that already synthesised speech may differ: the report gives its hash).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kws import music, synth
from kws.frontend.config import SAMPLE_RATE_HZ

LENGTH_S = 1200.0
KEYWORDS = 50
PASS_MAX_MISSES = 8
PASS_MAX_FALSE_ACCEPTS = 8
FOUND_WITHIN_S = 0.5  # after a wake word's end (MLPerf true_pos_max_delay_sec)
FA_MASK_S = 1.0  # after a wake word's end, detections are not false accepts
FA_DEBOUNCE_S = 1.0  # false accepts closer than this count once
KEYWORD_RMS = 0.25
KEYWORDS_END_SHARE = 0.475  # the last wake word starts at 47.5% of the file
MEAN_INTERVAL_S, MIN_INTERVAL_S = 7.0, 3.0
TRIM_SHARE = 0.05  # MLPerf's rel_thresh
BABBLE_TALKERS = 8
# estimate: a quiet room (about 35 dBA) under a talker at 1 m (about 65 dBA); white noise
ROOM_NOISE_BELOW_KEYWORD_DB = 30.0

# (name, start_s, stop_s, background level) at 1200 s; a shorter file scales the times
SEGMENTS = (
    ("quiet", 0.0, 100.0, 0.0),
    ("babble", 100.0, 300.0, 0.1),
    ("music", 300.0, 600.0, 0.5),
    ("speech", 600.0, 1200.0, 0.5),
)

_SUBJECTS = (
    "the manager", "my sister", "our neighbour", "the new intern", "everyone in the team",
    "the driver", "a friend of mine", "the teacher", "the doctor", "my grandfather",
    "the kids", "the committee",
)  # fmt: skip
_VERBS = (
    "wants to move", "forgot to bring", "is thinking about", "already finished",
    "will probably cancel", "keeps talking about", "asked me to check", "never liked",
    "decided to paint", "is looking for",
)  # fmt: skip
_OBJECTS = (
    "the quarterly budget", "a blue bicycle", "the garden fence", "the kitchen table",
    "an old piano", "the train tickets", "the morning meeting", "a bag of apples",
    "the spare keys", "the holiday photos",
)  # fmt: skip
_ENDINGS = (
    "before the weekend", "after dinner", "on Thursday", "next month", "in the afternoon",
    "at the station", "without telling anyone", "for the third time", "as soon as possible", "",
)  # fmt: skip


def held_out_voices(seed: int = 0) -> list[str]:
    """The espeak-ng voices of ``training.data.dataset.split_voices(seed)["test"]`` (computed
    the same way: ``firmware_sim`` may not import ``training``), less the variants whose breath
    noise is unseeded: voices the shipped models never heard in training."""
    bases = [v for v in synth.english_voices() if v.lower() != "en-shaw"]
    variants = synth.voice_variants()
    order = np.random.default_rng(seed).permutation(len(variants))
    n_test = max(1, len(variants) * 15 // 100)
    test = [variants[i] for i in order[:n_test] if variants[i] not in synth.UNSEEDED_VARIANTS]
    return [f"{base}+{variant}" for base in bases for variant in test]


def background_voices(seed: int = 0) -> list[str]:
    """Voices for the talkers: every seeded English voice the keyword is not said in."""
    bases = [v for v in synth.english_voices() if v.lower() != "en-shaw"]
    held = {voice.split("+")[1] for voice in held_out_voices(seed)}
    variants = [
        v for v in synth.voice_variants() if v not in held and v not in synth.UNSEEDED_VARIANTS
    ]
    return [f"{base}+{variant}" for base in bases for variant in variants]


def keyword_starts(rng: np.random.Generator, count: int, length_s: float) -> list[float]:
    """MLPerf's wake word start times: exponential intervals (mean 7 s) of at least 3 s,
    stretched so the last starts at 47.5% of ``length_s``."""
    intervals: list[float] = []
    while len(intervals) < count:
        draw = rng.exponential(MEAN_INTERVAL_S, size=2 * count)
        intervals += [float(v) for v in draw[draw > MIN_INTERVAL_S]]
    starts = np.cumsum(intervals[:count])
    starts *= KEYWORDS_END_SHARE * length_s / starts[-1]
    return [float(v) for v in starts]


def trim(pcm: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Without the leading and trailing samples under 5% of the peak (MLPerf's trim)."""
    loud = np.flatnonzero(np.abs(pcm) > TRIM_SHARE * float(np.max(np.abs(pcm))))
    return pcm[loud[0] : loud[-1] + 1] if loud.size else pcm


def _unit_rms(pcm: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) if pcm.size else 0.0
    return (pcm / np.float32(rms)).astype(np.float32) if rms > 0 else pcm


def _speak(text: str, settings: synth.VoiceSettings) -> npt.NDArray[np.float32]:
    return synth.synthesize(text, settings).astype(np.float32) / np.float32(32768)


def _talker(
    rng: np.random.Generator, voices: list[str], samples: int, keyword: str
) -> npt.NDArray[np.float32]:
    """One talker (one voice, as one LibriVox reader) saying templated sentences with 0.2-0.8 s
    pauses for ``samples``; sentences holding a word of the keyword are skipped. RMS 1.0."""
    settings = synth.VoiceSettings(
        voice=str(rng.choice(voices)),
        rate_wpm=int(rng.integers(130, 190)),
        pitch=int(rng.integers(25, 75)),
    )
    banned = set(keyword.lower().split())
    out = np.zeros(samples, np.float32)
    position = int(rng.uniform(0.0, 1.0) * SAMPLE_RATE_HZ)
    while position < samples:
        parts = (rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS))
        text = " ".join([*map(str, parts), str(rng.choice(_ENDINGS))]).strip()
        if banned & set(text.lower().split()):
            continue
        speech = _speak(text, settings)[: samples - position]
        out[position : position + speech.size] = speech
        position += speech.size + int(rng.uniform(0.2, 0.8) * SAMPLE_RATE_HZ)
    return _unit_rms(out)


@dataclass
class SwwAudio:
    """The benchmark's audio: int16 16 kHz ``pcm``, each wake word's ``(start_s, stop_s)``
    and segment, and the segments' ``(name, start_s, stop_s)``."""

    pcm: npt.NDArray[np.int16]
    windows: list[tuple[float, float]]
    keyword_segments: list[str]
    segments: list[tuple[str, float, float]]
    voices: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pcm.tobytes()).hexdigest()

    @property
    def duration_s(self) -> float:
        return self.pcm.size / SAMPLE_RATE_HZ


def _segment_of(time_s: float, segments: list[tuple[str, float, float]]) -> str:
    return next(name for name, start, stop in segments if start <= time_s < stop)


def build(
    keyword: str, seed: int = 0, length_s: float = LENGTH_S, keywords: int = KEYWORDS
) -> SwwAudio:
    """The benchmark's audio for ``keyword``; the same for a seed in every process. A
    ``length_s`` other than 1200 scales the segments (tests use a short one).

    Raises:
        SynthesisError: espeak-ng is missing.
    """
    length = int(round(length_s * SAMPLE_RATE_HZ))
    scale = length_s / LENGTH_S
    segments = [(name, start * scale, stop * scale) for name, start, stop, _ in SEGMENTS]
    mix = np.zeros(length, np.float32)
    talkers = background_voices()
    for index, (name, start_s, stop_s, level) in enumerate(SEGMENTS):
        rng = np.random.default_rng([seed, 1, index])  # one stream per segment
        first, last = int(start_s * scale * SAMPLE_RATE_HZ), int(stop_s * scale * SAMPLE_RATE_HZ)
        samples = last - first
        if name == "babble":
            for _ in range(BABBLE_TALKERS):
                mix[first:last] += level * _talker(rng, talkers, samples, keyword)
        elif name == "music":
            half = samples // 2
            mix[first : first + half] += level * music.chamber(half / SAMPLE_RATE_HZ, rng)
            rest = samples - half
            mix[first + half : last] += level * music.band(rest / SAMPLE_RATE_HZ, rng)
        elif name == "speech":
            mix[first:last] += level * _talker(rng, talkers, samples, keyword)
    rng = np.random.default_rng([seed, 2])
    voices = held_out_voices()
    windows, keyword_segments, used = [], [], []
    for start_s in keyword_starts(rng, keywords, length_s):
        settings = synth.VoiceSettings(
            voice=str(rng.choice(voices)),
            rate_wpm=int(rng.integers(120, 200)),
            pitch=int(rng.integers(20, 80)),
        )
        said = KEYWORD_RMS * _unit_rms(trim(_speak(keyword, settings)))
        first = int(start_s * SAMPLE_RATE_HZ)
        said = said[: length - first]
        mix[first : first + said.size] += said
        windows.append((start_s, start_s + said.size / SAMPLE_RATE_HZ))
        keyword_segments.append(_segment_of(start_s, segments))
        used.append(settings.voice)
    noise = np.random.default_rng([seed, 3]).standard_normal(length).astype(np.float32)
    mix += noise * np.float32(KEYWORD_RMS * 10 ** (-ROOM_NOISE_BELOW_KEYWORD_DB / 20))
    pcm = mix * np.float32(32767.0 / max(float(np.max(np.abs(mix))), 1e-9))  # peak: full scale
    pcm16 = np.clip(np.round(pcm), -32768, 32767).astype(np.int16)
    return SwwAudio(pcm16, windows, keyword_segments, segments, used)


@dataclass(frozen=True)
class SwwScore:
    """MLPerf's count: ``found[i]`` for each wake word, the false accepts' times."""

    found: list[bool]
    false_accept_s: list[float]

    @property
    def misses(self) -> int:
        return self.found.count(False)

    @property
    def passes(self) -> bool:
        return self.misses <= PASS_MAX_MISSES and len(self.false_accept_s) <= PASS_MAX_FALSE_ACCEPTS


def score(windows: list[tuple[float, float]], detections_s: list[float]) -> SwwScore:
    """Wake words found (a detection from the start to ``FOUND_WITHIN_S`` after the end) and
    false accepts (detections outside every wake word's start to ``FA_MASK_S`` after its end,
    those within ``FA_DEBOUNCE_S`` of the last one counted once), as MLPerf counts them."""
    found = [
        any(start <= t <= stop + FOUND_WITHIN_S for t in detections_s) for start, stop in windows
    ]
    false_accepts: list[float] = []
    for t in sorted(detections_s):
        if any(start <= t <= stop + FA_MASK_S for start, stop in windows):
            continue
        if false_accepts and t - false_accepts[-1] < FA_DEBOUNCE_S:
            continue
        false_accepts.append(t)
    return SwwScore(found, false_accepts)
