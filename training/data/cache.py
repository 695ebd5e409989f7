"""The on-disk feature cache: one ``.npz`` per dataset, written atomically.

Variable-length lists are stored flat with their lengths so the file loads without pickling
(``np.load`` never executes code from it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kws.errors import TrainingError
from training.data.containers import ClipSet, DataRecipe, Dataset, Split

SPLITS = ("train", "val", "test")


def _pack(arrays: list[npt.NDArray[Any]]) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    if not arrays:
        return np.zeros((0,), np.uint16), lengths
    return np.concatenate(arrays), lengths


def _unpack(flat: npt.NDArray[Any], lengths: npt.NDArray[np.int64]) -> list[npt.NDArray[Any]]:
    return list(np.split(flat, np.cumsum(lengths)[:-1])) if lengths.size else []


def save_cache(path: Path, dataset: Dataset) -> None:
    """Write ``dataset`` to ``path`` (a temporary file first, then a rename).

    Raises:
        TrainingError: the folder cannot be written (full disk, permissions).
    """
    arrays: dict[str, Any] = {"stats": np.array(json.dumps(dataset.stats))}
    for name in SPLITS:
        split = dataset.split(name)
        for kind, clips in (("pos", split.positives), ("neg", split.negatives)):
            flat, lengths = _pack(clips.features)
            arrays[f"{name}_{kind}_features"] = flat
            arrays[f"{name}_{kind}_lengths"] = lengths
            arrays[f"{name}_{kind}_end"] = clips.keyword_end_frames
            arrays[f"{name}_{kind}_voices"] = np.array(clips.voices, dtype=str)
            if clips.contexts is not None:
                arrays[f"{name}_{kind}_contexts"] = np.array(clips.contexts, dtype=str)
            if clips.pcm is not None:
                flat_pcm, pcm_lengths = _pack(clips.pcm)
                arrays[f"{name}_{kind}_pcm"] = flat_pcm
                arrays[f"{name}_{kind}_pcm_lengths"] = pcm_lengths
        arrays[f"{name}_stream"] = split.stream_features
        arrays[f"{name}_stream_hours"] = np.array(split.stream_hours)
        if split.stream_pcm is not None:
            arrays[f"{name}_stream_pcm"] = split.stream_pcm
    partial = path.with_name(path.stem + ".partial.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(partial, **arrays)
        partial.replace(path)  # atomic: an interrupted run never leaves a half cache
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise TrainingError(f"cannot write the feature cache {path}: {error.strerror}") from error


def load_cache(path: Path, recipe: DataRecipe) -> Dataset | None:
    """The dataset stored at ``path``, or None when the file is missing, unreadable or from an
    older layout (the caller then rebuilds it)."""
    try:
        with np.load(path, allow_pickle=False) as cached:
            arrays = {key: cached[key] for key in cached.files}
        splits = {}
        for name in SPLITS:
            sets = {}
            for kind in ("pos", "neg"):
                pcm = None
                if f"{name}_{kind}_pcm" in arrays:
                    pcm = _unpack(
                        arrays[f"{name}_{kind}_pcm"], arrays[f"{name}_{kind}_pcm_lengths"]
                    )
                sets[kind] = ClipSet(
                    features=_unpack(
                        arrays[f"{name}_{kind}_features"], arrays[f"{name}_{kind}_lengths"]
                    ),
                    keyword_end_frames=arrays[f"{name}_{kind}_end"].astype(np.int32),
                    voices=[str(v) for v in arrays[f"{name}_{kind}_voices"]],
                    pcm=pcm,
                    contexts=[str(c) for c in arrays[f"{name}_{kind}_contexts"]]
                    if f"{name}_{kind}_contexts" in arrays
                    else None,
                )
            splits[name] = Split(
                positives=sets["pos"],
                negatives=sets["neg"],
                stream_features=arrays[f"{name}_stream"],
                stream_hours=float(arrays[f"{name}_stream_hours"]),
                stream_pcm=arrays.get(f"{name}_stream_pcm"),
            )
        stats = json.loads(str(arrays["stats"]))
    except (OSError, KeyError, ValueError):
        return None
    return Dataset(splits["train"], splits["val"], splits["test"], recipe, stats, path)
