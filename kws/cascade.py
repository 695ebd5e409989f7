"""The cascade: a tiny streaming detector always on, a full model woken to confirm.

Feature frames go into a ring buffer. Every ``stride`` frames the tiny model sees the new
frames; when the mean of its last ``smoothing_frames`` scores reaches the wake threshold, the
full model runs over the buffered window (pre-roll, so the keyword that woke it is still there)
and then every stride until it confirms (a ``Detection``) or the wake window runs out. It
confirms when the mean of its last ``detect_smoothing`` scores since waking reaches the detect
threshold (right after waking that is fewer scores: scoring the missed strides from the
pre-roll at once would triple the work of the waking hop, over the response-time budget of a
small MCU). After a detection nothing fires for the refractory period.

With a ``verifier`` (``kws.verifier``; where the device runs Python) a confirmed detection
counts only when the verifier accepts the audio that ends with it; one it rejects changes
nothing else (the refractory period still follows), as training measured it.

With no tiny model (a single-stage bundle, e.g. a microWakeWord model, which smooths over
``smoothing_frames`` like microWakeWord) or ``full_only=True``, the full model runs every
stride: the baseline the cascade is measured against.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from kws import always_on
from kws.always_on import (
    ASLEEP,
    AWAKE_HOPS,
    AWAKE_UNTIL,
    BUFFER_FRAMES,
    DETECTIONS,
    FIRST_FRAME,
    FLOOR_AT,
    FULL_INFERENCES,
    HELD,
    HELD_HOPS,
    HOP_SAMPLES,
    HOPS,
    IN_PYTHON,
    PENDING,
    QUIET_UNTIL,
    REFRACTORY_UNTIL,
    RING_FRAMES,
    SCORES_SEEN,
    TINY_DUE,
    TINY_INFERENCES,
    TINY_STRIDE,
    VERIFICATIONS,
    WAKES,
    WAKES_AT,
    WRITE_AHEAD_FRAMES,
    WRITTEN,
)
from kws.errors import KwsError, ThresholdError
from kws.frontend import Frontend
from kws.frontend.config import HOP_S, SAMPLE_RATE_HZ
from kws.frontend.streaming import validate_pcm
from kws.metrics import deaf_hops
from kws.thresholds import Thresholds

if TYPE_CHECKING:
    from kws.manifest import Bundle
    from kws.noise_floor import NoiseFloor
    from kws.verifier import Verifier

FRAME_END_OFFSET_S = 0.02  # a frame's 30 ms window ends 20 ms after its 10 ms hop starts
# Audio is taken in pieces of at most ``WRITE_AHEAD_FRAMES`` frames: the frontend writes a
# piece's frames into the ring before their hops are taken, so the ring has room for this many
# more than the models' history (a device's ring, ``_buffer_frames``, does not).
_PIECE_SAMPLES = WRITE_AHEAD_FRAMES * 160
_INT16 = np.dtype(np.int16)


class Detector(Protocol):
    stride_frames: int
    window_frames: int

    def step(self, frames: npt.NDArray[np.uint16]) -> float: ...

    def reset(self) -> None: ...


@dataclass(frozen=True)
class Detection:
    """A confirmed keyword: ``time_s`` from the start of the stream to the end of the audio that
    completed it, ``stage`` the model that confirmed ("full", "single" or "verifier", whose
    ``score`` is then the verifier's)."""

    time_s: float
    keyword: str
    score: float
    stage: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_s": round(self.time_s, 3),
            "keyword": self.keyword,
            "score": round(self.score, 6),
            "stage": self.stage,
        }


def _counter(index: int, doc: str) -> Any:
    def get(counters: CascadeCounters) -> int:
        value: int = counters._live[index]
        return value

    def put(counters: CascadeCounters, value: int) -> None:
        counters._live[index] = value

    return property(get, put, doc=doc)


class CascadeCounters:
    """Work done so far; the energy model turns these into charge. The counts are the first
    fields of the cascade's live state (``kws.always_on``: its native path counts hops and
    tiny steps there), read and written as attributes."""

    def __init__(self, live: Any = None) -> None:
        # a memoryview of int64: its items read as Python ints
        self._live: Any = (
            np.zeros(always_on.COUNTER_FIELDS, np.int64).data if live is None else live
        )

    def _keep(self) -> None:
        """Keep today's counts as this object's own (the cascade starts new ones)."""
        self._live = np.array(self._live[: always_on.COUNTER_FIELDS], np.int64).data

    hops = _counter(HOPS, "hops (10 ms frames) taken")
    tiny_inferences = _counter(TINY_INFERENCES, "tiny model steps")
    full_inferences = _counter(FULL_INFERENCES, "full model steps")
    wakes = _counter(WAKES, "times the tiny model woke the full one")
    detections = _counter(DETECTIONS, "detections")
    awake_hops = _counter(AWAKE_HOPS, "hops with the full model awake")
    verifications = _counter(
        VERIFICATIONS, "detections the verifier was asked about (accepted or not)"
    )

    @property
    def duty_cycle_full(self) -> float:
        """Share of hops spent with the full model awake."""
        return self.awake_hops / self.hops if self.hops else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "hops": self.hops,
            "tiny_inferences": self.tiny_inferences,
            "full_inferences": self.full_inferences,
            "wakes": self.wakes,
            "detections": self.detections,
            "awake_hops": self.awake_hops,
            "duty_cycle_full": round(self.duty_cycle_full, 6),
            "verifications": self.verifications,
        }


@dataclass
class _Awake:
    """The decision state of the full model, which only Python runs (the rest of the state is
    the live array's: ``kws.always_on``); hops are numbered from 1 (``counters.hops``)."""

    full_due_hop: int = 0  # the hop from which the full model steps next while awake
    full_scores: deque[float] = field(default_factory=deque)


class Cascade:
    """Feature frames or PCM in, detections out. See the module docstring.

    ``bundle`` is the ``kws.manifest.Bundle`` the cascade was loaded from (``load_cascade``),
    for what needs its recorded figures (``firmware_sim``: model sizes, MACs, arenas); None for
    a cascade built from models directly (a microWakeWord config, a test's).

    Raises:
        ThresholdError: a tiny model with a wake window under one hop (it would wake nothing).
    """

    def __init__(
        self,
        keyword: str,
        full: Detector,
        thresholds: Thresholds,
        tiny: Detector | None = None,
        full_only: bool = False,
        bundle: Bundle | None = None,
        noise_floor: NoiseFloor | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        self.keyword = keyword
        self.verifier = verifier
        self.bundle = bundle
        self.noise_floor = noise_floor
        self.tiny = tiny
        self.full = full
        self.thresholds = thresholds
        self.full_only = full_only or tiny is None
        self.frontend = Frontend()
        preroll_frames = int(round(thresholds.preroll_s / HOP_S))
        # single-stage models keep microWakeWord's meaning of smoothing_frames
        self._full_smoothing = max(
            1, thresholds.smoothing_frames if tiny is None else thresholds.detect_smoothing
        )
        self._buffer_frames = max(
            full.window_frames, preroll_frames, tiny.stride_frames if tiny else 0
        )
        # The PC's "ring" is a sliding window: frames are written one after another, and when
        # a piece might not fit, the last ``_buffer_frames`` (all any model still reads) move
        # to its start. So every model's window is a view, never a gather, and the frontend
        # writes a piece without wrapping. Twice the history plus a piece: the move is one
        # copy between rows that do not overlap, once every history's worth of frames.
        self._ring_frames = 2 * self._buffer_frames + WRITE_AHEAD_FRAMES
        # The state the native path shares, and the constants it reads, in one arena
        # (``kws.always_on.State``): the live fields, read through a memoryview as Python ints;
        # the held audio; the ring; the tiny model's last scores, for the smoothing.
        native = getattr(tiny, "native_parts", lambda: None)() if tiny else None
        if self.full_only:
            native = None
        self._state = always_on.pack_state(
            _PIECE_SAMPLES,
            (self._ring_frames, self.frontend.config.num_channels),
            max(1, thresholds.smoothing_frames),
            self.frontend.kernel_arguments()[0],
            floor=None if noise_floor is None else noise_floor.table,
            tiny=None if native is None else (native[0], native[2]),
        )
        self._ring = self._state.ring
        self._held = self._state.held
        # chunks are copied in through a memoryview of it: half numpy's cost for 10 ms of audio
        # (Any: numpy's stubs do not declare an ndarray a Buffer, the memoryview's source)
        self._held_bytes: Any = self._held.data
        self._wake_window_hops = int(round(thresholds.wake_window_s / HOP_S))
        if not self.full_only and self._wake_window_hops < 1:
            raise ThresholdError(
                f"wake_window_s must be at least {HOP_S:g} s when a tiny model wakes the full "
                f"one, got {thresholds.wake_window_s} (the full model would never run)"
            )
        self._refractory_hops = deaf_hops(thresholds.refractory_s)
        self._window_samples = self.frontend.config.window_samples
        self._hop_samples = self.frontend.config.hop_samples
        self.last_full_score = 0.0
        self._live_array = self._state.live
        self._live: Any = self._live_array.data
        self.counters = CascadeCounters()
        self._tiny_scores = self._state.scores
        # While the full model sleeps, the hops (and, but where a verifier must hear the audio
        # in ``_take``, each chunk) in one native call, where the tiny model steps natively.
        self._asleep_hops: always_on.Hops | None = None
        self._asleep_chunk: always_on.Chunk | None = None
        if native is not None:
            _, blob, self._tiny_score_by_byte = native
            wake = thresholds.wake
            self._asleep_hops = always_on.bind_hops(self._state, blob, wake, self._install_hops)
            if verifier is None:
                self._asleep_chunk = always_on.bind_chunk(
                    self.frontend, self._state, blob, wake, self._install_chunk
                )
        self.reset()

    def _install_hops(self, hops: always_on.Hops) -> None:
        self._asleep_hops = hops

    def _install_chunk(self, chunk: always_on.Chunk) -> None:
        self._asleep_chunk = chunk

    @property
    def awake(self) -> bool:
        return self.full_only or self._live[HOPS] < self._live[AWAKE_UNTIL]

    @property
    def last_tiny_score(self) -> float:
        """The tiny model's last score (0 before its first step)."""
        seen = self._live[SCORES_SEEN]
        return float(self._tiny_scores[(seen - 1) % self._tiny_scores.shape[0]]) if seen else 0.0

    @property
    def buffer_frames(self) -> int:
        """Frames a device's ring must hold: the full model's window, the pre-roll or a tiny
        stride, whichever is longest (what firmware_sim's memory check charges)."""
        return self._buffer_frames

    def reset(self) -> None:
        """Start a new stream: counters, buffers, model states and frontend all cleared."""
        live = self._live
        self.counters._keep()  # a caller's counters of the last stream keep their counts
        self.counters = CascadeCounters(live)
        self._live_array[:] = 0  # counters, held audio, frames written, scores seen ...
        live[AWAKE_UNTIL] = live[REFRACTORY_UNTIL] = -1
        live[TINY_DUE] = live[TINY_STRIDE] = self.tiny.stride_frames if self.tiny else 0
        # the frame in the ring's first row: the history before the stream reads as zeros
        live[FIRST_FRAME] = -self._buffer_frames
        live[BUFFER_FRAMES], live[RING_FRAMES] = self._buffer_frames, self._ring_frames
        live[HOP_SAMPLES] = self._hop_samples
        self._awake = _Awake(
            full_due_hop=self.full.stride_frames, full_scores=deque(maxlen=self._full_smoothing)
        )
        self._tiny_scores[:] = 0.0
        self._ring[:] = 0
        self._schedule()
        self.frontend.reset()
        self.full.reset()
        if self.tiny is not None:
            self.tiny.reset()
        if self.verifier is not None:
            self.verifier.reset()

    def process(self, pcm: npt.NDArray[np.int16]) -> list[Detection]:
        """Feed int16 16 kHz PCM of any length; return detections completed by it.

        Audio whose frames would run no model is held (its hops counted) and framed with the
        chunk that completes the next model's hop: at 10 ms chunks, one frontend call per
        stride instead of three. While the full model sleeps, all of that is one native call
        (``kws.always_on``). Detections and counters are as if every chunk were framed at once.

        Raises ``AudioError`` unless ``pcm`` is a 1-D int16 array."""
        # The always-on path (every 10-30 ms, for hours): a chunk the kernel reads as it is
        if (
            self._asleep_chunk is not None
            and type(pcm) is np.ndarray
            and pcm.dtype is _INT16
            and pcm.ndim == 1
            and pcm.flags.carray
        ):
            status = self._asleep_chunk(pcm)
            if status == ASLEEP:
                return []
            if status != IN_PYTHON:
                return self._woken(status)
        if not (type(pcm) is np.ndarray and pcm.dtype is _INT16 and pcm.ndim == 1):
            pcm = validate_pcm(pcm)
        live = self._live
        held = live[HELD]
        total = held + len(pcm)
        if total > _PIECE_SAMPLES:
            return self._take_long(validate_pcm(pcm))
        # the frames the held audio and this chunk complete (``Frontend.frames_completed``)
        seen = live[PENDING] + total
        window = self._window_samples
        frames = 0 if seen < window else (seen - window) // self._hop_samples + 1
        if live[WRITTEN] + frames <= live[QUIET_UNTIL]:
            self._held_bytes[held:total] = pcm
            self._pass(frames - live[HELD_HOPS])
            live[HELD], live[HELD_HOPS] = total, frames
            return []
        if not (held == 0 and pcm.flags.carray):  # held audio first, or a copy to frame
            self._held_bytes[held:total] = pcm
            pcm = self._held[:total]
        return self._take(pcm)

    def _woken(self, status: int) -> list[Detection]:
        """After a native call that stopped at the tiny model's hop that wakes the full one
        (``status``: ``WAKES_AT`` + its score's byte): that hop, then the rest."""
        if status < WAKES_AT:  # the ring always has a piece's rows free: never, unless a bug
            raise KwsError(f"internal: the always-on path failed ({status})")
        detection = self._hop(self._tiny_score_by_byte[status - WAKES_AT])
        detections = self._advance()
        return detections if detection is None else [detection, *detections]

    def _take_long(self, samples: npt.NDArray[np.int16]) -> list[Detection]:
        """``process`` for a chunk that overflows the held audio's piece: the held audio first
        (its hops run no model: nothing to detect), then the chunk a piece at a time."""
        self._take(self._held[: self._live[HELD]])
        detections: list[Detection] = []
        for start in range(0, samples.shape[0], _PIECE_SAMPLES):
            detections += self._take(samples[start : start + _PIECE_SAMPLES])
        return detections

    def _take(self, pcm: npt.NDArray[np.int16]) -> list[Detection]:
        """Frame ``pcm`` (writeable C-contiguous, at most a piece; the held audio's hops
        already counted) into the ring, then take the hops not yet taken.

        The noise floor, if any, is added as the audio is framed (in the same kernel call),
        the floored audio left in ``_held`` (``pcm`` is either the held audio, floored in
        place, or a chunk that came while nothing was held): audio is held as it came and gets
        its floor once, in stream order. The verifier, if any, hears the floored audio before
        the hops are taken: every hop that can decide is taken here, at most a piece after the
        audio it needs."""
        live = self._live
        row = always_on.free_row(self._live_array, self._ring)
        floor, size = self.noise_floor, pcm.shape[0]
        if floor is None:
            written = self.frontend.process_into_unchecked(pcm, self._ring, row)
        else:
            start = live[FLOOR_AT]
            live[FLOOR_AT] = (start + size) % floor.table.shape[0]
            written = self.frontend.process_mixed_into_unchecked(
                pcm, floor.table, start, self._held, self._ring, row
            )
        if self.verifier is not None:
            self.verifier.hear(pcm if floor is None else self._held[:size])
        live[WRITTEN] += written
        live[PENDING] += size - written * self._hop_samples
        live[HELD] = live[HELD_HOPS] = 0
        return self._advance()

    def process_features(self, frames: npt.NDArray[np.uint16]) -> list[Detection]:
        """Feed uint16 feature frames [n, channels]; return detections completed by them.

        Raises:
            KwsError: the cascade has a verifier, which needs the audio (``process``).
        """
        if self.verifier is not None:
            raise KwsError(
                "a cascade with a verifier verifies audio: give it PCM (process), or load it "
                "without the verifier"
            )
        live = self._live
        if live[HELD]:  # audio given to ``process`` comes first
            self._take(self._held[: live[HELD]])
        detections: list[Detection] = []
        for start in range(0, frames.shape[0], WRITE_AHEAD_FRAMES):
            piece = frames[start : start + WRITE_AHEAD_FRAMES]
            count = piece.shape[0]
            row = always_on.free_row(self._live_array, self._ring)
            self._ring[row : row + count] = piece
            live[WRITTEN] += count
            detections += self._advance()
        return detections

    def _advance(self) -> list[Detection]:
        """Take the hops whose frames are in the ring and not yet taken."""
        live = self._live
        detections: list[Detection] = []
        while live[HOPS] < live[WRITTEN]:
            if self._asleep_hops is not None:  # the full model asleep: native, up to a wake
                status = self._asleep_hops()
                if status == ASLEEP:
                    break
                if status != IN_PYTHON:
                    detections += self._woken(status)
                    break
            # Most hops run no model (every hop but one per stride, the full model asleep):
            # count them at once, then take the hop that decides.
            quiet = min(live[QUIET_UNTIL], live[WRITTEN]) - live[HOPS]
            if quiet > 0:
                self._pass(quiet)
                continue
            detection = self._hop()
            if detection is not None:
                detections.append(detection)
        return detections

    def _schedule(self) -> None:
        """After a hop: the last of the coming hops that run no model, those before the next
        step of the tiny model (the full model asleep) or of the full model (running alone);
        none while awake. Hops up to it are counted at once (``_pass``)."""
        live = self._live
        if self.full_only:
            due = self._awake.full_due_hop
        elif live[HOPS] + 1 < live[AWAKE_UNTIL]:
            due = live[HOPS] + 1
        else:
            due = live[TINY_DUE]
        live[QUIET_UNTIL] = due - 1

    def _pass(self, count: int) -> None:
        """Hops that run no model (see ``_schedule``): counters only."""
        live = self._live
        live[HOPS] += count
        if self.full_only:
            live[AWAKE_HOPS] += count

    def _recent(self, count: int) -> npt.NDArray[np.uint16]:
        """The ``count`` frames up to the current hop, oldest first (zeros before the stream
        began; frames after it may already be in the ring): a view."""
        end = self._live[HOPS] - self._live[FIRST_FRAME]
        return self._ring[end - count : end]

    def _hop(self, tiny_score: float | None = None) -> Detection | None:
        """The next hop, its frame already in the ring: the models due, and their decisions
        (``tiny_score``: the tiny model already stepped on this hop's window, natively)."""
        live, awake, thresholds = self._live, self._awake, self.thresholds
        live[HOPS] += 1
        hop = live[HOPS]
        detection = None
        tiny = self.tiny
        if hop == live[TINY_DUE] and tiny is not None and not self.full_only:
            if tiny_score is None:
                tiny_score = tiny.step(self._recent(tiny.window_frames))
            # the mean of its last smoothing_frames scores, this one kept (and counted)
            smoothed = always_on.tiny_hop(self._live_array, self._tiny_scores, tiny_score)
            if (
                smoothed >= thresholds.wake
                and hop >= live[AWAKE_UNTIL]
                and hop >= live[REFRACTORY_UNTIL]
            ):
                live[WAKES] += 1
                live[AWAKE_UNTIL] = hop + self._wake_window_hops
                awake.full_due_hop = hop  # run at once on the pre-roll
                awake.full_scores.clear()
        if self.full_only or hop < live[AWAKE_UNTIL]:
            live[AWAKE_HOPS] += 1
            if hop >= awake.full_due_hop:
                awake.full_due_hop = hop + self.full.stride_frames
                self.last_full_score = self.full.step(self._recent(self.full.window_frames))
                live[FULL_INFERENCES] += 1
                full_scores = awake.full_scores  # the last _full_smoothing since waking
                full_scores.append(self.last_full_score)
                score = sum(full_scores) / len(full_scores)
                if score >= thresholds.detect and hop >= live[REFRACTORY_UNTIL]:
                    live[REFRACTORY_UNTIL] = hop + self._refractory_hops
                    live[AWAKE_UNTIL] = hop  # back to sleep
                    full_scores.clear()
                    detection = self._confirmed(hop * HOP_S + FRAME_END_OFFSET_S, score)
            self._schedule()
        else:  # asleep (``_schedule``, written out: the always-on case)
            live[QUIET_UNTIL] = live[TINY_DUE] - 1
        return detection

    def _confirmed(self, time_s: float, score: float) -> Detection | None:
        """The detection the models confirmed at ``time_s``, unless the verifier rejects it."""
        stage = "single" if self.tiny is None else "full"
        if self.verifier is not None:
            self._live[VERIFICATIONS] += 1
            accepted, score = self.verifier.accepts(int(round(time_s * SAMPLE_RATE_HZ)))
            if not accepted:
                return None
            stage = "verifier"
        self._live[DETECTIONS] += 1
        return Detection(time_s, self.keyword, score, stage)
