"""Property tests: whatever bytes or JSON arrive, the readers either succeed or raise the
user-facing error, never anything else. Bounded so the suite stays fast; the example counts are
in docs/RELIABILITY.md."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from firmware_sim.profile import PROFILE_DIR, Profile, load_profile
from kws.audio import read_audio
from kws.bundle import read_bundle
from kws.cascade import Cascade
from kws.errors import AudioError, BundleError, ProfileError
from kws.loading import load_cascade
from kws.mww import load_microwakeword

WAV_EXAMPLES = 150
MANIFEST_EXAMPLES = 150
MWW_CONFIG_EXAMPLES = 150
MWW_BYTES_EXAMPLES = 150
PROFILE_EXAMPLES = 200
COMPRESSED_EXAMPLES = 100  # per format: FLAC, Ogg Vorbis
DEADLINE_MS = 5000  # a case that takes longer is a hang


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
# byte 20 (the format code) set to 64 on a 45-byte cut: libsndfile opens a format it cannot
# seek in, and the position a damaged block is re-read from could not be told
@example(cut=45, flips=[(20, 64)], junk=b"")
def test_wav_reader_never_crashes(cut: int, flips: list[tuple[int, int]], junk: bytes) -> None:
    _read_damaged(VALID_WAV, "fuzz.wav", cut, flips, junk)


def _read_damaged(
    valid: bytes, name: str, cut: int, flips: list[tuple[int, int]], junk: bytes
) -> None:
    payload = bytearray(valid[:cut])
    for position, value in flips:
        if position < len(payload):
            payload[position] = value
    payload += junk
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(bytes(payload))
        try:
            pcm, warnings = read_audio(path)
        except AudioError:
            return
        assert pcm.dtype == np.int16 and pcm.ndim == 1
        assert all(isinstance(w, str) for w in warnings)


def _valid_compressed(format_name: str, suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"a{suffix}"
        pcm = (np.sin(np.arange(4000) / 5) * 8000).astype(np.int16)
        soundfile.write(path, pcm, 16000, format=format_name)
        return path.read_bytes()


VALID_FLAC = _valid_compressed("FLAC", ".flac")
VALID_OGG = _valid_compressed("OGG", ".ogg")


@pytest.mark.parametrize(("valid", "name"), [(VALID_FLAC, "fuzz.flac"), (VALID_OGG, "fuzz.ogg")])
def test_flac_and_ogg_readers_never_crash(valid: bytes, name: str) -> None:
    """Flips land in the first 200 bytes: FLAC's stream info, Ogg's first page (the Vorbis
    identification header) and the start of the next."""

    @settings(max_examples=COMPRESSED_EXAMPLES, deadline=DEADLINE_MS)
    # byte 21 set to 114 on a 42-byte cut: FLAC's stream info claims 8.6 billion samples, and
    # the reader allocated them all (32 GiB) before decoding
    @example(cut=42, flips=[(21, 114)], junk=b"")
    @given(
        cut=st.integers(0, len(valid)),
        flips=st.lists(
            st.tuples(st.integers(0, min(200, len(valid) - 1)), st.integers(0, 255)), max_size=8
        ),
        junk=st.binary(max_size=64),
    )
    def damage_and_read(cut: int, flips: list[tuple[int, int]], junk: bytes) -> None:
        _read_damaged(valid, name, cut, flips, junk)

    damage_and_read()


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
            read_bundle(bundle)
            cascade = load_cascade(bundle)
        except BundleError:
            return
        cascade.process(np.zeros(4000, np.int16))

    try:
        mutate_and_load()
    finally:
        shutil.rmtree(folder)


# -- microWakeWord configs ---------------------------------------------------------------------

HOSTILE_MODEL_NAMES = st.sampled_from(
    ["m.tflite", "/dev/zero", "/etc/shadow", "../outside.tflite", "link", "fifo", "", ".", "zero"]
)
MWW_VALID = {
    "type": "micro",
    "wake_word": "Test Word",
    "model": "m.tflite",
    "micro": {"probability_cutoff": 0.9, "sliding_window_size": 5},
}
ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities too: Python's json writes and reads them
    | st.text(max_size=12)
    | HOSTILE_MODEL_NAMES,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


def _mww_folder(random_bundle: Path) -> Path:
    """A config folder whose neighbours are traps: a FIFO, a link out, a link to /dev/zero."""
    root = Path(tempfile.mkdtemp())
    folder = root / "config"
    folder.mkdir()
    shutil.copy(random_bundle / "full.tflite", folder / "m.tflite")
    shutil.copy(random_bundle / "full.tflite", root / "outside.tflite")
    os.mkfifo(folder / "fifo")
    (folder / "link").symlink_to(root / "outside.tflite")
    (folder / "zero").symlink_to("/dev/zero")
    return folder


def _load_config_bounded(config: Path, traps: list[Path]) -> None:
    """Load ``config``: a Cascade or BundleError, and none of ``traps`` ever opened (a FIFO
    would hang, /dev/zero read forever)."""
    forbidden = {os.path.realpath(trap) for trap in traps}

    def guard(real: Any) -> Any:
        def opener(file: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(file, (str, os.PathLike)) and os.path.realpath(file) in forbidden:
                raise AssertionError(f"{file} was opened")
            return real(file, *args, **kwargs)

        return opener

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(io, "open", guard(io.open))
        patch.setattr(os, "open", guard(os.open))
        try:
            cascade = load_microwakeword(config)
        except BundleError:
            return
    assert isinstance(cascade, Cascade)
    assert 0 <= cascade.thresholds.detect <= 1
    cascade.process(np.zeros(4000, np.int16))


def test_microwakeword_config_reader_never_crashes(random_bundle: Path) -> None:
    folder = _mww_folder(random_bundle)
    traps = [
        folder / "fifo",
        Path("/dev/zero"),
        Path("/etc/shadow"),
        folder.parent / "outside.tflite",
    ]
    paths = [p for p in _paths(MWW_VALID) if p]

    @settings(max_examples=MWW_CONFIG_EXAMPLES, deadline=DEADLINE_MS)
    @given(
        model=st.just("m.tflite") | HOSTILE_MODEL_NAMES,  # the real model half the time
        index=st.integers(0, len(paths) - 1),
        value=ANY_JSON,
        delete=st.booleans(),
        whole=st.sampled_from([False] * 4 + [True]),  # one case in five: all random JSON
    )
    def mutate_and_load(model: str, index: int, value: object, delete: bool, whole: bool) -> None:
        edited: Any = {**json.loads(json.dumps(MWW_VALID)), "model": model}
        if whole:
            edited = value
        else:
            *parents, last = paths[index]
            target = edited
            for key in parents:
                target = target[key]
            if delete:
                target.pop(last, None)
            else:
                target[last] = value
        (folder / "c.json").write_text(json.dumps(edited))
        _load_config_bounded(folder / "c.json", traps)

    try:
        mutate_and_load()
    finally:
        shutil.rmtree(folder.parent)


def test_microwakeword_config_bytes_never_crash(random_bundle: Path) -> None:
    folder = _mww_folder(random_bundle)
    valid = json.dumps(MWW_VALID).encode()

    @settings(max_examples=MWW_BYTES_EXAMPLES, deadline=DEADLINE_MS)
    @given(
        payload=st.binary(max_size=512)
        | st.builds(lambda cut, junk: valid[:cut] + junk, st.integers(0, len(valid)), st.binary())
    )
    def write_and_load(payload: bytes) -> None:
        (folder / "c.json").write_bytes(payload)
        _load_config_bounded(folder / "c.json", [folder / "fifo", Path("/dev/zero")])

    try:
        write_and_load()
    finally:
        shutil.rmtree(folder.parent)


# -- power profiles ----------------------------------------------------------------------------

TOML_VALUES = (
    st.sampled_from(["inf", "-inf", "nan", "+nan", "1e308", "1e309", "-0.0", "0", "true"])
    | st.integers(-(10**6), 10**6).map(str)
    | st.integers(10**300, 10**400).map(str)  # TOML integers: Python reads them unbounded
    | st.just("1" * 5000)  # past Python's 4,300-digit limit on reading an integer
    | st.floats().map(repr)
    | st.text(max_size=8).map(json.dumps)
    | st.sampled_from(["[1, 2]", "{ a = 1 }", "1979-05-27", '""', "[]"])
)


def _toml(raw: dict[str, Any], replaced: dict[tuple[str, ...], str | None]) -> str:
    """``raw`` written back as TOML, each key path in ``replaced`` given that literal (or, for
    None, left out)."""

    def literal(path: tuple[str, ...], value: Any) -> str | None:
        if path in replaced:
            return replaced[path]
        return json.dumps(value) if isinstance(value, str) else repr(value)

    lines = []
    for key, value in raw.items():
        if not isinstance(value, dict) and (text := literal((key,), value)) is not None:
            lines.append(f"{key} = {text}")
    for section, values in raw.items():
        if isinstance(values, dict):
            lines.append(f"[{section}]")
            for key, value in values.items():
                if (text := literal((section, key), value)) is not None:
                    lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def test_power_profile_reader_never_crashes(tmp_path: Path) -> None:
    raw = tomllib.loads((PROFILE_DIR / "smartwatch_300mah.toml").read_text())
    paths = [
        (section, key)
        for section, values in raw.items()
        if isinstance(values, dict)
        for key in values
    ] + [(key,) for key, value in raw.items() if not isinstance(value, dict)]
    path = tmp_path / "fuzz.toml"

    @settings(max_examples=PROFILE_EXAMPLES, deadline=DEADLINE_MS)
    @given(
        edits=st.dictionaries(
            st.sampled_from(paths), st.none() | TOML_VALUES, min_size=1, max_size=3
        )
    )
    def edit_and_load(edits: dict[tuple[str, ...], str | None]) -> None:
        path.write_text(_toml(raw, edits))
        try:
            profile = load_profile(path)
        except ProfileError:
            return
        assert isinstance(profile, Profile)

    edit_and_load()
