"""Evaluation: false rejects versus false accepts per hour, for tiny, full, cascade and peers.

Counting is ``kws.metrics``' one rule: run the detector over long keyword-free audio, count each
firing (a score at or above the threshold outside the refractory second after the last one),
divide by hours. A positive clip is rejected when no score in it reaches the threshold. The
cascade is evaluated through the runtime's own ``Cascade`` (no second state machine here).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from kws import metrics
from kws.cascade import Cascade, Detector
from kws.model import TfliteModel
from kws.thresholds import Thresholds
from training.data import ClipSet
from training.fit import window_at

T = TypeVar("T")
WAKE_GRID = (0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.05, 0.02, 0.01)
# Probability thresholds: steps of 0.01, then 0.002 above 0.9, then evenly spaced in logit
# units from 0.998 (6.2) to 24, the top of the score range (the models output logits, so scores
# keep rising there; scores are float64, which tells 1 - 1e-10 from 1).
THRESHOLD_GRID = np.unique(
    np.round(
        np.concatenate(
            [
                np.arange(0.01, 0.9, 0.01),
                np.arange(0.9, 0.998, 0.002),
                1.0 / (1.0 + np.exp(-np.linspace(np.log(0.998 / 0.002), 24.0, 72))),
            ]
        ),
        12,
    )
)


def in_parallel(jobs: Sequence[Callable[[], T]]) -> list[T]:
    """Run ``jobs`` on all cores and return their results in order. Threads suffice: LiteRT's
    ``invoke`` releases the GIL, where scoring spends most of its time. Each job must own its
    models (an interpreter is not shared between threads)."""
    with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1) or 1) as pool:
        return list(pool.map(lambda job: job(), jobs))


def score_sequence(model: Detector, features: npt.NDArray[np.uint16]) -> npt.NDArray[np.float64]:
    """The model's score after every stride of ``features`` (a fresh stream)."""
    model.reset()
    stride = model.stride_frames
    ends = np.arange(stride - 1, features.shape[0], stride)
    scores = np.empty(ends.size, np.float64)
    for position, end in enumerate(ends):
        scores[position] = model.step(window_at(features, int(end), model.window_frames))
    return scores


def smooth(scores: npt.NDArray[np.float64], window: int) -> npt.NDArray[np.float64]:
    """Mean of the last ``window`` scores at each step (fewer at the start)."""
    if window <= 1 or scores.size == 0:
        return scores
    cumulative = np.cumsum(np.concatenate([[0.0], scores]))
    counts = np.minimum(np.arange(1, scores.size + 1), window)
    starts = np.arange(1, scores.size + 1) - counts
    smoothed: npt.NDArray[np.float64] = (cumulative[1:] - cumulative[starts]) / counts
    return smoothed


@dataclass
class Scores:
    """What a DET curve needs: each positive clip's best score and the stream's scores."""

    positive_max: npt.NDArray[np.float64]
    stream: npt.NDArray[np.float64]
    stream_hours: float
    stride_frames: int
    negative_max: npt.NDArray[np.float64] | None = None  # keyword-free clips (confusables ...)

    def negatives_accepted(self, threshold: float) -> float | None:
        """Share of the keyword-free clips that reach ``threshold`` anywhere."""
        if self.negative_max is None or not self.negative_max.size:
            return None
        return float(np.mean(self.negative_max >= threshold))

    def frr(self, threshold: float) -> float:
        return metrics.false_reject_rate(self.positive_max >= threshold)

    def fa_per_hour(self, threshold: float) -> float:
        count = metrics.firings(self.stream, threshold, self.stride_frames)
        return metrics.per_hour(count, self.stream_hours * 3600)

    def det(self, grid: Sequence[float] = tuple(THRESHOLD_GRID)) -> list[dict[str, float]]:
        return [
            {"threshold": float(t), "frr": self.frr(t), "fa_per_hour": self.fa_per_hour(t)}
            for t in grid
        ]

    def threshold_for(self, fa_per_hour: float) -> float:
        """Lowest grid threshold whose false accepts per hour are at most ``fa_per_hour``."""
        for threshold in THRESHOLD_GRID:
            if self.fa_per_hour(float(threshold)) <= fa_per_hour:
                return float(threshold)
        return 1.0

    def operating_point(self, fa_per_hour: float, max_frr: float = 0.1) -> dict[str, Any]:
        """The threshold to ship: the lowest one meeting ``fa_per_hour`` among those some
        positive still reaches; when no reachable threshold meets it (int8 scores saturate at
        255/256), the highest one that keeps false rejects at most ``max_frr``."""
        reachable = [float(t) for t in THRESHOLD_GRID if self.frr(float(t)) < 1.0]
        if not reachable:
            return {"threshold": float(THRESHOLD_GRID[0]), "target_met": False}
        for threshold in reachable:
            if self.fa_per_hour(threshold) <= fa_per_hour:
                return {"threshold": threshold, "target_met": True}
        within = [t for t in reachable if self.frr(t) <= max_frr]
        return {"threshold": max(within) if within else reachable[0], "target_met": False}

    def frr_at(self, fa_per_hour: float) -> dict[str, float]:
        threshold = self.threshold_for(fa_per_hour)
        return {
            "threshold": threshold,
            "frr": self.frr(threshold),
            "fa_per_hour": self.fa_per_hour(threshold),
        }


def model_scores(
    model: Detector,
    positives: ClipSet,
    stream: npt.NDArray[np.uint16],
    stream_hours: float,
    smoothing: int = 1,
    negatives: ClipSet | None = None,
) -> Scores:
    def best(clips: ClipSet) -> npt.NDArray[np.float64]:
        return np.array(
            [
                float(smooth(score_sequence(model, clip), smoothing).max(initial=0.0))
                for clip in clips.features
            ],
            dtype=np.float64,
        )

    stream_scores = smooth(score_sequence(model, stream), smoothing)
    return Scores(
        best(positives),
        stream_scores,
        stream_hours,
        model.stride_frames,
        best(negatives) if negatives is not None else None,
    )


class Remembered:
    """A model that remembers its scores, for the same audio replayed through many cascades in
    one thread (the threshold search, the cascade's DET curve): every run after the first looks
    the scores up instead of running the model. Exact, not an approximation: a streaming model
    is stepped once per stride from each ``reset``, so its score is a function of the frames it
    has seen since (keyed by their running digest); a model without state scores the window it
    is given (keyed by that window's digest). Instances of one model may share ``memory``, each
    in a thread of its own (each with its own interpreter)."""

    def __init__(self, model: TfliteModel, memory: dict[bytes, float] | None = None) -> None:
        self.model = model
        self.stride_frames = model.stride_frames
        self.window_frames = model.window_frames
        self._streaming = model.streaming
        self._memory: dict[bytes, float] = {} if memory is None else memory
        self.reset()

    def reset(self) -> None:
        self._seen = hashlib.blake2b(digest_size=16)
        # frames whose scores were looked up since the model last ran (a streaming model's
        # state has not seen them): clips that begin alike (the same quiet lead-in) share
        # their first scores, then part, and the model must catch up before it runs again
        self._pending: list[bytes] = []
        self.model.reset()

    def step(self, frames: npt.NDArray[np.uint16]) -> float:
        data = np.ascontiguousarray(frames).tobytes()
        if self._streaming:
            self._seen.update(data)
            key = self._seen.copy().digest()
        else:
            key = hashlib.blake2b(data, digest_size=16).digest()
        score = self._memory.get(key)
        if score is not None:
            if self._streaming:
                self._pending.append(data)
            return score
        for missed in self._pending:
            self.model.step(np.frombuffer(missed, np.uint16).reshape(frames.shape))
        self._pending.clear()
        score = self.model.step(frames)
        self._memory[key] = score
        return score


def clips_fired(cascade: Cascade, clips: ClipSet) -> int:
    """How many clips make ``cascade`` detect, each from a fresh stream."""
    return int(np.sum(fired_mask(cascade, clips)))


def fired_mask(cascade: Cascade, clips: ClipSet) -> npt.NDArray[np.bool_]:
    """For each clip, whether ``cascade`` detects in it, each from a fresh stream."""
    fired = np.zeros(len(clips.features), dtype=bool)
    for index, clip in enumerate(clips.features):
        cascade.reset()
        fired[index] = bool(cascade.process_features(clip))
    return fired


def frr_by_context(fired: npt.NDArray[np.bool_], contexts: list[str] | None) -> dict[str, float]:
    """FRR of the positives with each context (what came before the keyword)."""
    if not contexts:
        return {}
    labels = np.array(contexts)
    return {
        str(context): round(1.0 - float(np.mean(fired[labels == context])), 4)
        for context in dict.fromkeys(contexts)
    }


def cascade_run(
    make_cascade: Callable[[], Cascade],
    positives: ClipSet,
    stream: npt.NDArray[np.uint16],
    stream_hours: float,
    negatives: ClipSet | None = None,
) -> dict[str, float]:
    """Recall on positive clips, false accepts per hour on the stream and (given ``negatives``)
    the share of keyword-free clips that fire, through the runtime's ``Cascade``."""
    cascade = make_cascade()
    fired = fired_mask(cascade, positives)
    hits = int(np.sum(fired))
    accepted = None
    if negatives is not None and negatives.features:
        accepted = clips_fired(cascade, negatives) / len(negatives.features)
    cascade.reset()
    false_accepts = len(cascade.process_features(stream))
    counters = cascade.counters
    return {
        "frr": 1.0 - hits / max(1, len(positives.features)),
        **{
            f"frr {context}": frr
            for context, frr in frr_by_context(fired, positives.contexts).items()
        },
        "fa_per_hour": false_accepts / max(stream_hours, 1e-9),
        **({"negative_clips_accepted": accepted} if accepted is not None else {}),
        "duty_cycle_full": counters.duty_cycle_full,
        "full_inferences_per_hour": counters.full_inferences / max(stream_hours, 1e-9),
        "wakes_per_hour": counters.wakes / max(stream_hours, 1e-9),
    }


def cascade_det(
    make_cascade: Callable[[float], Cascade],
    positives: ClipSet,
    stream: npt.NDArray[np.uint16],
    stream_hours: float,
    detect_thresholds: Sequence[float],
) -> list[dict[str, float]]:
    """The cascade's DET curve: one full ``cascade_run`` per detect threshold (the wake
    threshold fixed), since a detection puts the full model back to sleep and so changes what
    follows; no per-score shortcut is exact. Give ``make_cascade`` ``Remembered`` models and
    every run after the first costs only the cascade's own bookkeeping."""
    rows = []
    for threshold in sorted(set(detect_thresholds)):
        result = cascade_run(partial(make_cascade, threshold), positives, stream, stream_hours)
        rows.append(
            {"threshold": threshold, "frr": result["frr"], "fa_per_hour": result["fa_per_hour"]}
        )
    return rows


def _detections(
    keyword: str,
    full: Detector,
    tiny: Detector,
    thresholds: Thresholds,
    positives: ClipSet,
    full_only: bool = False,
) -> int:
    """How many ``positives`` the cascade (or, with ``full_only``, the full model alone at the
    same detect threshold) detects."""
    cascade = Cascade(keyword, full, thresholds, tiny=tiny, full_only=full_only)
    return clips_fired(cascade, positives)


def choose_wake_threshold(
    tiny: Detector,
    full: Detector,
    keyword: str,
    base: Thresholds,
    positives: ClipSet,
    keep_recall: float = 0.99,
    margin_steps: int = 1,
) -> float:
    """The wake threshold: the highest one whose cascade keeps ``keep_recall`` of the full
    model's detections on validation positives (the tiny model wakes the full one as rarely as
    it can), then ``margin_steps`` lower, since held-out voices lose a little more recall than
    the validation voices it was chosen on."""
    reference = _detections(keyword, full, tiny, base, positives, full_only=True)
    for position, wake in enumerate(WAKE_GRID):
        candidate = replace(base, wake=wake)
        if _detections(keyword, full, tiny, candidate, positives) >= keep_recall * reference:
            return WAKE_GRID[min(len(WAKE_GRID) - 1, position + margin_steps)]
    return WAKE_GRID[-1]


def lowest_detect_threshold(
    make_cascade: Callable[[float], Cascade],
    stream: npt.NDArray[np.uint16],
    stream_hours: float,
    fa_per_hour: float,
    highest: float,
    lowest: float = 0.5,
) -> float:
    """The lowest grid detect threshold in ``[lowest, highest]`` at which the cascade false
    accepts at most ``fa_per_hour`` on ``stream``; ``highest`` when none does. A binary search:
    fewer false accepts at a higher detect threshold (one cascade run per probe)."""

    def meets(threshold: float) -> bool:
        cascade = make_cascade(threshold)
        return len(cascade.process_features(stream)) / max(stream_hours, 1e-9) <= fa_per_hour

    grid = [float(t) for t in THRESHOLD_GRID if lowest <= t < highest] + [highest]
    low, high = 0, len(grid) - 1  # grid[high] is the answer when nothing lower meets
    while low < high:
        middle = (low + high) // 2
        if meets(grid[middle]):
            high = middle
        else:
            low = middle + 1
    return grid[high]


def choose_thresholds(
    tiny: Detector,
    full: Detector,
    keyword: str,
    base: Thresholds,
    positives: ClipSet,
    stream: npt.NDArray[np.uint16],
    stream_hours: float,
    fa_per_hour: float,
    keep_recall: float = 0.995,
    margin_steps: int = 1,
) -> tuple[Thresholds, list[dict[str, float]]]:
    """Wake and detect thresholds chosen together on validation audio.

    ``base.detect`` is the full model's own threshold for ``fa_per_hour``. The cascade false
    accepts less than the full model alone (it only listens while awake), so its detect
    threshold can go lower for the same rate, where the full model also confirms keywords the
    tiny model wakes for less often. So: start at the highest wake threshold that keeps
    ``keep_recall`` of the full model's detections at ``base.detect``; take the lowest detect
    threshold at which that cascade meets ``fa_per_hour`` on ``stream``; while the cascade
    keeps less than ``keep_recall`` of the full model's detections at that detect threshold,
    step the wake threshold down (more wakes, more chances to false accept: the search resumes
    from the detect threshold found so far). Then ``margin_steps`` lower, for held-out voices,
    and the detect threshold searched once more. Each step lowers the wake threshold, so this
    ends; returns the thresholds and the steps taken, each with the share of the full model's
    validation detections the cascade keeps (for the manifest)."""
    full_only_detections: dict[float, int] = {}

    def kept(wake: float, detect: float) -> float:
        thresholds = replace(base, wake=wake, detect=detect)
        if detect not in full_only_detections:
            full_only_detections[detect] = _detections(
                keyword, full, tiny, thresholds, positives, full_only=True
            )
        detected = _detections(keyword, full, tiny, thresholds, positives)
        return detected / max(1, full_only_detections[detect])

    def lowest_detect(wake: float, lowest: float) -> float:
        return lowest_detect_threshold(
            lambda detect: Cascade(
                keyword, full, replace(base, wake=wake, detect=detect), tiny=tiny
            ),
            stream,
            stream_hours,
            fa_per_hour,
            highest=base.detect,
            lowest=lowest,
        )

    position = WAKE_GRID.index(
        choose_wake_threshold(tiny, full, keyword, base, positives, keep_recall, margin_steps=0)
    )
    detect = lowest_detect(WAKE_GRID[position], lowest=0.5)
    steps = [{"wake": WAKE_GRID[position], "detect": detect}]
    while position < len(WAKE_GRID) - 1:
        share = kept(WAKE_GRID[position], detect)
        steps[-1]["kept"] = round(share, 4)
        if share >= keep_recall:
            break
        position += 1
        detect = lowest_detect(WAKE_GRID[position], lowest=detect)
        steps.append({"wake": WAKE_GRID[position], "detect": detect})
    for _ in range(margin_steps):
        if position < len(WAKE_GRID) - 1:
            position += 1
            detect = lowest_detect(WAKE_GRID[position], lowest=detect)
            steps.append({"wake": WAKE_GRID[position], "detect": detect})
    if "kept" not in steps[-1]:
        steps[-1]["kept"] = round(kept(WAKE_GRID[position], detect), 4)
    return replace(base, wake=WAKE_GRID[position], detect=detect), steps


def det_files(curves: dict[str, list[dict[str, float]]], target_fa: float) -> dict[str, bytes]:
    """DET curves as a bundle's ``det.csv`` (one row per model and threshold) and ``det.png``
    (FRR vs FA/h), made in memory."""
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(["model", "threshold", "frr", "fa_per_hour"])
    for name, rows in curves.items():
        for row in rows:
            writer.writerow(
                [name, row["threshold"], f"{row['frr']:.5f}", f"{row['fa_per_hour']:.4f}"]
            )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4.5))
    largest = 1.0
    for name, rows in curves.items():
        # the best FRR reachable at or below each false-accept rate (the DET envelope), drawn
        # as steps: between two measured thresholds nothing better is known
        points = []
        for fa in sorted({r["fa_per_hour"] for r in rows}):
            points.append((fa, 100 * min(r["frr"] for r in rows if r["fa_per_hour"] <= fa)))
        largest = max(largest, points[-1][0])
        axis.plot(
            [p[0] for p in points], [p[1] for p in points], label=name, drawstyle="steps-post"
        )
    axis.axvline(target_fa, color="gray", linestyle=":", label=f"{target_fa} FA/h")
    axis.set_xscale("symlog", linthresh=0.1)
    axis.set_xlim(0, largest * 1.2)
    axis.set_xlabel("false accepts per hour")
    axis.set_ylabel("false rejects (%)")
    axis.set_ylim(0, 100)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=110)
    plt.close(figure)
    return {"det.csv": table.getvalue().encode(), "det.png": image.getvalue()}


def summarize(scores: Scores, target_fa: float) -> dict[str, Any]:
    at = scores.frr_at(target_fa)
    summary: dict[str, Any] = {
        "frr_at_target": round(at["frr"], 4),
        "threshold": at["threshold"],
        "fa_per_hour": round(at["fa_per_hour"], 3),
    }
    accepted = scores.negatives_accepted(at["threshold"])
    if accepted is not None:
        summary["negative_clips_accepted"] = round(accepted, 4)
    return summary
