"""Real recordings as a device hears them: the protocol of `kws bench realspeech`, and the
figures `kws train --real-speech` records in a card.

DIR holds one folder of recordings per phrase (``smart_mirror/``, ``snowboy/`` ...: Speech
Commands layout, as ``../shared/realspeech``). A device has been listening before anyone
speaks, so each recording follows one second of its own room tone (its quietest 100 ms,
repeated), from a reset; mixed recordings have the noise over that lead-in too. A detection
counts when it comes after the lead-in. Noise is the project's own (``training.data.augment``:
pink, brown, white; babble of four ``kws.frontend.signals`` speech-like voices), seeded per
recording, so every run hears the same mixtures. The keyword-free stream is synthetic speech in
voices held out of every kws training with seed 0; its espeak-ng voices carry some state from
call to call, so two runs' streams differ slightly (the voices whose breath noise is unseeded
are left out).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.audio import audio_files
from kws.errors import KwsError
from kws.frontend.config import SAMPLE_RATE_HZ

LEAD_IN_S = 1.0
ROOM_TONE_S = 0.1
NOISE_KINDS = ("pink", "brown", "white", "babble")
STREAM_CHUNK_S = 20.0


def phrase_folders(data_dir: Path) -> dict[str, list[Path]]:
    """Phrase ("smart mirror") -> its recordings, for each folder of DIR holding audio.

    Raises:
        KwsError: DIR is not a folder or holds no folder of audio.
    """
    if not data_dir.is_dir():
        raise KwsError(f"{data_dir} is not a folder")
    folders: dict[str, list[Path]] = {}
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        files = audio_files(folder)
        if files:
            folders[" ".join(folder.name.lower().replace("_", " ").split())] = files
    if not folders:
        raise KwsError(f"{data_dir} has no folders of audio (one folder per phrase)")
    return folders


def room_tone_lead_in(pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.float32]:
    """``LEAD_IN_S`` of the recording's own quietest ``ROOM_TONE_S``, repeated."""
    window = int(ROOM_TONE_S * SAMPLE_RATE_HZ)
    audio = pcm.astype(np.float32) / 32768.0
    if audio.size <= window:
        return np.zeros(int(LEAD_IN_S * SAMPLE_RATE_HZ), np.float32)
    energy = np.convolve(audio.astype(np.float64) ** 2, np.ones(window), mode="valid")
    start = int(np.argmin(energy[::80])) * 80
    tone = audio[start : start + window]
    return np.tile(tone, int(np.ceil(LEAD_IN_S / ROOM_TONE_S)))[: int(LEAD_IN_S * SAMPLE_RATE_HZ)]


def heard(
    pcm: npt.NDArray[np.int16], snr_db: float | None, seed: int, index: int
) -> npt.NDArray[np.int16]:
    """The recording as the benchmark plays it: after its room-tone lead-in, and mixed with the
    project's noise at ``snr_db`` (speech power from the recording itself) unless None."""
    from kws.frontend.signals import speech_like_pcm
    from training.data import augment

    speech = pcm.astype(np.float32) / 32768.0
    audio = np.concatenate([room_tone_lead_in(pcm), speech])
    if snr_db is not None:
        rng = np.random.default_rng([seed, index])
        kind = NOISE_KINDS[index % len(NOISE_KINDS)]
        if kind == "babble":  # four speech-like voices at once (numpy only: repeatable)
            seconds = audio.size / SAMPLE_RATE_HZ
            voices = [speech_like_pcm(seconds, int(s)) for s in rng.integers(0, 2**31, 4)]
            noise = np.sum([augment.to_float(v[: audio.size]) for v in voices], axis=0)
        else:
            noise = augment.make_noise(kind, audio.size, rng)
        noise *= augment.rms(speech) / (max(augment.rms(noise), 1e-9) * 10 ** (snr_db / 20.0))
        audio = audio + noise
    return augment.to_int16(audio)


def _stream_plan(seed: int) -> Any:
    from kws.synth import UNSEEDED_VARIANTS
    from training.data.clips import SpeechPlan
    from training.data.dataset import split_voices

    # never in a seed-0 training; variants that are not repeatable are left out
    voices = tuple(
        v for v in split_voices(seed=0)["test"] if v.split("+")[1] not in UNSEEDED_VARIANTS
    )
    return SpeechPlan("", voices, (), (), seed)


def _stream_chunk(args: tuple[int, int]) -> npt.NDArray[np.int16]:
    from training.data.clips import StreamJob, make_stream_chunk

    seed, index = args
    return make_stream_chunk(StreamJob(_stream_plan(seed), "test", index, STREAM_CHUNK_S))


def keyword_free_stream(minutes: float, seed: int) -> npt.NDArray[np.int16]:
    """``minutes`` of synthetic keyword-free audio (ordinary sentences in held-out espeak-ng
    voices, pauses, noise), as the training's held-out streams are made; no phrase of DIR is
    excluded from the sentences, which come from a general corpus."""
    n_chunks = int(np.ceil(minutes * 60 / STREAM_CHUNK_S))
    if n_chunks <= 0:
        return np.zeros(0, np.int16)
    with ProcessPoolExecutor() as pool:
        chunks = list(pool.map(_stream_chunk, [(seed, i) for i in range(n_chunks)]))
    return np.concatenate(chunks)


def detects_after_lead_in(detector: Any, pcm: npt.NDArray[np.int16]) -> bool:
    """Whether ``detector`` (``reset()``, ``process(pcm)``), from a reset, detects after the
    lead-in."""
    detector.reset()
    events = detector.process(pcm)
    return any(_event_time(event) > LEAD_IN_S for event in events)


def _event_time(event: Any) -> float:
    return float(getattr(event, "time_s", event))


def read_folders(
    folders: dict[str, list[Path]],
) -> tuple[dict[str, list[npt.NDArray[np.int16]]], list[str]]:
    from kws.audio import read_audio

    recordings: dict[str, list[npt.NDArray[np.int16]]] = {}
    unreadable: list[str] = []
    for phrase, files in folders.items():
        recordings[phrase] = []
        for path in files:
            try:
                recordings[phrase].append(read_audio(path)[0])
            except KwsError:
                unreadable.append(str(path))
    return recordings, unreadable


Recordings = dict[str, list[npt.NDArray[np.int16]]]


def heard_sets(
    recordings: Recordings, keywords: set[str], snr_db: float, seed: int
) -> tuple[Recordings, Recordings]:
    """Every phrase's recordings as heard clean, and those of ``keywords`` mixed at ``snr_db``."""
    clean = {
        phrase: [heard(pcm, None, seed, i) for i, pcm in enumerate(clips)]
        for phrase, clips in recordings.items()
    }
    noisy = {
        phrase: [heard(pcm, snr_db, seed, i) for i, pcm in enumerate(clips)]
        for phrase, clips in recordings.items()
        if phrase in keywords
    }
    return clean, noisy


def recording_figures(
    detector: Any,
    own: str,
    clean: dict[str, list[npt.NDArray[np.int16]]],
    noisy: dict[str, list[npt.NDArray[np.int16]]],
) -> dict[str, Any]:
    """Misses on the detector's own phrase (clean and noisy), the share of the others'
    recordings it accepts, and that share for each other phrase (which phrase it takes for
    its own)."""
    row: dict[str, Any] = {}
    if own in clean:
        for label, clips in (("clean", clean[own]), ("noisy", noisy[own])):
            missed = sum(not detects_after_lead_in(detector, pcm) for pcm in clips)
            row[f"frr_{label}"] = round(missed / len(clips), 4) if clips else None
        row["recordings"] = len(clean[own])
    accepted = {
        phrase: sum(detects_after_lead_in(detector, pcm) for pcm in clips)
        for phrase, clips in clean.items()
        if phrase != own
    }
    others = sum(len(clean[phrase]) for phrase in accepted)
    row["others_accepted"] = round(sum(accepted.values()) / others, 4) if others else None
    row["others"] = others
    row["others_accepted_by_phrase"] = {
        phrase: round(count / len(clean[phrase]), 4)
        for phrase, count in accepted.items()
        if clean[phrase]
    }
    return row


class DevSet:
    """The recordings of a folder read once, and each keyword's heard once (clean, and its own
    mixed at ``snr_db``), for as many detectors as are measured on them.

    Raises:
        KwsError: no folder of audio in ``data_dir``.
    """

    def __init__(self, data_dir: Path, snr_db: float = 10.0, seed: int = 0) -> None:
        self.recordings, self.unreadable = read_folders(phrase_folders(data_dir))
        self.snr_db, self.seed = snr_db, seed
        self._heard: dict[str, tuple[Recordings, Recordings]] = {}

    def figures(self, detector: Any, keyword: str) -> dict[str, Any]:
        """``recording_figures`` of ``detector`` (``reset()``, ``process(pcm)``) for ``keyword``."""
        if keyword not in self._heard:
            self._heard[keyword] = heard_sets(self.recordings, {keyword}, self.snr_db, self.seed)
        return recording_figures(detector, keyword, *self._heard[keyword])


def real_speech_figures(
    detector: Any, keyword: str, data_dir: Path, snr_db: float = 10.0, seed: int = 0
) -> dict[str, Any]:
    """One detector (``reset()``, ``process(pcm)``) on the recordings of ``data_dir``, as the
    benchmark plays them, without the stream: what ``kws train --real-speech`` records.

    Raises:
        KwsError: no folder of audio in ``data_dir``.
    """
    dev = DevSet(data_dir, snr_db, seed)
    return {
        "data_dir": data_dir.name,
        "folders": {phrase: len(clips) for phrase, clips in dev.recordings.items()},
        "unreadable": len(dev.unreadable),
        "snr_db": snr_db,
        "lead_in_s": LEAD_IN_S,
        "seed": seed,
        **dev.figures(detector, keyword),
    }
