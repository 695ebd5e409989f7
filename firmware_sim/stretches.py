"""Short simulated stretches of each scene at each device setting: the measurements a
discharge walk (``firmware_sim.discharge``) extrapolates from.

Per scene, two stretches of generated audio, each read once and fed to one simulated device per
setting: the scene as it is (its own keyword rate), for the average current; and the same scene
with a keyword every 30 s (``DENSE_KEYWORDS_PER_HOUR``, another seed), for the recall, which
the scene's own few keywords could not estimate. A keyword counts as found when a detection
follows its end within ``FOUND_WITHIN_S``, as ``kws battery`` counts it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from firmware_sim.discharge import Measured, Setting
from firmware_sim.gate import GateConfig, GatedSimulation
from firmware_sim.profile import Profile
from firmware_sim.scenarios import generate, get_scenario
from firmware_sim.simulator import Simulation
from kws.frontend.config import SAMPLE_RATE_HZ
from kws.loading import load_cascade

DENSE_KEYWORDS_PER_HOUR = 120.0  # one keyword in every 30 s chunk of the generator
FOUND_WITHIN_S = 1.5
DENSE_SEED_OFFSET = 1  # the dense stretch's audio is another seed's


def device_gate(profile: Profile) -> str:
    """The gate a device can have: its microphone's wake-on-sound, else the MCU's energy gate."""
    return "mic" if "wake_on_sound" in profile.microphone.all_states() else "energy"


def found(keyword_times: list[float], detections: list[float]) -> int:
    """Keywords followed within ``FOUND_WITHIN_S`` by a detection (both in time order)."""
    count = 0
    for spoken in keyword_times:
        index = bisect_left(detections, spoken)
        count += index < len(detections) and detections[index] - spoken <= FOUND_WITHIN_S
    return count


@dataclass(frozen=True)
class StretchFigures:
    """What one scene at one setting measured, for the report."""

    scene: str
    setting: Setting
    current_ma: float
    detections_per_hour: float  # on the scene's own stretch
    keywords_spoken: int  # on the dense stretch
    keywords_found: int

    @property
    def recall(self) -> float:
        return self.keywords_found / self.keywords_spoken if self.keywords_spoken else 0.0


def _device(model_dir: Path, profile: Profile, setting: Setting) -> Simulation:
    cascade = load_cascade(model_dir, wake=setting.wake, verifier=False)
    if setting.gate == "none":
        return Simulation(cascade, profile)
    preroll = {"preroll_ms": 0.0} if setting.gate == "mic" else {}
    return GatedSimulation(cascade, profile, GateConfig(kind=setting.gate, **preroll))


def _run(
    model_dir: Path,
    profile: Profile,
    settings: Iterable[Setting],
    audio: Iterable[tuple[Any, list[float]]],
    on_seconds: Callable[[float], None],
) -> tuple[list[Any], list[float]]:
    """Feed one pass of audio to a device per setting; their results and the keyword times."""
    devices = [_device(model_dir, profile, setting) for setting in settings]
    keyword_times: list[float] = []
    for pcm, times in audio:
        keyword_times += times
        features = None
        for device in devices:
            if isinstance(device, GatedSimulation):
                device.feed_pcm(pcm)
            else:
                if features is None:  # the devices share the bundle and so its floor: one framing
                    features = device.frames(pcm)
                device.feed(features)
        on_seconds(pcm.size / SAMPLE_RATE_HZ)
    return [device.result() for device in devices], keyword_times


def measure(
    model_dir: Path,
    keyword: str,
    profile: Profile,
    settings: tuple[Setting, ...],
    scenes: Iterable[str],
    minutes: float,
    seed: int,
    on_seconds: Callable[[float], None] = lambda seconds: None,
) -> list[StretchFigures]:
    """Every scene at every setting: current on the scene's own audio, recall on its dense
    version. ``on_seconds`` gets the seconds of audio read as they are read.

    Raises:
        KwsError: an unknown scene.
    """
    figures = []
    for scene in scenes:
        own = get_scenario(scene)
        dense = replace(own, keywords_per_hour=DENSE_KEYWORDS_PER_HOUR)
        plain_audio = generate(own, keyword, minutes, seed)
        plain, _ = _run(model_dir, profile, settings, plain_audio, on_seconds)
        dense_audio = generate(dense, keyword, minutes, seed + DENSE_SEED_OFFSET)
        dense_results, keyword_times = _run(model_dir, profile, settings, dense_audio, on_seconds)
        for setting, result, dense_result in zip(settings, plain, dense_results, strict=True):
            figures.append(
                StretchFigures(
                    scene,
                    setting,
                    result.report.avg_current_ma,
                    len(result.detections) / (result.duration_s / 3600),
                    len(keyword_times),
                    found(keyword_times, dense_result.detections),
                )
            )
    return figures


def as_measured(figures: Iterable[StretchFigures]) -> dict[tuple[str, Setting], Measured]:
    """The figures the discharge walk needs, by (scene, setting)."""
    return {(f.scene, f.setting): Measured(f.current_ma, f.recall) for f in figures}
