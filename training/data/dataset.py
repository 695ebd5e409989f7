"""Build train / validation / test splits of keyword and keyword-free audio as frontend features.

Every clip is made by a pure function of (recipe, split, kind, index) (``training.data.clips``):
a seeded recipe of voice, prosody, pronunciation, text, augmentation and noise. Splits never
share an espeak voice variant, so validation and test figures are for voices the model never
heard. Features come from ``kws.frontend`` (the runtime's own code), computed over one second
of lead-in audio so noise reduction and PCAN settle, and are cached on disk keyed by the recipe,
the frontend hash, the generating code, the offline text corpus and the files in the
real-data folders.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from kws import noise_floor
from kws import synth as espeak
from kws.frontend import FrontendConfig, compute_features
from kws.frontend.config import SAMPLE_RATE_HZ
from kws.noise_floor import add_floor
from training.data import neural, phonemes, text
from training.data.cache import load_cache, save_cache
from training.data.clips import (
    NEURAL_VOICE_SHARE,
    NOISE_KINDS,
    SPLITS,
    ClipJob,
    Record,
    SpeechPlan,
    StreamJob,
    make_clip,
    make_stream_chunk,
)
from training.data.containers import ClipSet, DataRecipe, Dataset, Split
from training.data.real import RealAudio, folders_digest, load_real_audio
from training.workers import worker_death_named

__all__ = [
    "ClipSet",
    "DataRecipe",
    "Dataset",
    "Split",
    "build_dataset",
    "load_cache",
    "save_cache",
    "split_voices",
]

DATA_VERSION = 4  # bump when the meaning of cached arrays changes
STREAM_CHUNK_S = 20.0
# how long an interrupted build waits for the data pool's thread to close its pipes (it takes
# well under a second once the workers are gone; bounded, so a stuck one never holds Ctrl-C)
STOP_WAIT_S = 10.0
N_PRONUNCIATIONS = 24
N_CONFUSABLES = 48
# Confusables closer than this (phoneme edit distance / length) to the keyword are dropped: a
# phrase that differs by one short vowel ("he jarvis") is the keyword said quickly, and
# labelling it negative would teach the model to reject real users.
MIN_CONFUSABLE_DISTANCE = 0.2
_CODE_FILES = (
    "clips.py", "augment.py", "text.py", "phonemes.py", "real.py", "neural.py", "kokoro.py",
)  # fmt: skip


def split_voices(seed: int) -> dict[str, list[str]]:
    """espeak voices (``base+variant``) per split, disjoint by variant: about 70/15/15.

    Splitting by variant (``m3``, ``klatt2``, ``whisper`` ...) rather than by accent keeps every
    accent in training while the held-out splits hear voice qualities it never did.
    """
    bases = [v for v in espeak.english_voices() if v.lower() != "en-shaw"]  # Shavian script
    variants = espeak.voice_variants()
    order = np.random.default_rng(seed).permutation(len(variants))
    n_val = n_test = max(1, len(variants) * 15 // 100)
    chosen = {
        "test": [variants[i] for i in order[:n_test]],
        "val": [variants[i] for i in order[n_test : n_test + n_val]],
        "train": [variants[i] for i in order[n_test + n_val :]],
    }
    return {split: [f"{b}+{v}" for b in bases for v in names] for split, names in chosen.items()}


def _code_digest() -> str:
    """Changing how clips are made must not reuse features made the old way."""
    digest = hashlib.sha256(str(DATA_VERSION).encode())
    here = Path(__file__).parent
    for name in _CODE_FILES:
        digest.update((here / name).read_bytes())
    digest.update(Path(espeak.__file__).read_bytes())
    digest.update(Path(noise_floor.__file__).read_bytes())
    return digest.hexdigest()[:12]


def phrase_lists(
    keyword: str, seed: int
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, Any]]:
    """(pronunciation variants, confusable phrases, sound-alike words) for the keyword."""
    rng = np.random.default_rng([seed, 99])
    words = keyword.lower().split()
    candidates = text.general_words()
    sound_alikes = {w: phonemes.sound_alike_words(w, candidates) for w in dict.fromkeys(words)}
    pronunciations = phonemes.pronunciation_variants(keyword, rng, N_PRONUNCIATIONS)
    keyword_phonemes = phonemes.text_to_phonemes(keyword)
    confusables = [
        phrase
        for phrase in dict.fromkeys(text.confusables(keyword, rng, 3 * N_CONFUSABLES, sound_alikes))
        if phonemes.phoneme_distance(keyword_phonemes, phonemes.text_to_phonemes(phrase))
        > MIN_CONFUSABLE_DISTANCE
    ]
    return tuple(dict.fromkeys(pronunciations)), tuple(confusables[:N_CONFUSABLES]), sound_alikes


def _cache_path(recipe: DataRecipe, cache_dir: Path) -> Path:
    key = recipe.cache_key(
        FrontendConfig().hash(), _code_digest(), text.corpus_digest(), folders_digest(recipe)
    )
    return Path(cache_dir) / f"dataset-{key}.npz"


def build_dataset(recipe: DataRecipe, cache_dir: Path, progress: Any = None) -> Dataset:
    """Build (or load from ``cache_dir``) the three splits for ``recipe``.

    ``progress`` is an optional ``rich.progress.Progress``; one task per split advances per clip
    and per stream chunk. Generation runs in ``recipe.workers`` processes (default: all cores).

    Raises:
        TrainingError: a real-data folder is missing or empty, the cache cannot be written, or a
            worker process died (the speech engine crashed, or memory ran out).
        SynthesisError: espeak-ng is unavailable.
    """
    started = time.monotonic()
    cache_path = _cache_path(recipe, cache_dir)  # hashes the code and the real-data folders
    cached = load_cache(cache_path, recipe)
    if cached is not None:
        cached.stats["cache_hit"] = True
        cached.stats["load_seconds"] = round(time.monotonic() - started, 2)
        return cached
    voices = split_voices(recipe.seed)
    real = load_real_audio(recipe)
    pronunciations, confusables, sound_alikes = phrase_lists(recipe.keyword, recipe.seed)
    plans = {
        split: SpeechPlan(
            recipe.keyword,
            tuple(voices[split]),
            pronunciations,
            confusables,
            recipe.seed,
            recipe.neural_voices if split == "train" else (),
            recipe.noise_floor_dbfs,
            recipe.loud_share,  # clip_audio applies it to the training split only
        )
        for split in SPLITS
    }
    workers = recipe.workers or os.cpu_count() or 1
    splits: dict[str, Split] = {}
    seconds: dict[str, float] = {}
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_signals)
    try:
        with _signals_held():
            _start_workers(pool, workers)
        for split in SPLITS:
            split_started = time.monotonic()
            with worker_death_named(f"the {split} split's audio", recipe.seed):
                splits[split] = _build_split(recipe, plans[split], split, real, pool, progress)
            seconds[split] = round(time.monotonic() - split_started, 1)
    except BaseException:
        _stop_now(pool)
        raise
    pool.shutdown()
    stats = {
        "voices": {s: len(v) for s, v in voices.items()},
        "voice_examples": {s: v[:3] for s, v in voices.items()},
        "neural_voices": neural.voice_licences(recipe.neural_voices),
        "neural_voice_share_of_train": NEURAL_VOICE_SHARE if recipe.neural_voices else 0.0,
        "loud_scene_share_of_train": recipe.loud_share,
        "positives": {s: len(splits[s].positives.features) for s in SPLITS},
        "negatives": {s: len(splits[s].negatives.features) for s in SPLITS},
        "stream_minutes": {s: round(splits[s].stream_hours * 60, 2) for s in SPLITS},
        "real_clips": real.counts(),
        "pronunciations": list(pronunciations[:6]),
        "confusables": list(confusables[:12]),
        "sound_alikes": sound_alikes,
        "noise_kinds": list(NOISE_KINDS),
        "workers": workers,
        "seconds_per_split": seconds,
        "seconds": round(time.monotonic() - started, 1),
        "cache_hit": False,
    }
    dataset = Dataset(splits["train"], splits["val"], splits["test"], recipe, stats, cache_path)
    save_cache(cache_path, dataset)
    return dataset


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive inside are delivered as it ends. A KeyboardInterrupt
    raised while the pool forks its workers could leave a worker started but not yet recorded
    by the executor: ``_stop_now`` could not kill it, and the exit waited for it forever."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread handles signals
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.getsignal(signum) for signum in held}
    for signum in held:
        signal.signal(signum, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            signal.raise_signal(caught[0])


def _start_workers(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start every worker now (a fork-based pool starts them all at its first task; others
    one per task while none is idle)."""
    for future in [pool.submit(int) for _ in range(workers)]:
        future.result()


def _worker_signals() -> None:
    """A worker leaves Ctrl-C to its parent, which stops the pool (``_stop_now``); SIGTERM ends
    it as usual."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """Ctrl-C, a signal to this process alone, or an error: drop the queued clips, end the
    workers now, and wait for the executor to close its pipes. Their current clips (8 a task,
    and a cold Numba compile first in a fresh install: minutes on a busy machine) would
    otherwise hold the exit, because the interpreter joins the pool before it ends. Python
    3.14's ``terminate_workers`` does this; before it, the executor's own processes are killed
    (``_processes``, read before ``shutdown`` clears it). Its thread then finds them gone and
    closes its pipes: an exit that does not wait for that races it (Python 3.11 writes to a
    pipe the thread is closing: "Exception ignored in threading._shutdown ... Bad file
    descriptor" on stderr, once in 58 loops of the three interrupted-training tests)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
    if manager is not None:
        manager.join(timeout=STOP_WAIT_S)


def _build_split(
    recipe: DataRecipe, plan: SpeechPlan, split: str, real: RealAudio, pool: Any, progress: Any
) -> Split:
    n_pos, n_neg, minutes = recipe.budget(split)
    keep_pcm = split == "test"  # raw audio for peers that run their own frontend
    jobs = [
        ClipJob(plan, split, kind, i, keep_pcm)
        for kind, count in (("pos", n_pos), ("neg", n_neg))
        for i in range(count)
    ]
    n_chunks = max(1, int(np.ceil(minutes * 60 / STREAM_CHUNK_S))) if minutes > 0 else 0
    stream_jobs = [StreamJob(plan, split, i, STREAM_CHUNK_S) for i in range(n_chunks)]
    task = None
    if progress is not None:
        task = progress.add_task(f"data: {split}", total=len(jobs) + len(stream_jobs))
    results: list[Record] = []
    for result in pool.map(make_clip, jobs, chunksize=8):
        results.append(result)
        if task is not None:
            progress.advance(task)
    chunks = []
    for chunk in pool.map(make_stream_chunk, stream_jobs):
        chunks.append(chunk)
        if task is not None:
            progress.advance(task)
    pieces = chunks + real.streams.get(split, [])
    stream_pcm = np.concatenate(pieces) if pieces else np.zeros(0, np.int16)
    stream_pcm = add_floor(stream_pcm, recipe.noise_floor_dbfs)
    # One call over the whole stream: the runtime sees it as one continuous recording.
    stream_features = compute_features(stream_pcm)
    positives = results[:n_pos] + real.positives.get(split, [])
    negatives = results[n_pos:] + real.negatives.get(split, [])
    return Split(
        positives=_clipset(positives, keep_pcm),
        negatives=_clipset(negatives, keep_pcm),
        stream_features=stream_features,
        stream_hours=stream_pcm.size / SAMPLE_RATE_HZ / 3600.0,
        stream_pcm=stream_pcm if keep_pcm else None,
    )


def _clipset(records: list[Record], keep_pcm: bool) -> ClipSet:
    return ClipSet(
        features=[r[0] for r in records],
        keyword_end_frames=np.array([r[1] for r in records], dtype=np.int32),
        voices=[r[2] for r in records],
        pcm=[r[3] for r in records] if keep_pcm else None,
        contexts=[r[4] for r in records],
    )
