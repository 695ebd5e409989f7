"""The cascade's decision policy (``Thresholds``) and the one range check of its fields, for
every source: manifests, microWakeWord configs, ``load_cascade`` overrides and command-line flags.
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass, fields
from numbers import Integral, Real
from typing import Any

from kws.errors import ThresholdError

# Ranges of the Thresholds fields. Beyond them a cascade never detects (a probability above 1),
# or holds a ring buffer of minutes (pre-roll) or stays deaf for minutes (refractory).
PROBABILITY_FIELDS = ("wake", "detect")
COUNT_FIELDS = ("smoothing_frames", "detect_smoothing")
SECONDS_FIELDS = ("wake_window_s", "preroll_s", "refractory_s")
MAX_SMOOTHING_SCORES = 100
MAX_THRESHOLD_SECONDS = 60.0


def threshold_problem(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be the ``Thresholds`` field ``name`` ("must be ..., got ..."), or
    None when it can. The one range check for manifests, microWakeWord configs, overrides and
    command-line flags."""
    shown = reprlib.repr(value)  # a 400-digit number is shown shortened
    if name in COUNT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, Integral):
            return f"must be a whole number of scores 1-{MAX_SMOOTHING_SCORES}, got {shown}"
        if not 1 <= int(value) <= MAX_SMOOTHING_SCORES:
            return f"must be 1-{MAX_SMOOTHING_SCORES} scores, got {shown}"
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        return f"must be a number, got {shown}"
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float is outside every range
        number = math.inf
    if name in PROBABILITY_FIELDS and not (math.isfinite(number) and 0.0 <= number <= 1.0):
        return f"must be a probability between 0 and 1, got {shown}"
    if name in SECONDS_FIELDS and not (
        math.isfinite(number) and 0.0 <= number <= MAX_THRESHOLD_SECONDS
    ):
        return f"must be 0-{MAX_THRESHOLD_SECONDS:g} seconds, got {shown}"
    return None


def check_threshold(name: str, value: Any, label: str | None = None) -> None:
    """Raise ``ThresholdError`` when ``value`` cannot be the ``Thresholds`` field ``name``; the
    message starts with ``label`` (e.g. a command-line flag), by default the field's name.

    Raises:
        ThresholdError: out of range, not finite, or of the wrong type.
    """
    problem = threshold_problem(name, value)
    if problem is not None:
        raise ThresholdError(f"{label or name} {problem}")


@dataclass(frozen=True)
class Thresholds:
    """When the cascade wakes and confirms. Every field is range-checked on construction
    (``threshold_problem``): probabilities in [0, 1], smoothing 1-100 scores, times 0-60 s.

    Raises:
        ThresholdError: a field out of range, not finite, or of the wrong type.
    """

    wake: float
    detect: float
    smoothing_frames: int
    wake_window_s: float
    preroll_s: float
    refractory_s: float
    detect_smoothing: int = 1  # full-model scores averaged for the detect decision

    def __post_init__(self) -> None:
        for threshold in fields(self):
            check_threshold(threshold.name, getattr(self, threshold.name))

    @classmethod
    def from_manifest(cls, values: dict[str, Any], **overrides: Any) -> Thresholds:
        """The thresholds in ``values`` (a manifest's), with ``overrides`` that are not None.

        Raises:
            ThresholdError: an override names no threshold, or a value is out of range.
        """
        unknown = sorted(set(overrides) - set(cls.__dataclass_fields__))
        if unknown:
            raise ThresholdError(
                f"no threshold named {', '.join(unknown)} (known: "
                f"{', '.join(cls.__dataclass_fields__)})"
            )
        merged = {key: values[key] for key in cls.__dataclass_fields__ if key in values}
        merged.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**merged)
