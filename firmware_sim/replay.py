"""The audio a battery run replays: an audio file (no labels) or a generated scenario (its
keyword times known), as PCM chunks read while they are simulated, so memory stays constant for
any length. The simulation frames them itself (``Simulation.feed_pcm``: the bundle's noise floor,
then its own frontend)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kws.frontend.config import SAMPLE_RATE_HZ


class AudioSource:
    """PCM chunks from ``audio``, or else from the generated ``scenario`` of ``minutes``;
    counts the seconds read so far and gathers the keyword end times a scenario knows."""

    def __init__(
        self,
        keyword: str,
        audio: Path | None = None,
        scenario: str = "office",
        minutes: float = 10.0,
        seed: int = 0,
        on_warning: Callable[[str], None] = lambda warning: None,
    ) -> None:
        self.keyword = keyword
        self.audio = audio
        self.scenario = scenario
        self.minutes = minutes
        self.seed = seed
        self.on_warning = on_warning
        self.seconds = 0.0
        self.keyword_times: list[float] = []

    @property
    def labelled(self) -> bool:
        """Whether the keyword times are known (a generated scenario, not an audio file)."""
        return self.audio is None

    @property
    def planned_s(self) -> float | None:
        """The length of a scenario in seconds (whole chunks, as it is generated); None for a
        file (known once read)."""
        from firmware_sim.scenarios import CHUNK_S

        if self.audio is not None:
            return None
        return max(1, math.ceil(self.minutes * 60 / CHUNK_S)) * CHUNK_S

    def pcm_chunks(self) -> Iterator[npt.NDArray[np.int16]]:
        """int16 16 kHz PCM, up to 30 s at a time; a file's reader warnings go to
        ``on_warning``.

        Raises:
            KwsError: the file cannot be read, or the scenario is unknown.
        """
        from firmware_sim.scenarios import generate, get_scenario
        from kws.audio import iter_audio_chunks

        if self.audio is not None:
            for pcm, warnings in iter_audio_chunks(self.audio):
                for warning in warnings:
                    self.on_warning(warning)
                self.seconds += pcm.size / SAMPLE_RATE_HZ
                yield pcm
            return
        scenario = get_scenario(self.scenario)
        for pcm, times in generate(scenario, self.keyword, self.minutes, self.seed):
            self.keyword_times += times
            self.seconds += pcm.size / SAMPLE_RATE_HZ
            yield pcm
