"""Property tests: whatever bytes or JSON arrive, the readers either succeed or raise the
user-facing error, never anything else. Bounded so the suite stays fast; the example counts are
in docs/RELIABILITY.md."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kws.audio import read_audio
from kws.bundle import load_manifest
from kws.cascade import load_cascade
from kws.errors import AudioError, BundleError

WAV_EXAMPLES = 150
MANIFEST_EXAMPLES = 150


def _valid_wav() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.wav"
        soundfile.write(path, (np.sin(np.arange(1600) / 5) * 8000).astype(np.int16), 16000)
        return path.read_bytes()


VALID_WAV = _valid_wav()


@settings(
    max_examples=WAV_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    cut=st.integers(0, len(VALID_WAV)),
    flips=st.lists(st.tuples(st.integers(0, len(VALID_WAV) - 1), st.integers(0, 255)), max_size=8),
    junk=st.binary(max_size=64),
)
def test_wav_reader_never_crashes(cut: int, flips: list[tuple[int, int]], junk: bytes) -> None:
    payload = bytearray(VALID_WAV[:cut])
    for position, value in flips:
        if position < len(payload):
            payload[position] = value
    payload += junk
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.wav"
        path.write_bytes(bytes(payload))
        try:
            pcm, warnings = read_audio(path)
        except AudioError:
            return
        assert pcm.dtype == np.int16 and pcm.ndim == 1
        assert all(isinstance(w, str) for w in warnings)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*prefix, index))
    return out


def test_manifest_reader_never_crashes(random_bundle: Path) -> None:
    manifest = json.loads((random_bundle / "manifest.json").read_text())
    paths = [p for p in _paths(manifest) if p]
    folder = Path(tempfile.mkdtemp())
    bundle = folder / "b"
    shutil.copytree(random_bundle, bundle)

    @settings(max_examples=MANIFEST_EXAMPLES, deadline=None)
    @given(index=st.integers(0, len(paths) - 1), value=JSON_VALUES, delete=st.booleans())
    def mutate_and_load(index: int, value: object, delete: bool) -> None:
        edited = json.loads(json.dumps(manifest))
        *parents, last = paths[index]
        target = edited
        for key in parents:
            target = target[key]
        if delete and isinstance(target, dict):
            target.pop(last, None)
        else:
            target[last] = value
        (bundle / "manifest.json").write_text(json.dumps(edited))
        try:
            load_manifest(bundle)
            cascade = load_cascade(bundle)
        except BundleError:
            return
        cascade.process(np.zeros(4000, np.int16))

    try:
        mutate_and_load()
    finally:
        shutil.rmtree(folder)
