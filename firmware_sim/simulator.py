"""Replay audio through the real ``Cascade`` as firmware would run it, hop by hop.

Firmware model (one core, two priorities):
- every 10 ms the audio interrupt delivers a hop; at high priority the MCU runs the frontend and,
  on its stride, the tiny model. That work must finish within the hop (deadline 10 ms).
- full-model inferences run at low priority in the time left over, first come first served;
  each must finish before the next full inference is released (deadline: its stride, 30 ms).
- otherwise the MCU sleeps.
Each hop is charged the cycles of the work the cascade actually did in it (its counters move),
priced by the power profile. Response time is measured from the end of the hop whose frame
completed a full-model window to the end of that inference; every full inference counts (any of
them may be the one that confirms), and those that did confirm are also reported alone.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from firmware_sim.energy import EnergyReport, ModelCost, Workload, energy
from firmware_sim.profile import Profile
from kws.cascade import Cascade
from kws.frontend import Frontend
from kws.frontend.config import HOP_S
from kws.manifest import ModelSpec
from kws.noise_floor import NoiseFloor
from kws.tflite_ops import read_graph

RUNTIME_FLASH_BYTES = 65536  # estimate: TFLM interpreter + kernels + frontend tables, -Os build
FRONTEND_STATE_BYTES = 4096  # estimate: 512-point FFT scratch + 40-channel NR/PCAN state
RESPONSE_DECIMALS = 4  # response times are counted to 0.1 us (reported to 1 us)
MAX_SERIES_POINTS = 2048  # the current series keeps 2048-4095 steps (1 s each, up to 68 min)


def model_cost(cascade_model: Any, spec: ModelSpec | None) -> ModelCost:
    """MACs from the bundle's model spec (none recorded, or no bundle: 0); operators counted in
    the model's own flatbuffer (its main subgraph, ``kws.tflite_ops``): what TFLM would run,
    without the host's delegate nodes. A stand-in model with no flatbuffer (a test's) has no
    operators to charge."""
    content = getattr(cascade_model, "model_content", None)
    layers = len(read_graph(content).operators) if content is not None else 0
    macs = spec.macs_per_inference if spec is not None else None
    return ModelCost(macs=macs or 0, layers=layers)


def _spec(cascade: Cascade, role: str) -> ModelSpec | None:
    """The bundle's spec of the model ``role``; None for a cascade without a bundle."""
    return cascade.bundle.models.get(role) if cascade.bundle is not None else None


@dataclass
class SimResult:
    profile: Profile
    duration_s: float
    report: EnergyReport
    max_hop_latency_ms: float  # the longest high-priority work of any hop
    current_ma_series: npt.NDArray[np.float32]  # mean current per step of the run
    current_series_step_s: float
    # how many full-model inferences had each response time (ms, to RESPONSE_DECIMALS)
    response_ms_counts: Counter[float] = field(default_factory=Counter)
    detection_response_ms: list[float] = field(default_factory=list)
    missed_deadlines: int = 0
    detections: list[float] = field(default_factory=list)
    counters: dict[str, float] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)

    def response_percentile_ms(self, q: float) -> float | None:
        """The ``q``-th percentile of the response times (ms), interpolated linearly between
        ranks as ``numpy.percentile`` does; None when no full inference ran."""
        if not self.response_ms_counts:
            return None
        values = sorted(self.response_ms_counts)
        last_rank = np.cumsum([self.response_ms_counts[v] for v in values]) - 1

        def at_rank(rank: int) -> float:
            return values[int(np.searchsorted(last_rank, rank))]

        position = q / 100 * int(last_rank[-1])
        low, high = at_rank(math.floor(position)), at_rank(math.ceil(position))
        return low + (high - low) * (position - math.floor(position))


class _MeanSeries:
    """The mean of a per-hop value over steps of ``step_hops`` hops. When the series reaches
    ``2 * MAX_SERIES_POINTS`` steps, neighbours merge and the step doubles: constant memory for
    any run, at least ``MAX_SERIES_POINTS`` points to plot. A last, partial step is left out."""

    def __init__(self, step_hops: int) -> None:
        self.step_hops = step_hops
        self.means: list[float] = []
        self._sum = 0.0
        self._count = 0

    def add(self, value: float) -> None:
        self._sum += value
        self._count += 1
        if self._count == self.step_hops:
            self.means.append(self._sum / self._count)
            self._sum, self._count = 0.0, 0
            if len(self.means) == 2 * MAX_SERIES_POINTS:
                pairs = zip(self.means[::2], self.means[1::2], strict=True)
                self.means = [(first + second) / 2 for first, second in pairs]
                self.step_hops *= 2


def memory_check(cascade: Cascade, profile: Profile) -> dict[str, Any]:
    """Flash (models + runtime) and RAM (arenas, frontend state, ring buffer, audio buffers)."""
    specs = cascade.bundle.models.values() if cascade.bundle is not None else ()
    model_bytes = sum(spec.bytes or 0 for spec in specs)
    arenas = sum(spec.arena_bytes or 0 for spec in specs)
    ring_bytes = cascade.buffer_frames * 40 * 2  # uint16 frames
    audio_bytes = 2 * 480 * 2  # double-buffered 30 ms of int16 audio
    flash = model_bytes + RUNTIME_FLASH_BYTES
    ram = arenas + FRONTEND_STATE_BYTES + ring_bytes + audio_bytes
    return {
        "flash_bytes": flash,
        "ram_bytes": ram,
        "fits": flash <= profile.memory.flash_bytes and ram <= profile.memory.ram_bytes,
        "detail": {
            "models_bytes": model_bytes,
            "runtime_flash_bytes": RUNTIME_FLASH_BYTES,
            "arena_bytes": arenas,
            "frontend_state_bytes": FRONTEND_STATE_BYTES,
            "ring_buffer_bytes": ring_bytes,
            "audio_buffer_bytes": audio_bytes,
        },
    }


class Simulation:
    """One simulated run, fed feature chunks as they come (``feed``), read at the end
    (``result``). It keeps counters, the pending full inferences and a bounded current series,
    never the frames or per-hop lists: memory stays constant however long the run."""

    def __init__(self, cascade: Cascade, profile: Profile) -> None:
        self.cascade = cascade
        self.profile = profile
        self.tiny_cost = (
            model_cost(cascade.tiny, _spec(cascade, "tiny")) if cascade.tiny else ModelCost(0, 0)
        )
        self.full_cost = model_cost(cascade.full, _spec(cascade, "full"))
        mcu = profile.mcu
        self._clock_hz = mcu.clock_mhz * 1e6
        self._hop_cycles_budget = self._clock_hz * HOP_S
        self._tiny_cycles = self.tiny_cost.cycles(profile)
        self._full_cycles = self.full_cost.cycles(profile)
        self._full_deadline_s = cascade.full.stride_frames * HOP_S
        self._wake_cycles = mcu.wakeup_us * 1e-6 * self._clock_hz
        self._mic_ma = profile.microphone.current_ma + profile.microphone.interface_current_ma
        # the device's own frontend, and the bundle's noise floor under what it frames, from the
        # stream's start as ``Cascade.process`` adds it (``process_features`` adds none)
        self._frontend = Frontend()
        floor = cascade.noise_floor
        self._floor = None if floor is None else NoiseFloor(floor.dbfs)
        cascade.reset()
        self.hops = 0
        self.max_high_cycles = 0.0
        self.currents = _MeanSeries(step_hops=int(round(1.0 / HOP_S)))
        self.responses: Counter[float] = Counter()
        self.detection_responses: list[float] = []
        self.detections: list[float] = []
        self.missed = 0
        # pending full inferences: [release hop, remaining cycles, is a detection]
        self._queue: deque[list[float]] = deque()

    def frames(self, pcm: npt.NDArray[np.int16]) -> npt.NDArray[np.uint16]:
        """Feature frames of int16 PCM as the device makes them: the bundle's noise floor
        added (the firmware adds it from the table ``kws export`` writes; the bundle was trained
        and its thresholds chosen through it), then the streaming frontend, both continuing
        from the last call."""
        return self._frontend.process(pcm if self._floor is None else self._floor.add(pcm))

    def feed_pcm(self, pcm: npt.NDArray[np.int16]) -> None:
        """``feed`` the device's own ``frames`` of int16 16 kHz PCM."""
        self.feed(self.frames(pcm))

    def feed(self, frames: npt.NDArray[np.uint16]) -> None:
        """Run the cascade hop by hop over feature frames ``[n, 40]``, accounting time,
        deadlines and charge."""
        for frame in frames:
            self._hop(frame[None, :], woke=True, mic_ma=self._mic_ma, extra_cycles=0.0)

    def _hop(
        self, frames: npt.NDArray[np.uint16], woke: bool, mic_ma: float, extra_cycles: float
    ) -> None:
        """One 10 ms hop of device time: the cascade runs over ``frames`` (none while a stage-0
        gate keeps it asleep; the frontend cost is charged per frame), the MCU woke from sleep
        for it or not, the microphone drew ``mic_ma`` on average and the high-priority work had
        ``extra_cycles`` more (a gate's level check). Full inferences run in the time left."""
        cascade, mcu, queue = self.cascade, self.profile.mcu, self._queue
        counters = cascade.counters
        budget, clock_hz = self._hop_cycles_budget, self._clock_hz
        tiny_before, full_before = counters.tiny_inferences, counters.full_inferences
        found = cascade.process_features(frames) if frames.shape[0] else []
        high = frames.shape[0] * mcu.frontend_cycles_per_hop + extra_cycles
        high += self._wake_cycles if woke else 0.0
        high += (counters.tiny_inferences - tiny_before) * self._tiny_cycles
        if high > budget:
            self.missed += 1
        for _ in range(counters.full_inferences - full_before):
            queue.append([self.hops, self._full_cycles, 1.0 if found else 0.0])
        if found:
            # the cascade counts only the hops it ran: stream time adds those a gate skipped
            skipped_s = (self.hops + 1 - counters.hops) * HOP_S
            self.detections.extend(d.time_s + skipped_s for d in found)
        free = max(0.0, budget - high)
        used_background = 0.0
        while queue and free > 0:
            job = queue[0]
            run = min(free, job[1])
            job[1] -= run
            free -= run
            used_background += run
            if job[1] <= 0:
                # hops since release, not absolute times: exact however long the run
                response_s = (self.hops - job[0]) * HOP_S + (high + used_background) / clock_hz
                if response_s > self._full_deadline_s + 1e-12:
                    self.missed += 1
                # any full inference may be the one that confirms: all of them count
                response_ms = response_s * 1000.0
                self.responses[round(response_ms, RESPONSE_DECIMALS)] += 1
                if job[2]:
                    self.detection_responses.append(response_ms)
                queue.popleft()
        active_fraction = min(budget, high + used_background) / budget
        self.max_high_cycles = max(self.max_high_cycles, high)
        self.currents.add(
            mic_ma
            + mcu.run_current_ma * active_fraction
            + mcu.sleep_current_ma * (1 - active_fraction)
        )
        self.hops += 1

    def _workload(self) -> Workload:
        """The work counted so far, for the energy model."""
        counters = self.cascade.counters
        return Workload(
            max(self.hops * HOP_S, HOP_S),
            counters.hops,
            counters.tiny_inferences,
            counters.full_inferences,
            self.tiny_cost,
            self.full_cost,
        )

    def result(self) -> SimResult:
        """The run so far: energy, response times, deadlines, detections, memory fit."""
        counters = self.cascade.counters
        workload = self._workload()
        duration_s = workload.duration_s
        return SimResult(
            profile=self.profile,
            duration_s=duration_s,
            report=energy(self.profile, workload),
            max_hop_latency_ms=self.max_high_cycles / self._clock_hz * 1000.0,
            current_ma_series=np.array(self.currents.means, np.float32),
            current_series_step_s=self.currents.step_hops * HOP_S,
            response_ms_counts=Counter(self.responses),
            detection_response_ms=list(self.detection_responses),
            # inferences still unfinished at the end never met their deadline
            missed_deadlines=self.missed + len(self._queue),
            detections=list(self.detections),
            counters=counters.as_dict(),
            memory=memory_check(self.cascade, self.profile),
        )


def simulate(
    cascade: Cascade, frames_chunks: Iterable[npt.NDArray[np.uint16]], profile: Profile
) -> SimResult:
    """Run the cascade hop by hop over feature frames and account time, deadlines and charge
    (a ``Simulation`` fed every chunk)."""
    simulation = Simulation(cascade, profile)
    for chunk in frames_chunks:
        simulation.feed(chunk)
    return simulation.result()


def full_always_on(cascade: Cascade, profile: Profile, duration_s: float) -> EnergyReport:
    """The baseline: the full model every stride, no tiny model."""
    full_cost = model_cost(cascade.full, _spec(cascade, "full"))
    hops = int(round(duration_s / HOP_S))
    workload = Workload(
        duration_s, hops, 0, hops // cascade.full.stride_frames, ModelCost(0, 0), full_cost
    )
    return energy(profile, workload)
