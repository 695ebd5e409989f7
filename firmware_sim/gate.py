"""Stage 0: an acoustic-activity gate in front of the tiny model, simulated on the real audio.

Two kinds (``GateConfig.kind``):
- ``mic``: the microphone's own wake-on-sound detection. In quiet the microphone sits in its
  ``wake_on_sound`` state (no clock) and the MCU sleeps: no frontend, no tiny model. When the
  level of a 1 ms block rises ``threshold_db`` above the tracked ambient floor, the microphone
  raises an interrupt; the MCU wakes, starts the PDM clock and the microphone comes out of
  ``wake_on_sound`` in its ``exit_ms``: those samples are lost, so the frontend and the tiny model
  start on the keyword already under way.
- ``energy``: a cheap level check on the MCU. The microphone stays in its listening state (and
  clocked); the MCU wakes every hop, measures the hop's level and runs the frontend and the tiny
  model only while the gate is open, starting on ``preroll_ms`` of buffered audio: nothing is
  lost from the microphone, but the models start cold.
The gate closes after ``hangover_ms`` without activity, once the cascade is asleep and no full
inference is pending. The frontend's state is retained while closed (SRAM retention), as the
tiny model's streaming state is: they resume where they stopped.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_sim.energy import Workload
from firmware_sim.profile import Profile
from firmware_sim.simulator import Simulation
from kws.cascade import Cascade
from kws.errors import KwsError
from kws.frontend.config import HOP_S, SAMPLE_RATE_HZ

HOP_SAMPLES = int(round(HOP_S * SAMPLE_RATE_HZ))
MIC_BLOCK_SAMPLES = 16  # the microphone's detector decides on 1 ms blocks (estimate)
GATE_KINDS = ("mic", "energy")
# estimate: a Cortex-M4 sum of squares over 160 int16 samples with SMLAD (2 per cycle, ~80),
# a compare against the floor in the energy domain and the floor update (~100), and the DMA
# interrupt's entry and exit (~300): about 500 cycles per hop
LEVEL_CHECK_CYCLES_PER_HOP = 500.0
FLOOR_FALL_PER_HOP = 0.5  # the ambient floor follows a quieter scene within a few hops
SILENCE_DBFS = -120.0  # digital silence counts as this level


@dataclass(frozen=True)
class GateConfig:
    """A stage-0 gate: ``kind`` ``mic`` or ``energy``; open when a level rises ``threshold_db``
    above the ambient floor (which rises at most ``floor_rise_db_per_s``); closed after
    ``hangover_ms`` without activity; the ``energy`` gate starts the frontend on ``preroll_ms``
    of buffered audio (the ``mic`` gate has none: the microphone was not delivering audio)."""

    kind: str
    threshold_db: float = 12.0
    hangover_ms: float = 500.0
    preroll_ms: float = 10.0
    floor_rise_db_per_s: float = 3.0

    def __post_init__(self) -> None:
        if self.kind not in GATE_KINDS:
            raise KwsError(f"gate must be one of {', '.join(GATE_KINDS)}, got {self.kind!r}")
        for name in ("threshold_db", "hangover_ms", "preroll_ms", "floor_rise_db_per_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise KwsError(f"gate {name} must be a finite number >= 0, got {value}")
        if self.kind == "mic" and self.preroll_ms > 0:
            raise KwsError(
                "a mic gate has no pre-roll: the microphone delivers no audio before it wakes "
                "(--gate-preroll-ms is for --gate energy)"
            )


def level_dbfs(pcm: npt.NDArray[np.int16]) -> float:
    """Mean power of ``pcm`` in dB relative to a full-scale square wave."""
    power = float(np.mean(pcm.astype(np.float64) ** 2)) / 32768.0**2
    return max(SILENCE_DBFS, 10 * math.log10(power)) if power > 0 else SILENCE_DBFS


class ActivityDetector:
    """Level against an adaptive ambient floor, hop by hop. The floor falls fast to a quieter
    scene and rises slowly (speech does not become the floor)."""

    def __init__(self, config: GateConfig) -> None:
        self.config = config
        self.block_samples = MIC_BLOCK_SAMPLES if config.kind == "mic" else HOP_SAMPLES
        self.floor_dbfs: float | None = None
        self._rise_per_hop = config.floor_rise_db_per_s * HOP_S

    def onset(self, hop: npt.NDArray[np.int16]) -> int | None:
        """The first sample of the first active block of this hop, None when quiet; then the
        floor follows the hop's level."""
        level = level_dbfs(hop)
        if self.floor_dbfs is None:
            self.floor_dbfs = level
        threshold = self.floor_dbfs + self.config.threshold_db
        found = None
        for start in range(0, hop.shape[0], self.block_samples):
            if level_dbfs(hop[start : start + self.block_samples]) > threshold:
                found = start
                break
        if level < self.floor_dbfs:
            self.floor_dbfs += (level - self.floor_dbfs) * FLOOR_FALL_PER_HOP
        else:
            self.floor_dbfs += min(level - self.floor_dbfs, self._rise_per_hop)
        return found


class GatedSimulation(Simulation):
    """A ``Simulation`` fed PCM (``feed_pcm``) through a stage-0 gate and its own frontend.
    Counts the microphone's samples per power state, the samples lost on waking, the gate's
    openings and open hops, the MCU's wake-ups and level-check cycles.

    Raises:
        KwsError: a ``mic`` gate on a microphone without a ``wake_on_sound`` state.
    """

    def __init__(self, cascade: Cascade, profile: Profile, gate: GateConfig) -> None:
        super().__init__(cascade, profile)
        microphone = profile.microphone
        states = microphone.all_states()
        self.gate = gate
        self.listen_state = microphone.listen_state
        if gate.kind == "mic":
            if "wake_on_sound" not in states:
                raise KwsError(
                    f"--gate mic needs a microphone with a wake_on_sound state ({microphone.part} "
                    f"has: {', '.join(states)}); try --microphone vesper_vm3011 or --gate energy"
                )
            self.idle_state = "wake_on_sound"
        else:
            self.idle_state = self.listen_state
        exit_ms = states[self.idle_state].exit_ms if gate.kind == "mic" else 0.0
        self.exit_samples = int(round(exit_ms * SAMPLE_RATE_HZ / 1000))
        self._state_ma = {
            name: state.current_ma + (microphone.interface_current_ma if state.clocked else 0.0)
            for name, state in states.items()
        }
        self.detector = ActivityDetector(gate)
        self.is_open = False
        self.mic_samples: Counter[str] = Counter()
        self.lost_samples = 0
        self.openings = 0
        self.open_hops = 0
        self.wakeups = 0
        self.gate_cycles = 0.0
        self._lost_left = 0
        self._quiet_hops = 0
        self._hangover_hops = int(math.ceil(gate.hangover_ms / 1000 / HOP_S))
        preroll_hops = int(math.ceil(gate.preroll_ms / 1000 / HOP_S))
        self._preroll: deque[npt.NDArray[np.int16]] = deque(maxlen=max(1, preroll_hops))
        self._preroll_samples = int(round(gate.preroll_ms * SAMPLE_RATE_HZ / 1000))
        self._held = np.zeros(0, np.int16)
        self._no_frames = np.zeros((0, 40), np.uint16)

    def feed_pcm(self, pcm: npt.NDArray[np.int16]) -> None:
        """Run the gate, the frontend and the cascade over int16 16 kHz PCM, hop by hop (a
        partial last hop waits for the next chunk)."""
        audio = np.concatenate([self._held, pcm]) if self._held.size else pcm
        whole = audio.shape[0] // HOP_SAMPLES * HOP_SAMPLES
        for start in range(0, whole, HOP_SAMPLES):
            self._gate_hop(np.ascontiguousarray(audio[start : start + HOP_SAMPLES]))
        self._held = np.array(audio[whole:], np.int16)

    def _gate_hop(self, hop: npt.NDArray[np.int16]) -> None:
        onset = self.detector.onset(hop)
        if not self.is_open and onset is None:
            self.mic_samples[self.idle_state] += HOP_SAMPLES
            checks = self.gate.kind == "energy"  # the MCU wakes to check; the frontend sleeps
            if checks:
                self._preroll.append(hop)
                self.wakeups += 1
                self.gate_cycles += LEVEL_CHECK_CYCLES_PER_HOP
            extra = LEVEL_CHECK_CYCLES_PER_HOP if checks else 0.0
            self._hop(self._no_frames, checks, self._state_ma[self.idle_state], extra)
            return
        idle_samples = 0
        if not self.is_open:
            self.is_open, self.openings, self._quiet_hops = True, self.openings + 1, 0
            if self.gate.kind == "mic":  # the interrupt came at the onset: the rest is waking
                idle_samples, self._lost_left = int(onset or 0), self.exit_samples
                audio = hop[idle_samples:]
                self.wakeups += 1  # the wake-on-sound interrupt itself
            else:
                audio = np.concatenate([*self._preroll, hop])
                audio = audio[-(self._preroll_samples + HOP_SAMPLES) :]
                self._preroll.clear()
        else:
            audio = hop
            self._quiet_hops = 0 if onset is not None else self._quiet_hops + 1
        lost = min(self._lost_left, audio.shape[0])
        self._lost_left -= lost
        self.lost_samples += lost
        self.mic_samples[self.idle_state] += idle_samples
        self.mic_samples[self.listen_state] += HOP_SAMPLES - idle_samples
        mic_ma = (
            idle_samples * self._state_ma[self.idle_state]
            + (HOP_SAMPLES - idle_samples) * self._state_ma[self.listen_state]
        ) / HOP_SAMPLES
        frames = self.frames(np.ascontiguousarray(audio[lost:]))
        self.open_hops += 1
        self.wakeups += 1  # the audio interrupt of an open hop
        self.gate_cycles += LEVEL_CHECK_CYCLES_PER_HOP  # the level check decides when to close
        self._hop(frames, True, mic_ma, LEVEL_CHECK_CYCLES_PER_HOP)
        if self._quiet_hops >= self._hangover_hops and not self.cascade.awake and not self._queue:
            self.is_open = False

    def _workload(self) -> Workload:
        """The ungated work, with the gate's wake-ups, level checks and microphone states."""
        return dataclasses.replace(
            super()._workload(),
            wakeups=self.wakeups,
            gate_cycles=self.gate_cycles,
            microphone_s=self.microphone_s,
        )

    @property
    def microphone_s(self) -> dict[str, float]:
        """Seconds the microphone spent in each power state so far."""
        return {name: samples / SAMPLE_RATE_HZ for name, samples in self.mic_samples.items()}

    @property
    def duty_cycle(self) -> float:
        """Share of hops the gate was open (frontend and tiny model running)."""
        return self.open_hops / self.hops if self.hops else 0.0
