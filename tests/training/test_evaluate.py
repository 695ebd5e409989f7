"""Evaluation arithmetic (the counting rule itself: tests/runtime/test_metrics.py): the
operating point chosen on validation, keyword-free clips accepted, the wake threshold's margin,
the cascade's DET curve, the joint choice of wake and detect thresholds (fake models) and
remembered scores (the shipped models)."""

from __future__ import annotations

import numpy as np
import pytest

from kws.thresholds import Thresholds
from training.data import ClipSet
from training.evaluate import (
    WAKE_GRID,
    Scores,
    cascade_det,
    choose_thresholds,
    choose_wake_threshold,
    frr_by_context,
    lowest_detect_threshold,
)


def _scores(positive_max: list[float], stream_peaks: list[float], hours: float = 1.0) -> Scores:
    stream = np.zeros(10_000, np.float32)
    stream[np.arange(len(stream_peaks)) * 100] = stream_peaks
    return Scores(np.array(positive_max, np.float32), stream, hours, 3)


def test_operating_point_is_the_lowest_threshold_meeting_the_target() -> None:
    scores = _scores([0.6, 0.8, 0.99], [0.95])
    assert scores.fa_per_hour(0.9) == 1.0 and scores.fa_per_hour(0.96) == 0.0
    point = scores.operating_point(0.5)
    assert point["target_met"] and 0.95 < point["threshold"] <= 0.952


def test_operating_point_falls_back_when_the_target_is_out_of_reach() -> None:
    # a false accept above every positive: no reachable threshold meets 0.5 per hour
    scores = _scores([0.99] * 20, [0.9999])
    point = scores.operating_point(0.5)
    assert not point["target_met"] and point["threshold"] == pytest.approx(0.99)


def test_threshold_grid_reaches_far_into_the_tail() -> None:
    # logit outputs keep rising above 0.996: thresholds must exist there
    scores = _scores([0.99999] * 10, [0.9999])
    point = scores.operating_point(0.5)
    assert point["target_met"] and 0.9999 < point["threshold"] < 0.99999


def test_negative_clips_accepted() -> None:
    scores = _scores([0.9], [], hours=1.0)
    assert scores.negatives_accepted(0.5) is None
    scores.negative_max = np.array([0.1, 0.6, 0.7, 0.2], np.float32)
    assert scores.negatives_accepted(0.5) == 0.5


class _ConstantTiny:
    """Scores each frame's first channel / 1000 (so a clip's features say what tiny scores)."""

    stride_frames = window_frames = 3

    def step(self, frames: np.ndarray) -> float:
        return float(frames[-1, 0]) / 1000.0

    def reset(self) -> None:
        pass


class _AlwaysFull:
    stride_frames, window_frames = 3, 150

    def step(self, frames: np.ndarray) -> float:
        return 0.99

    def reset(self) -> None:
        pass


def test_wake_threshold_keeps_99_percent_then_steps_down_a_margin() -> None:
    # 99 clips the tiny model scores 0.85, one it scores 0.1; the full model finds them all
    levels = [850] * 99 + [100]
    clips = ClipSet(
        features=[np.full((198, 40), level, np.uint16) for level in levels],
        keyword_end_frames=np.full(len(levels), 150, np.int32),
        voices=["v"] * len(levels),
    )
    base = Thresholds(
        wake=0.5, detect=0.9, smoothing_frames=2, wake_window_s=0.6, preroll_s=1.5, refractory_s=1
    )
    tiny, full = _ConstantTiny(), _AlwaysFull()
    exact = choose_wake_threshold(tiny, full, "kw", base, clips, margin_steps=0)
    assert exact == 0.8  # the highest grid value 0.85 still reaches
    with_margin = choose_wake_threshold(tiny, full, "kw", base, clips)
    assert with_margin == WAKE_GRID[WAKE_GRID.index(0.8) + 1]
    # asking for every clip needs a wake threshold at or below 0.1
    assert choose_wake_threshold(tiny, full, "kw", base, clips, keep_recall=1.0) <= 0.1


class _ChannelFull:
    """Scores the newest frame's second channel / 1000."""

    stride_frames, window_frames = 3, 150

    def step(self, frames: np.ndarray) -> float:
        return float(frames[-1, 1]) / 1000.0

    def reset(self) -> None:
        pass


def test_cascade_det_runs_the_cascade_once_per_detect_threshold() -> None:
    from dataclasses import replace

    from kws.cascade import Cascade

    def clip(full_level: int) -> np.ndarray:
        features = np.zeros((198, 40), np.uint16)
        features[100:160, 0] = 900  # the tiny model wakes
        features[100:160, 1] = full_level
        return features

    levels = [500] * 5 + [950] * 5
    positives = ClipSet([clip(level) for level in levels], np.full(10, 150, np.int32), ["v"] * 10)
    stream = np.concatenate([np.zeros((3000, 40), np.uint16), clip(970), clip(920)])
    base = Thresholds(
        wake=0.5, detect=0.9, smoothing_frames=1, wake_window_s=0.6, preroll_s=1.5, refractory_s=1
    )
    rows = cascade_det(
        lambda detect: Cascade("kw", _ChannelFull(), replace(base, detect=detect), _ConstantTiny()),
        positives,
        stream,
        0.5,
        [0.99, 0.4, 0.93, 0.4],
    )
    assert [row["threshold"] for row in rows] == [0.4, 0.93, 0.99]
    assert [row["frr"] for row in rows] == [0.0, 0.5, 1.0]
    assert [row["fa_per_hour"] for row in rows] == [4.0, 2.0, 0.0]  # 2 bursts, then 1, in 0.5 h


def _burst(tiny_level: int, full_level: int) -> np.ndarray:
    """A 198-frame clip: silence, then 60 frames the fakes score tiny/1000 and full/1000."""
    features = np.zeros((198, 40), np.uint16)
    features[100:160, 0] = tiny_level
    features[100:160, 1] = full_level
    return features


def test_lowest_detect_threshold_is_found_by_bisection_with_few_cascade_runs() -> None:
    from dataclasses import replace

    from kws.cascade import Cascade

    # bursts the full model scores 0.95, 0.97 and 0.99 in one hour: at most one false accept
    # per hour means a detect threshold just above 0.97
    stream = np.concatenate(
        [np.zeros((3000, 40), np.uint16)] + [_burst(900, level) for level in (950, 970, 990)]
    )
    base = Thresholds(
        wake=0.5, detect=0.999, smoothing_frames=1, wake_window_s=0.6, preroll_s=1.5, refractory_s=1
    )
    runs = []

    def make(detect: float) -> Cascade:
        runs.append(detect)
        return Cascade("kw", _ChannelFull(), replace(base, detect=detect), _ConstantTiny())

    found = lowest_detect_threshold(make, stream, 1.0, 1.0, highest=0.999)
    assert 0.97 < found <= 0.972
    assert len(runs) <= 8  # about a hundred grid thresholds between 0.5 and 0.999
    # when nothing meets the target the highest threshold comes back
    assert lowest_detect_threshold(make, stream, 1.0, 0.0, highest=0.98) == 0.98


def test_joint_choice_lowers_the_detect_threshold_the_cascade_does_not_need() -> None:
    # the full model alone would need 0.999 (it scores 0.95 on everything the tiny model
    # sleeps through); the cascade never wakes there, so 0.5 FA/h allows a much lower threshold
    stream = np.concatenate(
        [np.zeros((3000, 40), np.uint16)]
        + [_burst(100, 950)] * 3  # the tiny model sleeps: false accepts of the full model alone
        + [_burst(900, 700)]  # the tiny model wakes, the full model scores 0.7
    )
    positives = ClipSet(
        [_burst(900, 900) for _ in range(20)], np.full(20, 150, np.int32), ["v"] * 20
    )
    base = Thresholds(
        wake=0.5, detect=0.999, smoothing_frames=1, wake_window_s=0.6, preroll_s=1.5, refractory_s=1
    )
    chosen, steps = choose_thresholds(
        _ConstantTiny(), _ChannelFull(), "kw", base, positives, stream, 1.0, 0.5
    )
    assert 0.7 < chosen.detect <= 0.72  # above the one burst the cascade hears
    assert chosen.wake == WAKE_GRID[WAKE_GRID.index(0.9) + 1]  # tiny scores 0.9 on positives
    # at 0.999 the full model confirms no positive, so the highest wake threshold "keeps" them
    # all; there the cascade never wakes and 0.5 would do, but it keeps none of the full
    # model's detections at 0.5: one step down it wakes for them, then the margin step
    assert steps == [
        {"wake": 0.95, "detect": 0.5, "kept": 0.0},
        {"wake": 0.9, "detect": chosen.detect, "kept": 1.0},
        {"wake": 0.8, "detect": chosen.detect, "kept": 1.0},
    ]


def test_remembered_models_score_replays_exactly_and_run_once() -> None:
    """Replaying clips through Remembered models gives the real models' scores, with the tiny
    model's state caught up where two clips begin alike and then part."""
    import json

    from kws.defaults import default_bundle_dir
    from kws.frontend import FEATURE_SCALE
    from kws.manifest import ModelSpec
    from kws.model import TfliteModel
    from training.evaluate import Remembered, score_sequence

    bundle = default_bundle_dir()
    manifest = json.loads((bundle / "manifest.json").read_text())

    def model(role: str) -> TfliteModel:
        content = (bundle / f"{role}.tflite").read_bytes()
        spec = ModelSpec.from_dict(role, manifest["models"][role])
        return TfliteModel(content, spec, FEATURE_SCALE, True)

    rng = np.random.default_rng(0)
    shared = rng.integers(0, 700, (90, 40)).astype(np.uint16)
    clips = [
        np.concatenate([shared, rng.integers(0, 700, (60, 40)).astype(np.uint16)]) for _ in range(2)
    ] + [rng.integers(0, 700, (200, 40)).astype(np.uint16)]
    for role in ("tiny", "full"):
        real = model(role)
        expected = [score_sequence(real, clip) for clip in clips]
        remembered = Remembered(model(role))
        calls = 0
        inner_step = remembered.model.step

        def counted(frames: np.ndarray, inner=inner_step) -> float:  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            return float(inner(frames))

        remembered.model.step = counted  # type: ignore[method-assign]
        after_first_pass = 0
        for _ in range(2):
            for clip, scores in zip(clips, expected, strict=True):
                np.testing.assert_array_equal(score_sequence(remembered, clip), scores)  # type: ignore[arg-type]
            after_first_pass = after_first_pass or calls
            assert calls == after_first_pass  # a replay runs nothing
        steps = sum(len(s) for s in expected)
        if role == "tiny":  # the second clip's shared start is looked up, then caught up
            assert calls == steps
        else:  # a window seen before (the second clip's shared start) is not run again
            assert calls <= steps - (90 // real.stride_frames) // 2


def test_frr_is_reported_for_each_context_of_the_positives() -> None:
    fired = np.array([True, False, True, True, False, False])
    contexts = ["alone", "alone", "after a pause", "after a pause", "after a pause", "run on"]
    assert frr_by_context(fired, contexts) == {
        "alone": 0.5,
        "after a pause": 0.3333,
        "run on": 1.0,
    }
    assert frr_by_context(fired, None) == {}
