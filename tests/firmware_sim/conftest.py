"""A stand-in for the generated scenarios that the gate and discharge tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

Chunks = Iterator[tuple[np.ndarray, list[float]]]


def _bursty_noise(scenario: Any, keyword: Any, minutes: float, seed: int = 0) -> Chunks:
    """Quiet noise with a burst every 10 s and a 'keyword' label at 5 s of each 30 s chunk: no
    speech synthesis."""
    rng = np.random.default_rng(seed)
    chunk = rng.integers(-30, 30, 30 * 16000).astype(np.int16)
    for start in range(0, chunk.size, 160_000):
        chunk[start + 1000 : start + 9000] = rng.integers(-8000, 8000, 8000)
    for index in range(int(np.ceil(minutes * 2))):
        yield chunk, [index * 30.0 + 5.0]


@pytest.fixture()
def bursty_noise() -> Callable[..., Chunks]:
    return _bursty_noise
