"""Build train / validation / test splits of keyword and keyword-free audio as frontend features.

Every clip is made by a pure function of (recipe, split, kind, index): a seeded recipe of voice,
prosody, text, augmentation and noise. Splits never share an espeak voice variant, so the test
figures are for voices the model never heard. Features come from ``kws.frontend`` (the runtime's
own code), computed over one second of lead-in audio so noise reduction and PCAN settle, and are
cached on disk keyed by the recipe and the frontend hash.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kws import synth as espeak
from kws.frontend import FrontendConfig, compute_features
from training.data import augment, text
from training.data.real import RealAudio, load_real_audio

SPLITS = ("train", "val", "test")
CLIP_S = 2.0
LEAD_IN_S = 1.0
HOP_S = 0.01
DATA_VERSION = 1  # bump when clip generation changes: invalidates caches

# Per split: positives, negatives, minutes of keyword-free stream.
QUICK_BUDGET = {"train": (240, 400, 2.0), "val": (60, 100, 1.5), "test": (60, 100, 3.0)}
FULL_BUDGET = {"train": (3000, 4000, 40.0), "val": (300, 400, 45.0), "test": (400, 500, 120.0)}


@dataclass(frozen=True)
class DataRecipe:
    """Everything that decides the dataset; its hash keys the feature cache."""

    keyword: str
    seed: int = 0
    quick: bool = False
    n_positive: int | None = None
    n_negative: int | None = None
    stream_minutes: dict[str, float] | None = None
    recordings_dir: Path | None = None
    negatives_dir: Path | None = None
    speech_commands_dir: Path | None = None
    workers: int | None = None

    def budget(self, split: str) -> tuple[int, int, float]:
        n_pos, n_neg, minutes = (QUICK_BUDGET if self.quick else FULL_BUDGET)[split]
        if split == "train":
            n_pos = self.n_positive if self.n_positive is not None else n_pos
            n_neg = self.n_negative if self.n_negative is not None else n_neg
        if self.stream_minutes and split in self.stream_minutes:
            minutes = self.stream_minutes[split]
        return n_pos, n_neg, minutes

    def cache_key(self, frontend_hash: str) -> str:
        fields = asdict(self)
        fields.pop("workers")
        fields = {k: (str(v) if isinstance(v, Path) else v) for k, v in fields.items()}
        blob = json.dumps([fields, frontend_hash, DATA_VERSION], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class ClipSet:
    features: list[npt.NDArray[np.uint16]]
    keyword_end_frames: npt.NDArray[np.int32]
    voices: list[str]
    pcm: list[npt.NDArray[np.int16]] | None = None


@dataclass
class Split:
    positives: ClipSet
    negatives: ClipSet
    stream_features: npt.NDArray[np.uint16]
    stream_hours: float
    stream_pcm: npt.NDArray[np.int16] | None = None


@dataclass
class Dataset:
    train: Split
    val: Split
    test: Split
    recipe: DataRecipe
    stats: dict[str, Any] = field(default_factory=dict)

    def split(self, name: str) -> Split:
        value: Split = getattr(self, name)
        return value


def split_voices(seed: int) -> dict[str, list[str]]:
    """espeak voices (``base+variant``) per split, disjoint by variant: 70/15/15."""
    bases = [v for v in espeak.english_voices() if v.lower() != "en-shaw"]
    variants = espeak.voice_variants()
    order = np.random.default_rng(seed).permutation(len(variants))
    n_val = n_test = max(1, len(variants) * 15 // 100)
    chosen = {
        "test": [variants[i] for i in order[:n_test]],
        "val": [variants[i] for i in order[n_test : n_test + n_val]],
        "train": [variants[i] for i in order[n_test + n_val :]],
    }
    return {split: [f"{b}+{v}" for b in bases for v in names] for split, names in chosen.items()}


def _random_settings(voice: str, rng: np.random.Generator) -> espeak.VoiceSettings:
    return espeak.VoiceSettings(
        voice=voice,
        rate_wpm=int(rng.integers(80, 261)),
        pitch=int(rng.integers(0, 100)),
        pitch_range=int(rng.integers(0, 81)),  # espeak-ng 1.5x crashes on some variants above 80
        word_gap_10ms=int(rng.integers(0, 4)),
    )


def _speak(phrase: str, voice: str, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    audio = augment.to_float(espeak.synthesize(phrase, _random_settings(voice, rng)))
    return augment.augment_speech(audio, rng) if audio.size else audio


@dataclass(frozen=True)
class _ClipJob:
    keyword: str
    split: str
    kind: str  # "pos" or "neg"
    index: int
    seed: int
    voices: tuple[str, ...]
    keep_pcm: bool


def _split_code(split: str) -> int:
    return SPLITS.index(split)


def _background(rng: np.random.Generator, n: int) -> npt.NDArray[np.float32]:
    return augment.make_noise(str(rng.choice(augment.NOISE_KINDS)), n, rng)


def make_clip(job: _ClipJob) -> tuple[npt.NDArray[np.uint16], int, str, Any]:
    """Synthesize one 2 s clip (plus lead-in) and return (features, keyword end frame, voice,
    pcm or None). Positives end the keyword at a known frame; negatives return -1."""
    rng = np.random.default_rng([job.seed, _split_code(job.split), job.kind == "pos", job.index])
    voice = str(rng.choice(job.voices))
    n_clip = int(CLIP_S * augment.SAMPLE_RATE_HZ)
    n_lead = int(LEAD_IN_S * augment.SAMPLE_RATE_HZ)
    words = set(job.keyword.lower().split())
    end_sample = -1
    if job.kind == "pos":
        keyword_audio = _speak(job.keyword, voice, rng)
        before = np.zeros(0, np.float32)
        after = np.zeros(0, np.float32)
        if rng.random() < 0.4:
            before = _speak(str(rng.choice(text.CARRIER_PREFIXES)), voice, rng)
        if rng.random() < 0.4:
            after = _speak(str(rng.choice(text.CARRIER_SUFFIXES)), voice, rng)
        gap = np.zeros(int(rng.uniform(0.02, 0.25) * augment.SAMPLE_RATE_HZ), np.float32)
        end_in_clip = int(rng.uniform(1.25, 1.85) * augment.SAMPLE_RATE_HZ)
        keyword_audio = keyword_audio[-end_in_clip:]
        speech = np.concatenate([before, gap, keyword_audio, gap, after])
        keyword_end = before.size + gap.size + keyword_audio.size
        start = keyword_end - end_in_clip
        padded = np.concatenate([np.zeros(max(0, -start), np.float32), speech[max(0, start) :]])
        clip = np.zeros(n_clip, np.float32)
        clip[: min(n_clip, padded.size)] = padded[:n_clip]
        end_sample = end_in_clip
    else:
        roll = rng.random()
        if roll < 0.4:
            phrase = text.confusables(job.keyword, rng, 8)[int(rng.integers(0, 8))]
        elif roll < 0.85:
            phrase = text.random_sentence(rng, words)
        else:
            phrase = ""
        speech = _speak(phrase, voice, rng) if phrase else np.zeros(0, np.float32)
        clip = np.zeros(n_clip, np.float32)
        offset = int(rng.integers(0, max(1, n_clip - speech.size)))
        speech = speech[: n_clip - offset]
        clip[offset : offset + speech.size] = speech
    level = float(10 ** rng.uniform(-1.6, -0.4))
    clip *= level / max(augment.rms(clip), 1e-4) if augment.rms(clip) > 1e-4 else 1.0
    noise = _background(rng, n_lead + n_clip)
    if job.split == "test" and job.kind == "pos":
        snr_db = 10.0 if job.index % 2 == 0 else 20.0
    else:
        snr_db = float(rng.uniform(0.0, 30.0))
    speech_rms = augment.rms(clip) if augment.rms(clip) > 1e-4 else 0.01
    noise_scale = speech_rms / (augment.rms(noise) * 10 ** (snr_db / 20.0))
    audio = noise * noise_scale
    audio[n_lead:] += clip
    pcm = augment.to_int16(audio)
    frames = compute_features(pcm)[int(round(LEAD_IN_S / HOP_S)) :]
    end_frame = -1 if end_sample < 0 else min(frames.shape[0] - 1, end_sample // 160)
    return frames, end_frame, voice, (pcm[n_lead:] if job.keep_pcm else None)


def make_stream_chunk(args: tuple[str, str, int, int, tuple[str, ...], float]) -> Any:
    """``seconds`` of keyword-free audio: sentences, confusables and pauses over noise."""
    keyword, split, index, seed, voices, seconds = args
    rng = np.random.default_rng([seed, _split_code(split), 7, index])
    n_total = int(seconds * augment.SAMPLE_RATE_HZ)
    out = np.zeros(n_total, np.float32)
    position = 0
    words = set(keyword.lower().split())
    while position < n_total:
        if rng.random() < 0.15:
            phrase = text.confusables(keyword, rng, 8)[int(rng.integers(0, 8))]
        else:
            phrase = text.random_sentence(rng, words)
        speech = _speak(phrase, str(rng.choice(voices)), rng)
        speech *= float(10 ** rng.uniform(-1.5, -0.5)) / max(augment.rms(speech), 1e-4)
        speech = speech[: n_total - position]
        out[position : position + speech.size] += speech
        position += speech.size + int(rng.uniform(0.1, 2.5) * augment.SAMPLE_RATE_HZ)
    noise = _background(rng, n_total) * float(10 ** rng.uniform(-3.0, -1.5))
    return augment.to_int16(out + noise)


def build_dataset(recipe: DataRecipe, cache_dir: Path, progress: Any = None) -> Dataset:
    """Build (or load from cache) the three splits for ``recipe``. See the module docstring."""
    started = time.monotonic()
    frontend_hash = FrontendConfig().hash()
    cache_path = Path(cache_dir) / f"dataset-{recipe.cache_key(frontend_hash)}.npz"
    if cache_path.is_file():
        dataset = _load_cache(cache_path, recipe)
        dataset.stats["cache_hit"] = True
        return dataset
    voices = split_voices(recipe.seed)
    real = load_real_audio(recipe)
    workers = recipe.workers or None
    splits: dict[str, Split] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for split in SPLITS:
            splits[split] = _build_split(recipe, split, voices[split], real, pool, progress)
    stats = {
        "voices": {s: len(v) for s, v in voices.items()},
        "positives": {s: len(splits[s].positives.features) for s in SPLITS},
        "negatives": {s: len(splits[s].negatives.features) for s in SPLITS},
        "stream_minutes": {s: round(splits[s].stream_hours * 60, 2) for s in SPLITS},
        "real_clips": real.counts(),
        "seconds": round(time.monotonic() - started, 1),
        "cache_hit": False,
    }
    dataset = Dataset(splits["train"], splits["val"], splits["test"], recipe, stats)
    _save_cache(cache_path, dataset)
    return dataset


def _build_split(
    recipe: DataRecipe, split: str, voices: list[str], real: RealAudio, pool: Any, progress: Any
) -> Split:
    n_pos, n_neg, minutes = recipe.budget(split)
    keep_pcm = split == "test"  # clips only: peers run on our bit-exact TFLM features
    jobs = [
        _ClipJob(recipe.keyword, split, kind, i, recipe.seed, tuple(voices), keep_pcm)
        for kind, count in (("pos", n_pos), ("neg", n_neg))
        for i in range(count)
    ]
    chunk_s = 20.0
    n_chunks = max(1, int(np.ceil(minutes * 60 / chunk_s)))
    task = None
    if progress is not None:
        task = progress.add_task(f"data: {split}", total=len(jobs) + n_chunks)
    results = []
    for result in pool.map(make_clip, jobs, chunksize=8):
        results.append(result)
        if task is not None:
            progress.advance(task)
    stream_args = [
        (recipe.keyword, split, i, recipe.seed, tuple(voices), chunk_s) for i in range(n_chunks)
    ]
    chunks = []
    for chunk in pool.map(make_stream_chunk, stream_args):
        chunks.append(chunk)
        if task is not None:
            progress.advance(task)
    stream_pcm = np.concatenate(chunks + real.streams.get(split, []))
    stream_features = compute_features(stream_pcm)
    pos = [r for r in results[:n_pos]] + real.positives.get(split, [])
    neg = [r for r in results[n_pos:]] + real.negatives.get(split, [])
    return Split(
        positives=_clipset(pos, keep_pcm),
        negatives=_clipset(neg, keep_pcm),
        stream_features=stream_features,
        stream_hours=stream_pcm.size / augment.SAMPLE_RATE_HZ / 3600.0,
        stream_pcm=None,
    )


def _clipset(results: list[Any], keep_pcm: bool) -> ClipSet:
    return ClipSet(
        features=[r[0] for r in results],
        keyword_end_frames=np.array([r[1] for r in results], dtype=np.int32),
        voices=[r[2] for r in results],
        pcm=[r[3] for r in results] if keep_pcm else None,
    )


def _pack(arrays: list[npt.NDArray[Any]]) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    if not arrays:
        return np.zeros((0,), np.uint16), lengths
    return np.concatenate(arrays), lengths


def _unpack(flat: npt.NDArray[Any], lengths: npt.NDArray[np.int64]) -> list[npt.NDArray[Any]]:
    return list(np.split(flat, np.cumsum(lengths)[:-1])) if lengths.size else []


def _save_cache(path: Path, dataset: Dataset) -> None:
    arrays: dict[str, Any] = {"stats": np.array(json.dumps(dataset.stats))}
    for name in SPLITS:
        split = dataset.split(name)
        for kind, clips in (("pos", split.positives), ("neg", split.negatives)):
            flat, lengths = _pack(clips.features)
            arrays[f"{name}_{kind}_features"] = flat
            arrays[f"{name}_{kind}_lengths"] = lengths
            arrays[f"{name}_{kind}_end"] = clips.keyword_end_frames
            arrays[f"{name}_{kind}_voices"] = np.array(clips.voices)
            if clips.pcm is not None:
                flat_pcm, pcm_lengths = _pack(clips.pcm)
                arrays[f"{name}_{kind}_pcm"] = flat_pcm
                arrays[f"{name}_{kind}_pcm_lengths"] = pcm_lengths
        arrays[f"{name}_stream"] = split.stream_features
        arrays[f"{name}_stream_hours"] = np.array(split.stream_hours)
        if split.stream_pcm is not None:
            arrays[f"{name}_stream_pcm"] = split.stream_pcm
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, **arrays)
    partial.replace(path)  # atomic: an interrupted run never leaves a half cache


def _load_cache(path: Path, recipe: DataRecipe) -> Dataset:
    with np.load(path) as cached:
        arrays = {key: cached[key] for key in cached.files}
    splits = {}
    for name in SPLITS:
        sets = {}
        for kind in ("pos", "neg"):
            pcm = None
            if f"{name}_{kind}_pcm" in arrays:
                pcm = _unpack(arrays[f"{name}_{kind}_pcm"], arrays[f"{name}_{kind}_pcm_lengths"])
            sets[kind] = ClipSet(
                features=_unpack(
                    arrays[f"{name}_{kind}_features"], arrays[f"{name}_{kind}_lengths"]
                ),
                keyword_end_frames=arrays[f"{name}_{kind}_end"],
                voices=[str(v) for v in arrays[f"{name}_{kind}_voices"]],
                pcm=pcm,
            )
        splits[name] = Split(
            positives=sets["pos"],
            negatives=sets["neg"],
            stream_features=arrays[f"{name}_stream"],
            stream_hours=float(arrays[f"{name}_stream_hours"]),
            stream_pcm=arrays.get(f"{name}_stream_pcm"),
        )
    stats = json.loads(str(arrays["stats"]))
    return Dataset(splits["train"], splits["val"], splits["test"], recipe, stats)
