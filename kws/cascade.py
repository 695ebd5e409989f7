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
from kws.always_on import Stride
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
# Audio is taken in pieces of at most this many frames: the frontend writes a piece's frames
# into the ring before their hops are taken, so the ring has room for this many more than the
# models' history (a device's ring, ``_buffer_frames``, does not).
WRITE_AHEAD_FRAMES = 32
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


@dataclass
class CascadeCounters:
    """Work done so far; the energy model turns these into charge."""

    hops: int = 0
    tiny_inferences: int = 0
    full_inferences: int = 0
    wakes: int = 0
    detections: int = 0
    awake_hops: int = 0
    verifications: int = 0  # detections the verifier was asked about (accepted or not)

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
class _State:
    """The decision state between hops; hops are numbered from 1 (``counters.hops``)."""

    awake_until_hop: int = -1
    refractory_until_hop: int = -1
    tiny_due_hop: int = 0  # the hop at which the tiny model steps next
    full_due_hop: int = 0  # the hop from which the full model steps next while awake
    tiny_scores: deque[float] = field(default_factory=deque)
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
        self._ring = np.zeros((self._ring_frames, self.frontend.config.num_channels), np.uint16)
        self._held = np.zeros(_PIECE_SAMPLES, dtype=np.int16)
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
        self.last_tiny_score = 0.0
        self.last_full_score = 0.0
        # the asleep stride in one native call (``kws.always_on``) where the tiny model steps
        # natively; a verifier hears the audio in ``_take``, so its cascades keep that path
        self._stride: Stride | None = None
        native = getattr(tiny, "native_parts", lambda: None)() if tiny else None
        if native is not None and not self.full_only and verifier is None:
            table, blob, self._tiny_score_by_byte = native
            self._stride = always_on.bind(self.frontend, table, blob, noise_floor, self._held)
        self.reset()

    @property
    def awake(self) -> bool:
        return self.full_only or self.counters.hops < self._state.awake_until_hop

    @property
    def buffer_frames(self) -> int:
        """Frames a device's ring must hold: the full model's window, the pre-roll or a tiny
        stride, whichever is longest (what firmware_sim's memory check charges)."""
        return self._buffer_frames

    def reset(self) -> None:
        """Start a new stream: counters, buffers, model states and frontend all cleared."""
        self.counters = CascadeCounters()
        self._state = _State(
            tiny_due_hop=self.tiny.stride_frames if self.tiny is not None else 0,
            full_due_hop=self.full.stride_frames,
            tiny_scores=deque(maxlen=self.thresholds.smoothing_frames),
            full_scores=deque(maxlen=self._full_smoothing),
        )
        self._ring[:] = 0
        self._written = 0  # frames written into the ring so far
        # the frame in the ring's first row: the history before the stream reads as zeros
        self._first_frame = -self._buffer_frames
        self._held_samples = 0  # audio held in ``_held``, not yet framed
        self._held_hops = 0  # hops of the held audio, already counted
        # The frontend's pending samples (``Frontend.pending_samples``), kept here: held audio's
        # hops are counted on every call without asking the frontend.
        self._frontend_pending = 0
        self._schedule()
        self.frontend.reset()
        if self.noise_floor is not None:
            self.noise_floor.reset()
        self.full.reset()
        if self.tiny is not None:
            self.tiny.reset()
        if self.verifier is not None:
            self.verifier.reset()

    def process(self, pcm: npt.NDArray[np.int16]) -> list[Detection]:
        """Feed int16 16 kHz PCM of any length; return detections completed by it.

        Audio whose frames would run no model is held (its hops counted) and framed with the
        chunk that completes the next model's hop: at 10 ms chunks, one frontend call per
        stride instead of three. Detections and counters are as if every chunk were framed
        at once.

        Raises ``AudioError`` unless ``pcm`` is a 1-D int16 array."""
        # The always-on path (every 10-30 ms, for hours) passes a 1-D int16 ndarray: three
        # tests admit it (held audio is copied, so any strides do; a chunk framed as it came
        # must also be writeable and C-contiguous, ``carray`` below).
        if not (type(pcm) is np.ndarray and pcm.dtype is _INT16 and pcm.ndim == 1):
            pcm = validate_pcm(pcm)
        held = self._held_samples
        total = held + len(pcm)
        if total > _PIECE_SAMPLES:
            return self._take_long(validate_pcm(pcm))
        # the frames the held audio and this chunk complete (``Frontend.frames_completed``)
        seen = self._frontend_pending + total
        window = self._window_samples
        frames = 0 if seen < window else (seen - window) // self._hop_samples + 1
        if self._written + frames <= self._quiet_until_hop:
            self._held_bytes[held:total] = pcm
            self._pass(frames - self._held_hops)
            self._held_samples, self._held_hops = total, frames
            return []
        # the asleep stride: the hops this audio completes run no model before the tiny one's
        due = self._quiet_until_hop + 1
        step_frame = due - self._written
        stride = (
            self._stride is not None
            and due == self._state.tiny_due_hop
            and 0 < step_frame <= frames
        )
        if not (held == 0 and pcm.flags.carray):  # held audio first, or a copy to frame
            self._held_bytes[held:total] = pcm
            pcm = self._held[:total]
        return self._take_stride(pcm, step_frame) if stride else self._take(pcm)

    def _take_stride(self, pcm: npt.NDArray[np.int16], step_frame: int) -> list[Detection]:
        """``_take`` for audio whose ``step_frame``-th frame is the tiny model's hop, the hops
        before it running no model (the asleep stride): framed and stepped in one call
        (``kws.always_on``), the hop decided by ``_hop`` with that score, then any hops after
        it taken as ``_take`` takes them."""
        assert self._stride is not None
        packed = self._stride(pcm, self._ring, self._free_row(), step_frame)
        if packed < 0:  # the frames were counted before the call: never, unless a bug
            raise KwsError(f"internal: the asleep stride framed too few frames ({packed})")
        written = packed >> 8
        self._written += written
        self._frontend_pending += pcm.shape[0] - written * self._hop_samples
        self._held_samples = self._held_hops = 0
        self._pass(self._quiet_until_hop - self.counters.hops)
        detection = self._hop(self._tiny_score_by_byte[packed & 0xFF])
        detections = [] if detection is None else [detection]
        after = self._written - self.counters.hops
        return detections + self._advance(after) if after > 0 else detections

    def _take_long(self, samples: npt.NDArray[np.int16]) -> list[Detection]:
        """``process`` for a chunk that overflows the held audio's piece: the held audio first
        (its hops run no model: nothing to detect), then the chunk a piece at a time."""
        self._take(self._held[: self._held_samples])
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
        row = self._free_row()
        floor, size = self.noise_floor, pcm.shape[0]
        if floor is None:
            written = self.frontend.process_into_unchecked(pcm, self._ring, row)
        else:
            written = self.frontend.process_mixed_into_unchecked(
                pcm, floor.table, floor.take(size), self._held, self._ring, row
            )
        if self.verifier is not None:
            self.verifier.hear(pcm if floor is None else self._held[:size])
        self._written += written
        self._frontend_pending += size - written * self._hop_samples
        counted, self._held_samples, self._held_hops = self._held_hops, 0, 0
        return self._advance(written - counted) if written > counted else []

    def _free_row(self) -> int:
        """The ring's row for the next frame, with a piece's rows free from it: first, when
        they are not, the last ``_buffer_frames`` written (all a model still reads) move to
        the ring's start."""
        row = self._written - self._first_frame
        if row + WRITE_AHEAD_FRAMES <= self._ring_frames:
            return row
        history = self._buffer_frames
        self._ring[:history] = self._ring[row - history : row]
        self._first_frame = self._written - history
        return history

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
        if self._held_samples:  # audio given to ``process`` comes first
            self._take(self._held[: self._held_samples])
        detections: list[Detection] = []
        for start in range(0, frames.shape[0], WRITE_AHEAD_FRAMES):
            piece = frames[start : start + WRITE_AHEAD_FRAMES]
            count = piece.shape[0]
            row = self._free_row()
            self._ring[row : row + count] = piece
            self._written += count
            detections += self._advance(count)
        return detections

    def _advance(self, count: int) -> list[Detection]:
        """Take the next ``count`` hops, whose frames are already in the ring."""
        detections: list[Detection] = []
        while count:
            # Most hops run no model (every hop but one per stride, the full model asleep):
            # count them at once, then take the hop that decides.
            quiet = min(self._quiet_until_hop - self.counters.hops, count)
            if quiet > 0:
                self._pass(quiet)
                count -= quiet
                if not count:
                    break
            detection = self._hop()
            count -= 1
            if detection is not None:
                detections.append(detection)
        return detections

    def _schedule(self) -> None:
        """After a hop: the last of the coming hops that run no model, those before the next
        step of the tiny model (the full model asleep) or of the full model (running alone);
        none while awake. Hops up to it are counted at once (``_pass``)."""
        state = self._state
        if self.full_only:
            due = state.full_due_hop
        elif self.counters.hops + 1 < state.awake_until_hop:
            due = self.counters.hops + 1
        else:
            due = state.tiny_due_hop
        self._quiet_until_hop = due - 1

    def _pass(self, count: int) -> None:
        """Hops that run no model (see ``_schedule``): counters only."""
        self.counters.hops += count
        if self.full_only:
            self.counters.awake_hops += count

    def _recent(self, count: int) -> npt.NDArray[np.uint16]:
        """The ``count`` frames up to the current hop, oldest first (zeros before the stream
        began; frames after it may already be in the ring): a view."""
        end = self.counters.hops - self._first_frame
        return self._ring[end - count : end]

    def _hop(self, tiny_score: float | None = None) -> Detection | None:
        """The next hop, its frame already in the ring: the models due, and their decisions
        (``tiny_score``: the tiny model already stepped on this hop's window, by
        ``_take_stride``)."""
        counters, state, thresholds = self.counters, self._state, self.thresholds
        counters.hops += 1
        hop = counters.hops
        detection = None
        if hop == state.tiny_due_hop and self.tiny is not None and not self.full_only:
            tiny = self.tiny
            state.tiny_due_hop = hop + tiny.stride_frames
            if tiny_score is None:
                end = hop - self._first_frame  # ``_recent``, written out: once a stride
                tiny_score = tiny.step(self._ring[end - tiny.window_frames : end])
            self.last_tiny_score = tiny_score
            counters.tiny_inferences += 1
            tiny_scores = state.tiny_scores  # the last smoothing_frames (a bounded deque)
            tiny_scores.append(self.last_tiny_score)
            smoothed = sum(tiny_scores) / len(tiny_scores)
            if (
                smoothed >= thresholds.wake
                and hop >= state.awake_until_hop
                and hop >= state.refractory_until_hop
            ):
                counters.wakes += 1
                state.awake_until_hop = hop + self._wake_window_hops
                state.full_due_hop = hop  # run at once on the pre-roll
                state.full_scores.clear()
        if self.full_only or hop < state.awake_until_hop:
            counters.awake_hops += 1
            if hop >= state.full_due_hop:
                state.full_due_hop = hop + self.full.stride_frames
                self.last_full_score = self.full.step(self._recent(self.full.window_frames))
                counters.full_inferences += 1
                full_scores = state.full_scores  # the last _full_smoothing since waking
                full_scores.append(self.last_full_score)
                score = sum(full_scores) / len(full_scores)
                if score >= thresholds.detect and hop >= state.refractory_until_hop:
                    state.refractory_until_hop = hop + self._refractory_hops
                    state.awake_until_hop = hop  # back to sleep
                    full_scores.clear()
                    detection = self._confirmed(hop * HOP_S + FRAME_END_OFFSET_S, score)
            self._schedule()
        else:  # asleep (``_schedule``, written out: the always-on case)
            self._quiet_until_hop = state.tiny_due_hop - 1
        return detection

    def _confirmed(self, time_s: float, score: float) -> Detection | None:
        """The detection the models confirmed at ``time_s``, unless the verifier rejects it."""
        stage = "single" if self.tiny is None else "full"
        if self.verifier is not None:
            self.counters.verifications += 1
            accepted, score = self.verifier.accepts(int(round(time_s * SAMPLE_RATE_HZ)))
            if not accepted:
                return None
            stage = "verifier"
        self.counters.detections += 1
        return Detection(time_s, self.keyword, score, stage)
