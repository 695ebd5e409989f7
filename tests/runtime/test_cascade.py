"""The cascade's state machine, driven by fake models whose scores the test scripts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kws.cascade import Cascade
from kws.errors import ThresholdError
from kws.loading import load_cascade
from kws.thresholds import Thresholds


class ScriptedModel:
    """Returns scores from a function of the stream position (in frames)."""

    def __init__(self, stride_frames: int, window_frames: int, score_at) -> None:  # type: ignore[no-untyped-def]
        self.stride_frames = stride_frames
        self.window_frames = window_frames
        self.score_at = score_at
        self.position = 0
        self.calls: list[int] = []
        self.seen_frames: list[np.ndarray] = []

    def step(self, frames: np.ndarray) -> float:
        assert frames.shape == (self.window_frames, 40)
        self.seen_frames.append(frames.copy())
        self.calls.append(self._frame_index())
        return float(self.score_at(self.calls[-1]))

    def _frame_index(self) -> int:
        return self.cascade.counters.hops  # type: ignore[attr-defined,no-any-return]

    def reset(self) -> None:
        self.calls.clear()


THRESHOLDS = Thresholds(
    wake=0.5, detect=0.8, smoothing_frames=1, wake_window_s=0.3, preroll_s=1.0, refractory_s=1.0
)


def make(tiny_score, full_score, thresholds: Thresholds = THRESHOLDS, full_only: bool = False):  # type: ignore[no-untyped-def]
    tiny = ScriptedModel(3, 3, tiny_score)
    full = ScriptedModel(3, 100, full_score)
    cascade = Cascade("word", full, thresholds, tiny=tiny, full_only=full_only)
    tiny.cascade = full.cascade = cascade  # type: ignore[attr-defined]
    return cascade, tiny, full


def frames(count: int) -> np.ndarray:
    # each frame carries its own index so tests can see what the models were given
    return (np.arange(count, dtype=np.uint16)[:, None] * np.ones(40, np.uint16)).astype(np.uint16)


def test_wake_then_confirm_gives_one_detection_with_preroll() -> None:
    cascade, tiny, full = make(
        lambda hop: 0.9 if 150 <= hop < 160 else 0.0, lambda hop: 0.95 if hop >= 153 else 0.1
    )
    detections = cascade.process_features(frames(400))
    assert len(detections) == 1
    assert detections[0].stage == "full"
    assert detections[0].time_s == pytest.approx(153 * 0.01 + 0.02)
    # the first full inference ran at once on the pre-roll: the 100 frames before the wake
    assert full.calls[0] == 150
    assert full.seen_frames[0][-1, 0] == 149 and full.seen_frames[0][0, 0] == 50
    counters = cascade.counters
    assert counters.wakes == 1 and counters.detections == 1
    assert counters.tiny_inferences == 400 // 3
    assert counters.full_inferences == 2


def test_wake_then_expire_goes_back_to_sleep() -> None:
    cascade, tiny, full = make(lambda hop: 0.9 if hop == 150 else 0.0, lambda hop: 0.1)
    assert cascade.process_features(frames(400)) == []
    # awake for the wake window (0.3 s = 30 hops), full every stride while awake
    assert cascade.counters.awake_hops == 30
    assert cascade.counters.full_inferences == 10
    assert not cascade.awake


def test_refractory_suppresses_second_detection() -> None:
    cascade, _, _ = make(lambda hop: 0.9, lambda hop: 0.95)
    detections = cascade.process_features(frames(250))
    times = [d.time_s for d in detections]
    assert len(times) == 3  # at ~0.03 s, then only after each 1 s refractory period
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False))


def test_smoothing_averages_tiny_scores() -> None:
    thresholds = Thresholds(**{**THRESHOLDS.__dict__, "smoothing_frames": 3})
    # a single high tiny score averaged with two zeros stays under the wake threshold
    cascade, _, _ = make(lambda hop: 0.9 if hop == 150 else 0.0, lambda hop: 0.95, thresholds)
    assert cascade.process_features(frames(300)) == []
    assert cascade.counters.wakes == 0


def test_full_only_runs_full_every_stride_and_no_tiny() -> None:
    cascade, tiny, full = make(lambda hop: 0.0, lambda hop: 0.1, full_only=True)
    cascade.process_features(frames(300))
    assert cascade.counters.full_inferences == 100
    assert cascade.counters.tiny_inferences == 0
    assert cascade.counters.duty_cycle_full == 1.0


def test_chunking_does_not_change_detections() -> None:
    def run(chunks: list[int]) -> list[float]:
        cascade, _, _ = make(lambda hop: 0.9 if hop % 200 == 120 else 0.0, lambda hop: 0.9)
        stream = frames(900)
        out, start = [], 0
        for size in chunks:
            out += [d.time_s for d in cascade.process_features(stream[start : start + size])]
            start += size
        return out

    assert run([900]) == run([1] * 900) == run([7, 300, 593])


def test_reset_clears_counters_and_state() -> None:
    cascade, _, _ = make(lambda hop: 0.9, lambda hop: 0.95)
    cascade.process_features(frames(100))
    cascade.reset()
    assert cascade.counters.hops == 0 and cascade.counters.detections == 0


class FrameScoredModel(ScriptedModel):
    """Scores the window by the index of its last frame (frames carry their own index)."""

    def step(self, frames: np.ndarray) -> float:
        assert frames.shape == (self.window_frames, 40)
        self.seen_frames.append(frames.copy())
        return float(self.score_at(int(frames[-1, 0])))


def make_smoothed(full_score, detect_smoothing: int, full_only: bool = False):  # type: ignore[no-untyped-def]
    thresholds = Thresholds(**{**THRESHOLDS.__dict__, "detect_smoothing": detect_smoothing})
    tiny = ScriptedModel(3, 3, lambda hop: 0.9 if 150 <= hop < 153 else 0.0)
    full = FrameScoredModel(3, 100, full_score)
    cascade = Cascade("word", full, thresholds, tiny=tiny, full_only=full_only)
    tiny.cascade = full.cascade = cascade  # type: ignore[attr-defined]
    return cascade, full


def test_woken_full_model_averages_the_scores_since_waking() -> None:
    # woken at hop 150: the first decision rests on one score, later ones on the last three
    cascade, full = make_smoothed(lambda last: 0.95 if last in (149, 152) else 0.1, 3)
    detections = cascade.process_features(frames(400))
    assert len(detections) == 1 and detections[0].score == pytest.approx(0.95)
    assert detections[0].time_s == pytest.approx(150 * 0.01 + 0.02)
    assert cascade.counters.full_inferences == 1  # no extra work on waking


def test_detect_smoothing_rejects_a_one_stride_spike() -> None:
    def spike(last: int) -> float:
        return 0.95 if last == 149 else 0.1

    smoothed, _ = make_smoothed(spike, 3, full_only=True)
    assert smoothed.process_features(frames(400)) == []
    single, _ = make_smoothed(spike, 1, full_only=True)
    assert len(single.process_features(frames(400))) == 1
    # awake for a while before the spike: the cascade's mean holds three scores too
    late, _ = make_smoothed(lambda last: 0.95 if last == 155 else 0.1, 3)
    assert late.process_features(frames(400)) == []


def test_cascade_and_full_only_agree_once_three_scores_are_in() -> None:
    def score(last: int) -> float:
        return 0.85 if 152 <= last <= 161 else 0.1

    cascade, _ = make_smoothed(score, 3)
    baseline, _ = make_smoothed(score, 3, full_only=True)
    woken = [d.time_s for d in cascade.process_features(frames(400))]
    always = [d.time_s for d in baseline.process_features(frames(400))]
    assert woken == always and len(woken) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("wake", 5.0),
        ("wake", float("nan")),
        ("detect", -0.1),
        ("detect", float("inf")),
        ("detect", "high"),
        ("detect", None),
        ("smoothing_frames", 0),
        ("smoothing_frames", 2.5),
        ("detect_smoothing", True),
        ("detect_smoothing", 101),
        ("wake_window_s", -1.0),
        ("preroll_s", 3600.0),
        ("refractory_s", float("nan")),
    ],
)
def test_thresholds_out_of_range_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ThresholdError, match=f"^{field} must be"):
        Thresholds(**{**THRESHOLDS.__dict__, field: value})


def test_thresholds_at_the_ends_of_their_ranges_are_accepted() -> None:
    Thresholds(
        wake=0, detect=1, smoothing_frames=100, wake_window_s=0, preroll_s=60, refractory_s=0
    )
    Thresholds(
        **{**THRESHOLDS.__dict__, "detect": np.float32(0.9), "detect_smoothing": np.int64(3)}
    )


def test_load_cascade_refuses_bad_overrides(random_bundle: Path) -> None:
    for overrides, message in (
        ({"detect": "high"}, "detect must be a number"),
        ({"wake": 5}, "wake must be a probability"),
        ({"refractory_s": 3600}, "refractory_s must be 0-60 seconds"),
        ({"detec": 0.9}, "no threshold named detec"),
    ):
        with pytest.raises(ThresholdError, match=message):
            load_cascade(random_bundle, **overrides)
    assert load_cascade(random_bundle, detect=None, wake=0.25).thresholds.wake == 0.25


def test_a_wake_window_under_one_hop_is_refused_for_a_cascade_only() -> None:
    no_window = Thresholds(**{**THRESHOLDS.__dict__, "wake_window_s": 0.0})
    with pytest.raises(ThresholdError, match="wake_window_s must be at least 0.01 s"):
        make(lambda hop: 0.9, lambda hop: 0.95, no_window)
    make(lambda hop: 0.9, lambda hop: 0.95, no_window, full_only=True)  # never woken: fine


def test_counters_taken_before_a_reset_keep_their_counts() -> None:
    cascade, _, _ = make(lambda hop: 0.0, lambda hop: 0.0)
    cascade.process_features(frames(30))
    before = cascade.counters
    assert (before.hops, before.tiny_inferences, before.full_inferences) == (30, 10, 0)
    cascade.reset()
    cascade.process_features(frames(6))
    assert (before.hops, before.tiny_inferences) == (30, 10)  # the last stream's, kept
    assert (cascade.counters.hops, cascade.counters.tiny_inferences) == (6, 2)
    before.hops += 1  # still its own: the cascade's do not move
    assert cascade.counters.hops == 6
