"""Real audio the user brings: their own keyword recordings, keyword-free audio, and datasets in
Google Speech Commands layout (a folder per word, ``_background_noise_``, ``validation_list.txt``,
``testing_list.txt``). Each clip becomes the same (features, keyword end frame, voice, pcm)
record as synthetic clips, with the speaker as voice so splits stay disjoint by speaker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from kws.audio import audio_files, is_keyword_folder, read_audio
from kws.errors import TrainingError
from kws.frontend import compute_features
from kws.frontend.config import SAMPLE_RATE_HZ
from kws.noise_floor import add_floor
from training.data import augment

if TYPE_CHECKING:
    from training.data.containers import DataRecipe

CLIP_SAMPLES = 2 * SAMPLE_RATE_HZ
LEAD_IN_SAMPLES = SAMPLE_RATE_HZ
MAX_SPEECH_COMMANDS_NEGATIVES = 2000
# A user brings tens of recordings, not thousands: each training one also goes in as this many
# augmented copies (other room, microphone, noise, speed, formants, position in the clip).
AUGMENTED_COPIES = 8

Record = tuple[npt.NDArray[np.uint16], int, str, Any, str]  # as training.data.clips.Record
RECORDING = "a recording"  # the context of a real keyword clip


@dataclass
class RealAudio:
    positives: dict[str, list[Record]] = field(default_factory=dict)
    negatives: dict[str, list[Record]] = field(default_factory=dict)
    streams: dict[str, list[npt.NDArray[np.int16]]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "positives": sum(len(v) for v in self.positives.values()),
            "negatives": sum(len(v) for v in self.negatives.values()),
            "streams": sum(len(v) for v in self.streams.values()),
        }


def _audio_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise TrainingError(f"{folder} is not a folder")
    return audio_files(folder)


def folders_digest(recipe: DataRecipe) -> str:
    """A short hash of every file (name, size, modification time) in the recipe's real-data
    folders, so adding or replacing a recording invalidates the feature cache."""
    digest = hashlib.sha256()
    for folder in (recipe.recordings_dir, recipe.negatives_dir, recipe.speech_commands_dir):
        if folder is None or not Path(folder).is_dir():
            continue
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            stat = path.stat()
            digest.update(
                f"{path.relative_to(folder)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode()
            )
    return digest.hexdigest()[:12]


def _split_by_name(name: str) -> str:
    """A stable 80/10/10 split from the speaker or file name."""
    bucket = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "val" if bucket == 1 else "train"


def speech_end_sample(pcm: npt.NDArray[np.int16]) -> int:
    """Where speech ends: the last 10 ms block louder than 10% of the loudest block."""
    blocks = pcm[: pcm.size // 160 * 160].astype(np.float32).reshape(-1, 160)
    if blocks.size == 0:
        return pcm.size
    energy = np.sqrt(np.mean(blocks**2, axis=1))
    loud = np.nonzero(energy > 0.1 * energy.max())[0]
    return int((loud[-1] + 1) * 160) if loud.size else pcm.size


def clip_record(
    pcm: npt.NDArray[np.int16],
    voice: str,
    positive: bool,
    keep_pcm: bool,
    floor_dbfs: float | None = None,
) -> Record:
    """Place a clip in a 2 s canvas (keyword end at ~1.6 s for positives) after 1 s lead-in,
    over a ``kws.noise_floor`` at ``floor_dbfs`` (None: none)."""
    canvas = np.zeros(LEAD_IN_SAMPLES + CLIP_SAMPLES, np.int16)
    if positive:
        end = speech_end_sample(pcm)
        target_end = int(1.6 * SAMPLE_RATE_HZ)
        start = end - target_end
        piece = pcm[max(0, start) : end + (CLIP_SAMPLES - target_end)]
        offset = LEAD_IN_SAMPLES + max(0, -start)
    else:
        piece = pcm[:CLIP_SAMPLES]
        offset = LEAD_IN_SAMPLES
    piece = piece[: canvas.size - offset]
    canvas[offset : offset + piece.size] = piece
    canvas = add_floor(canvas, floor_dbfs)
    frames = compute_features(canvas)[LEAD_IN_SAMPLES // 160 :]
    end_frame = min(frames.shape[0] - 1, int(1.6 * 100)) if positive else -1
    context = RECORDING if positive else ""
    return frames, end_frame, voice, (canvas[LEAD_IN_SAMPLES:] if keep_pcm else None), context


def augmented_record(
    pcm: npt.NDArray[np.int16],
    voice: str,
    rng: np.random.Generator,
    floor_dbfs: float | None = None,
) -> Record:
    """One augmented copy of a keyword recording over 1 s of lead-in noise: speaker, room and
    microphone changes, speech at -32 to -8 dBFS, noise at 0-25 dB SNR and the noise floor at
    ``floor_dbfs``, the keyword ending at 1.3-1.85 s into the 2 s clip."""
    audio = augment.augment_speech(augment.to_float(pcm[: speech_end_sample(pcm)]), rng)
    end_sample = int(rng.uniform(1.3, 1.85) * SAMPLE_RATE_HZ)
    audio = audio[-end_sample:]
    clip = np.zeros(CLIP_SAMPLES, np.float32)
    clip[end_sample - audio.size : end_sample] = audio
    level_db = 20 * np.log10(max(augment.rms(clip), 1e-6))
    clip = augment.apply_gain_db(clip, float(rng.uniform(-32.0, -8.0)) - level_db)
    noise = augment.make_noise(
        str(rng.choice(augment.NOISE_KINDS)), LEAD_IN_SAMPLES + CLIP_SAMPLES, rng
    )
    snr_db = float(rng.uniform(0.0, 25.0))
    noise *= augment.rms(clip) / (max(augment.rms(noise), 1e-9) * 10 ** (snr_db / 20.0))
    noise[LEAD_IN_SAMPLES:] += clip
    frames = compute_features(add_floor(augment.to_int16(noise), floor_dbfs))
    frames = frames[LEAD_IN_SAMPLES // 160 :]
    return frames, min(frames.shape[0] - 1, end_sample // 160), voice, None, RECORDING


def _add(store: dict[str, list[Any]], split: str, item: Any) -> None:
    store.setdefault(split, []).append(item)


def load_real_audio(recipe: DataRecipe) -> RealAudio:
    """Read every real-data folder the recipe names."""
    real = RealAudio()
    if recipe.recordings_dir is not None:
        files = _audio_files(Path(recipe.recordings_dir))
        if not files:
            raise TrainingError(f"no audio files in {recipe.recordings_dir}")
        for path in files:
            split = _split_by_name(path.stem)
            pcm, _ = read_audio(path)
            voice = f"user:{path.stem}"
            record = clip_record(pcm, voice, True, split == "test", recipe.noise_floor_dbfs)
            _add(real.positives, split, record)
            if split != "train":
                continue
            name_seed = int(hashlib.sha256(path.name.encode()).hexdigest()[:8], 16)
            for copy in range(AUGMENTED_COPIES):
                rng = np.random.default_rng([recipe.seed, name_seed, copy])
                record = augmented_record(pcm, voice, rng, recipe.noise_floor_dbfs)
                _add(real.positives, split, record)
    if recipe.negatives_dir is not None:
        for path in _audio_files(Path(recipe.negatives_dir)):
            pcm, _ = read_audio(path)
            _add(real.streams, _split_by_name(path.stem), pcm)
    if recipe.speech_commands_dir is not None:
        _load_speech_commands(Path(recipe.speech_commands_dir), recipe, real)
    return real


def _load_speech_commands(root: Path, recipe: DataRecipe, real: RealAudio) -> None:
    keyword, seed = recipe.keyword, recipe.seed
    if not root.is_dir():
        raise TrainingError(f"{root} is not a Speech Commands folder")

    def listed(name: str) -> set[str]:
        path = root / name
        return set(path.read_text().split()) if path.is_file() else set()

    validation, testing = listed("validation_list.txt"), listed("testing_list.txt")
    word_dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith("_")]
    if not word_dirs:
        raise TrainingError(f"{root} has no word folders (Speech Commands layout)")
    positives: list[Path] = []
    negatives: list[Path] = []
    for word_dir in word_dirs:
        positive = is_keyword_folder(word_dir.name, keyword)
        (positives if positive else negatives).extend(_audio_files(word_dir))
    if len(negatives) > MAX_SPEECH_COMMANDS_NEGATIVES:
        # A seeded sample across all words: taking the first files would take only "backward".
        chosen = np.random.default_rng(seed).permutation(len(negatives))
        negatives = [negatives[i] for i in sorted(chosen[:MAX_SPEECH_COMMANDS_NEGATIVES])]
    for paths, positive in ((positives, True), (negatives, False)):
        for path in paths:
            relative = f"{path.parent.name}/{path.name}"
            split = "test" if relative in testing else "val" if relative in validation else "train"
            pcm, _ = read_audio(path)
            speaker = path.name.split("_nohash_")[0]
            record = clip_record(
                pcm, f"sc:{speaker}", positive, split == "test", recipe.noise_floor_dbfs
            )
            _add(real.positives if positive else real.negatives, split, record)
    noise_dir = root / "_background_noise_"
    if noise_dir.is_dir():
        for index, path in enumerate(_audio_files(noise_dir)):
            pcm, _ = read_audio(path)
            _add(real.streams, SPLIT_CYCLE[index % len(SPLIT_CYCLE)], pcm)


SPLIT_CYCLE = ("train", "test", "val")
