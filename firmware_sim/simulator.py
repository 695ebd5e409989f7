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

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from firmware_sim.energy import EnergyReport, ModelCost, Workload, energy
from firmware_sim.profile import Profile
from kws.cascade import Cascade

HOP_S = 0.01
RUNTIME_FLASH_BYTES = 65536  # estimate: TFLM interpreter + kernels + frontend tables, -Os build
FRONTEND_STATE_BYTES = 4096  # estimate: 512-point FFT scratch + 40-channel NR/PCAN state


def model_cost(cascade_model: Any, spec: dict[str, Any]) -> ModelCost:
    """MACs from the manifest; operators counted in the model itself."""
    interpreter = getattr(cascade_model, "interpreter", None)
    layers = len(interpreter._get_ops_details()) if interpreter is not None else 8
    return ModelCost(macs=int(spec.get("macs_per_inference", 0)), layers=layers)


@dataclass
class SimResult:
    profile: Profile
    duration_s: float
    report: EnergyReport
    hop_latency_ms: npt.NDArray[np.float32]  # high-priority work per hop
    hop_current_ma: npt.NDArray[np.float32]
    hop_awake: npt.NDArray[np.bool_]
    response_ms: list[float] = field(default_factory=list)  # every full-model inference
    detection_response_ms: list[float] = field(default_factory=list)
    missed_deadlines: int = 0
    detections: list[float] = field(default_factory=list)
    counters: dict[str, float] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)


def memory_check(cascade: Cascade, profile: Profile) -> dict[str, Any]:
    """Flash (models + runtime) and RAM (arenas, frontend state, ring buffer, audio buffers)."""
    manifest = getattr(cascade, "manifest", {})
    models = manifest.get("models", {})
    model_bytes = sum(int(m.get("bytes", 0)) for m in models.values())
    arenas = sum(int(m.get("arena_bytes", 0)) for m in models.values())
    ring_bytes = cascade._buffer_frames * 40 * 2  # uint16 frames
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


def simulate(
    cascade: Cascade, frames_chunks: Iterable[npt.NDArray[np.uint16]], profile: Profile
) -> SimResult:
    """Run the cascade hop by hop over feature frames and account time, deadlines and charge."""
    manifest = getattr(cascade, "manifest", {"models": {}})
    tiny_cost = (
        model_cost(cascade.tiny, manifest["models"].get("tiny", {}))
        if cascade.tiny
        else ModelCost(0, 0)
    )
    full_cost = model_cost(cascade.full, manifest["models"].get("full", {}))
    mcu = profile.mcu
    clock_hz = mcu.clock_mhz * 1e6
    hop_cycles_budget = clock_hz * HOP_S
    tiny_cycles = tiny_cost.cycles(profile)
    full_cycles = full_cost.cycles(profile)
    full_deadline_s = cascade.full.stride_frames * HOP_S
    wake_cycles = mcu.wakeup_us * 1e-6 * clock_hz

    cascade.reset()
    counters = cascade.counters
    latencies: list[float] = []
    currents: list[float] = []
    awake: list[bool] = []
    responses: list[float] = []
    detection_responses: list[float] = []
    detections: list[float] = []
    missed = 0
    queue: deque[list[float]] = deque()  # [release_s, remaining_cycles, is_detection]
    hop_index = 0
    mic_ma = profile.microphone.current_ma + profile.microphone.interface_current_ma
    for chunk in frames_chunks:
        for frame in chunk:
            tiny_before, full_before = counters.tiny_inferences, counters.full_inferences
            found = cascade.process_features(frame[None, :])
            hop_start = hop_index * HOP_S
            high = mcu.frontend_cycles_per_hop + wake_cycles
            high += (counters.tiny_inferences - tiny_before) * tiny_cycles
            if high > hop_cycles_budget:
                missed += 1
            for _ in range(counters.full_inferences - full_before):
                queue.append([hop_start, full_cycles, 1.0 if found else 0.0])
            if found:
                detections.extend(d.time_s for d in found)
            free = max(0.0, hop_cycles_budget - high)
            used_background = 0.0
            while queue and free > 0:
                job = queue[0]
                run = min(free, job[1])
                job[1] -= run
                free -= run
                used_background += run
                if job[1] <= 0:
                    done_s = hop_start + (high + used_background) / clock_hz
                    if done_s - job[0] > full_deadline_s + 1e-12:
                        missed += 1
                    # any full inference may be the one that confirms: all of them count
                    responses.append((done_s - job[0]) * 1000.0)
                    if job[2]:
                        detection_responses.append((done_s - job[0]) * 1000.0)
                    queue.popleft()
            busy = min(hop_cycles_budget, high + used_background)
            latencies.append(high / clock_hz * 1000.0)
            active_fraction = busy / hop_cycles_budget
            currents.append(
                mic_ma
                + mcu.run_current_ma * active_fraction
                + mcu.sleep_current_ma * (1 - active_fraction)
            )
            awake.append(cascade.awake)
            hop_index += 1
    missed += len(queue)  # inferences still unfinished at the end never met their deadline
    duration_s = max(hop_index * HOP_S, HOP_S)
    workload = Workload(
        duration_s,
        counters.hops,
        counters.tiny_inferences,
        counters.full_inferences,
        tiny_cost,
        full_cost,
    )
    return SimResult(
        profile=profile,
        duration_s=duration_s,
        report=energy(profile, workload),
        hop_latency_ms=np.array(latencies, np.float32),
        hop_current_ma=np.array(currents, np.float32),
        hop_awake=np.array(awake, bool),
        response_ms=responses,
        detection_response_ms=detection_responses,
        missed_deadlines=missed,
        detections=detections,
        counters=counters.as_dict(),
        memory=memory_check(cascade, profile),
    )


def full_always_on(cascade: Cascade, profile: Profile, duration_s: float) -> EnergyReport:
    """The baseline: the full model every stride, no tiny model."""
    manifest = getattr(cascade, "manifest", {"models": {}})
    full_cost = model_cost(cascade.full, manifest["models"].get("full", {}))
    hops = int(round(duration_s / HOP_S))
    workload = Workload(
        duration_s, hops, 0, hops // cascade.full.stride_frames, ModelCost(0, 0), full_cost
    )
    return energy(profile, workload)
