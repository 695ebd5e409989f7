"""`kws export --format c`: the shipped bundle as TFLite Micro sources."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_sim.profile import load_profile
from firmware_sim.simulator import memory_check
from kws import tflite_ops
from kws.defaults import resolve_bundle
from kws.errors import BundleError
from kws.export_c import arena_total, export_c
from kws.loading import load_cascade

BUNDLE = resolve_bundle("hey_jarvis")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return export_c(BUNDLE, tmp_path_factory.mktemp("export") / "hey_jarvis_c")


def _array_bytes(source: str) -> bytes:
    body = source[source.index("{") + 1 : source.index("};")]
    return bytes(int(value, 16) for value in re.findall(r"0x([0-9a-f]{2})", body))


def test_each_model_is_its_tflite_bytes_aligned(exported: list[Path]) -> None:
    names = {path.name for path in exported}
    for role in ("tiny", "full"):
        assert {f"hey_jarvis_{role}_model.h", f"hey_jarvis_{role}_model.cc"} <= names
        source = (exported[0].parent / f"hey_jarvis_{role}_model.cc").read_text()
        payload = (BUNDLE / f"{role}.tflite").read_bytes()
        assert "alignas(16)" in source
        assert _array_bytes(source) == payload
        assert f"_model_len = {len(payload)};" in source


def test_every_operator_has_a_tflm_kernel_and_is_registered(exported: list[Path]) -> None:
    for role in ("tiny", "full"):
        ops = tflite_ops.operator_names((BUNDLE / f"{role}.tflite").read_bytes())
        assert ops and "DELEGATE" not in ops
        assert tflite_ops.unsupported_by_tflm(ops) == []
        header = (exported[0].parent / f"hey_jarvis_{role}_model.h").read_text()
        registered = re.findall(r"\(resolver\)\.(\w+)\(\);", header)
        assert registered == [tflite_ops.TFLM_RESOLVER_METHODS[op] for op in ops]
        assert f"_{role.upper()}_OP_COUNT {len(ops)}" in header


def test_the_arena_is_what_the_memory_check_adds_up(exported: list[Path]) -> None:
    cascade = load_cascade(BUNDLE)
    check = memory_check(cascade, load_profile("smartwatch_300mah"))
    assert arena_total(exported) == check["detail"]["arena_bytes"] > 0
    assert check["fits"]


def test_the_cascade_header_carries_the_bundle_s_noise_floor(exported: list[Path]) -> None:
    header = next(p for p in exported if p.name.endswith("cascade.h")).read_text()
    rms = float(re.search(r"NOISE_FLOOR_RMS ([0-9.]+)f", header).group(1))  # type: ignore[union-attr]
    assert rms == pytest.approx(32768 * 10 ** (-60 / 20), rel=1e-6)  # the manifest's -60 dBFS


def test_io_positions_follow_the_subgraph_order(exported: list[Path]) -> None:
    inputs, outputs = tflite_ops.io_tensors((BUNDLE / "tiny.tflite").read_bytes())
    header = (exported[0].parent / "hey_jarvis_tiny_model.h").read_text()
    position = int(re.search(r"TINY_INPUT_FEATURES (\d+)", header).group(1))  # type: ignore[union-attr]
    cascade = load_cascade(BUNDLE)
    assert cascade.tiny is not None and cascade.bundle is not None
    features_index = next(
        entry.index for entry in cascade.bundle.models["tiny"].inputs if entry.name == "features"
    )
    assert inputs[position] == features_index
    assert len(outputs) == 4  # three states and the score


@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler here")
def test_the_model_sources_compile(exported: list[Path], tmp_path: Path) -> None:
    for source in [p for p in exported if p.name.endswith("_model.cc")]:
        subprocess.run(
            [
                "g++",
                "-std=c++17",
                "-Wall",
                "-Werror",
                "-c",
                str(source),
                "-o",
                str(tmp_path / "m.o"),
            ],
            check=True,
        )


def test_a_folder_with_files_is_refused_untouched(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(BundleError, match="not empty"):
        export_c(BUNDLE, mine)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no staging left behind


def test_an_empty_folder_is_filled(tmp_path: Path) -> None:
    paths = export_c(BUNDLE, tmp_path)
    assert {p.parent for p in paths} == {tmp_path} and len(paths) == 6


def test_the_command_prints_what_it_wrote(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kws", "export", "hey_jarvis", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 6
    again = subprocess.run(
        [sys.executable, "-m", "kws", "export", "hey_jarvis", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and again.stderr.count("\n") == 1


def test_every_tflm_operator_has_a_code() -> None:
    assert set(tflite_ops.TFLM_RESOLVER_METHODS) <= set(tflite_ops.BUILTIN_NAMES.values())


def test_a_file_that_is_not_tflite_is_one_error() -> None:
    with pytest.raises(BundleError, match="not a TFLite model"):
        tflite_ops.operator_names(b"\x00" * 64)
    with pytest.raises(BundleError, match="outside the file"):
        tflite_ops.operator_names(b"\xff\xff\x00\x00TFL3" + b"\x00" * 8)
