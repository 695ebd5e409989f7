"""The runtime's tests run without TensorFlow: while each runs, importing it (or the training
stack's other TensorFlow packages) fails, as in an install without the ``[train]`` extra. In a
whole-suite run nothing before these tests imports TensorFlow (their bundle fixture is
committed); when something did (another order of test files), this cannot be checked and the
test says so in a warning."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator

import pytest

TENSORFLOW_PACKAGES = ("tensorflow", "tf_keras", "tensorflow_model_optimization")


@pytest.fixture(autouse=True)
def without_tensorflow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    loaded = [name for name in TENSORFLOW_PACKAGES if name in sys.modules]
    if loaded:
        warnings.warn(
            f"{', '.join(loaded)} imported before this runtime test: its independence from "
            "TensorFlow is not checked in this run",
            stacklevel=1,
        )
    else:
        for name in TENSORFLOW_PACKAGES:
            monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    yield
