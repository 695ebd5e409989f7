"""The data contract with the trainer: the recipe that decides a dataset, and what it holds."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.noise_floor import DEFAULT_DBFS

# Per split: positives, negatives, minutes of keyword-free stream.
QUICK_BUDGET = {"train": (240, 400, 2.0), "val": (60, 100, 1.5), "test": (60, 100, 3.0)}
FULL_BUDGET = {"train": (3000, 4000, 180.0), "val": (600, 500, 180.0), "test": (800, 600, 240.0)}
MIN_HELD_OUT_CLIPS = 8


@dataclass(frozen=True)
class DataRecipe:
    """Everything that decides the dataset; its hash keys the feature cache.

    ``n_positive`` / ``n_negative`` set the training split's clip counts; validation and test
    scale with them in the mode's proportions (at least 8 each). ``stream_minutes`` maps a
    split name to minutes of continuous keyword-free audio. ``loud_share`` of the training clips
    sit in a loud scene (``training.data.clips.loud_background``; validation and test never).
    ``workers`` (processes; default all cores) changes speed only, so it is not part of the
    cache key. ``neural_voices`` speak a share of the training split only
    (``training.data.neural``): with one or two neural voices no held-out one is left, so
    validation and test stay espeak-ng voices never trained on.
    ``noise_floor_dbfs`` is the ``kws.noise_floor`` level under every clip and stream of every
    split (None: none), as the runtime adds it under what the bundle hears.
    """

    keyword: str
    seed: int = 0
    quick: bool = False
    n_positive: int | None = None
    n_negative: int | None = None
    stream_minutes: dict[str, float] | None = None
    recordings_dir: Path | None = None
    negatives_dir: Path | None = None
    speech_commands_dir: Path | None = None
    neural_voices: tuple[str, ...] = ()  # Piper voice ids for the training split
    noise_floor_dbfs: float | None = DEFAULT_DBFS
    loud_share: float = 0.0
    workers: int | None = None

    def budget(self, split: str) -> tuple[int, int, float]:
        """(positives, negatives, stream minutes) to synthesize for ``split``."""
        table = QUICK_BUDGET if self.quick else FULL_BUDGET
        n_pos, n_neg, minutes = table[split]
        train_pos, train_neg, _ = table["train"]
        if self.n_positive is not None:
            n_pos = self._scaled(self.n_positive, n_pos, train_pos, split)
        if self.n_negative is not None:
            n_neg = self._scaled(self.n_negative, n_neg, train_neg, split)
        if self.stream_minutes and split in self.stream_minutes:
            minutes = float(self.stream_minutes[split])
        return n_pos, n_neg, minutes

    @staticmethod
    def _scaled(requested: int, default: int, default_train: int, split: str) -> int:
        if split == "train":
            return requested
        return max(MIN_HELD_OUT_CLIPS, round(requested * default / default_train))

    def cache_key(self, *parts: str) -> str:
        """16 hex digits over the recipe (less ``workers``), the clip counts and stream minutes
        it resolves to (so a change of the budget tables is a new dataset), and ``parts``
        (frontend hash, code and text-corpus digests)."""
        fields = asdict(self)
        fields.pop("workers")
        fields = {k: (str(v) if isinstance(v, Path) else v) for k, v in fields.items()}
        budgets = {split: self.budget(split) for split in ("train", "val", "test")}
        blob = json.dumps([fields, budgets, *parts], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class ClipSet:
    """Fixed-length clips: uint16 features [frames, 40] each, where the keyword ends (frame
    index, -1 for negatives), the voice or speaker, int16 16 kHz audio (test split only), and
    what each keyword follows (``training.data.clips.CONTEXTS``; "" for negatives)."""

    features: list[npt.NDArray[np.uint16]]
    keyword_end_frames: npt.NDArray[np.int32]
    voices: list[str]
    pcm: list[npt.NDArray[np.int16]] | None = None
    contexts: list[str] | None = None


@dataclass
class Split:
    """One split: keyword clips, keyword-free clips, and continuous keyword-free audio."""

    positives: ClipSet
    negatives: ClipSet
    stream_features: npt.NDArray[np.uint16]
    stream_hours: float
    stream_pcm: npt.NDArray[np.int16] | None = None  # test split only


@dataclass
class Dataset:
    """Train, validation and test splits (disjoint voices) and how they were made."""

    train: Split
    val: Split
    test: Split
    recipe: DataRecipe
    stats: dict[str, Any] = field(default_factory=dict)
    cache_path: Path | None = None  # the feature cache file it was read from or written to

    def split(self, name: str) -> Split:
        value: Split = getattr(self, name)
        return value
