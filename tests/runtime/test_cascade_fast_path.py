"""The always-on path's shortcuts change nothing: real bundles, real audio, any chunking.

The cascade counts quiet hops at once, lets the frontend write into its ring and runs models
through views of the interpreter's buffers. The reference here is the cascade's state machine
written hop by hop, as its module docstring describes it, over LiteRT's copying calls.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware_sim.scenarios import generate, get_scenario
from kws.cascade import FRAME_END_OFFSET_S, HOP_S, Cascade
from kws.defaults import shipped_bundle_dirs
from kws.frontend import compute_features
from kws.loading import load_cascade
from kws.model import TfliteModel
from kws.mww import load_microwakeword
from kws.noise_floor import add_floor

MWW_MODELS = Path(__import__("pymicro_wakeword").__file__).parent / "models"


def reference_detections(cascade: Cascade, features: np.ndarray) -> tuple[list[tuple], dict]:
    """The state machine hop by hop (see ``kws.cascade``'s docstring)."""
    t, tiny, full = cascade.thresholds, cascade.tiny, cascade.full
    single = tiny is None or cascade.full_only
    full_smoothing = max(1, t.smoothing_frames if tiny is None else t.detect_smoothing)
    wake_hops, refractory_hops = round(t.wake_window_s / HOP_S), round(t.refractory_s / HOP_S)
    padded = np.concatenate([np.zeros((full.window_frames, 40), np.uint16), features])
    awake_until = refractory_until = since_tiny = since_full = 0
    tiny_scores: list[float] = []
    full_scores: list[float] = []
    detections, counts = [], dict.fromkeys(("tiny", "full", "wakes"), 0)
    for hop in range(1, features.shape[0] + 1):
        end = hop + full.window_frames

        def window(model):  # type: ignore[no-untyped-def]
            return padded[end - model.window_frames : end]  # noqa: B023

        if not single:
            since_tiny += 1
            if since_tiny == tiny.stride_frames:
                since_tiny = 0
                counts["tiny"] += 1
                tiny_scores = [*tiny_scores, tiny.step(window(tiny))][-t.smoothing_frames :]
                smoothed = sum(tiny_scores) / len(tiny_scores)
                if smoothed >= t.wake and hop >= awake_until and hop >= refractory_until:
                    counts["wakes"] += 1
                    awake_until = hop + wake_hops
                    since_full = full.stride_frames
                    full_scores = []
        if single or hop < awake_until:
            since_full += 1
            if since_full >= full.stride_frames:
                since_full = 0
                counts["full"] += 1
                full_scores = [*full_scores, full.step(window(full))][-full_smoothing:]
                score = sum(full_scores) / len(full_scores)
                if score >= t.detect and hop >= refractory_until:
                    refractory_until = hop + refractory_hops
                    awake_until = hop
                    full_scores = []
                    detections.append((round(hop * HOP_S + FRAME_END_OFFSET_S, 3), score))
    return detections, counts


def _without_views(cascade: Cascade) -> Cascade:
    """The same cascade over LiteRT's public copying calls (no native step)."""
    for name in ("tiny", "full"):
        model = getattr(cascade, name)
        if model is not None:
            content = model._model_content
            copying = TfliteModel(
                content, model.spec, model.feature_scale, in_place=False, native=False
            )
            setattr(cascade, name, copying)
    return cascade


@pytest.fixture(scope="module")
def office_audio() -> dict[str, np.ndarray]:
    audio = {}
    for keyword in ("hey jarvis", "alexa"):
        pcm = np.concatenate([c for c, _ in generate(get_scenario("office"), keyword, 4, 3)])
        audio[keyword] = pcm
    return audio


def _cases() -> list[tuple[str, dict]]:
    bundles = {path.name: path for path in shipped_bundle_dirs()}
    return (
        [
            ("hey_jarvis", {}),
            ("alexa", {}),
            ("hey_jarvis", {"wake": 0.3, "detect": 0.7}),
            ("alexa", {"wake": 0.2, "detect": 0.5}),  # wakes often: the awake path
            # no noise floor: the always-on kernel's other variant (kws.always_on.asleep_chunk)
            ("alexa", {"wake": 0.2, "detect": 0.5, "noise_floor_dbfs": None}),
            ("hey_jarvis", {"full_only": True, "detect": 0.5}),
            # microWakeWord's models hardly score espeak-ng voices: low cutoffs make them fire
            ("mww:okay_nabu", {"detect": 0.03}),
            ("mww:alexa", {"detect": 0.02}),
        ]
        if {"hey_jarvis", "alexa"} <= set(bundles)
        else []
    )


def _load(name: str, overrides: dict) -> Cascade:
    if name.startswith("mww:"):
        return load_microwakeword(MWW_MODELS / f"{name[4:]}.json", **overrides)
    bundle = next(path for path in shipped_bundle_dirs() if path.name == name)
    return load_cascade(bundle, **overrides)


@pytest.mark.parametrize(("name", "overrides"), _cases())
def test_detections_and_counters_match_the_hop_by_hop_reference(
    name: str, overrides: dict, office_audio: dict[str, np.ndarray]
) -> None:
    pcm = office_audio["alexa" if "alexa" in name else "hey jarvis"]
    cascade = _load(name, overrides)
    floor = cascade.noise_floor  # the bundle's: the reference hears it too
    heard = pcm if floor is None else add_floor(pcm, floor.dbfs)
    expected, counts = reference_detections(
        _without_views(_load(name, overrides)), compute_features(heard)
    )
    if overrides:  # low thresholds: detections to compare, whatever espeak-ng's voices do
        assert expected, "the case must detect something to compare"
    # kws's cascades take a chunk in one native call while the full model sleeps (kws.always_on)
    native = not name.startswith("mww:") and not cascade.full_only
    assert (cascade._asleep_chunk is not None) == native
    assert (cascade._asleep_hops is not None) == native
    cascade.reset()
    found = cascade.process_features(compute_features(heard))
    assert [(round(d.time_s, 3), d.score) for d in found] == expected
    rng = np.random.default_rng(7)
    read_only = pcm.copy()
    read_only.flags.writeable = False  # not the kernel's type: Python frames it
    for audio, sizes in (
        (pcm, [160]),
        (pcm, [480]),
        (pcm, [16000]),
        (pcm, [1, 333, 7000, 4321, 0, 160]),
        (read_only, [160, 480]),
    ):
        cascade.reset()
        found, start = [], 0
        while start < pcm.shape[0]:
            size = int(rng.choice(sizes))
            found += cascade.process(audio[start : start + size])
            start += size
            # held audio's hops are counted as it arrives: counters as if framed at once
            assert cascade.counters.hops == max(0, (min(start, pcm.shape[0]) - 480) // 160 + 1)
        assert [(round(d.time_s, 3), d.score) for d in found] == expected
        assert cascade.counters.tiny_inferences == counts["tiny"]
        assert cascade.counters.full_inferences == counts["full"]
        assert cascade.counters.wakes == counts["wakes"]


def test_in_place_steps_score_like_the_copying_calls(
    office_audio: dict[str, np.ndarray],
) -> None:
    features = compute_features(office_audio["hey jarvis"][: 16000 * 60])
    for name in ("hey_jarvis", "mww:okay_nabu"):
        fast, copying = _load(name, {}), _without_views(_load(name, {}))
        for ours, theirs in ((fast.tiny, copying.tiny), (fast.full, copying.full)):
            if ours is None:
                continue
            assert ours._views is not None, "the in-place path is the one in use"
            w, s = ours.window_frames, ours.stride_frames
            windows = [features[end - w : end] for end in range(w, features.shape[0], s)]
            assert [ours.step(x) for x in windows] == [theirs.step(x) for x in windows]
