"""`kws bench frontend`: the JSON figures it promises, and one clear line without the reference."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kws_cli.main import main


def test_bench_json_has_documented_keys(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pymicro_features")
    # the cold start is a whole compile (~25 s here); it has its own tests below
    monkeypatch.setattr("kws_cli.bench.frontend._cold_start_seconds", lambda: 1.5)
    assert main(["bench", "frontend", "--seconds", "2", "--repeats", "1", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) == {"audio_s", "rows", "agreement_vs_tflm", "cold_start_s"}
    assert figures["audio_s"] == 2.0
    assert [(row["name"], row["mode"]) for row in figures["rows"]] == [
        ("kws", "streaming (10 ms chunks)"),
        ("kws", "batch"),
        ("pymicro-features (TFLM C++)", "streaming (10 ms chunks)"),
        ("librosa log-mel (float)", "batch"),
    ]
    for row in figures["rows"]:
        assert set(row) == {"name", "mode", "us_per_hop", "rtf", "ratio_vs_tflm"}
        assert row["us_per_hop"] > 0 and row["rtf"] > 0
    assert figures["rows"][2]["ratio_vs_tflm"] == 1.0
    assert figures["agreement_vs_tflm"]["mean_abs"] <= 1.0
    assert figures["agreement_vs_tflm"]["p99_abs"] <= 4.0
    assert figures["cold_start_s"] == 1.5


def test_the_cold_start_script_times_an_import_and_a_first_call() -> None:
    """The script the cold start runs, here with the suite's warm cache (the empty-cache compile
    itself is tests/frontend/test_first_compile.py's)."""
    from kws_cli.bench.frontend import _COLD_START_SCRIPT

    result = subprocess.run(
        [sys.executable, "-c", _COLD_START_SCRIPT], capture_output=True, text=True, check=True
    )
    assert 0 < float(result.stdout.strip().splitlines()[-1]) < 60


def test_the_cold_start_runs_its_script_with_an_empty_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kws_cli.bench import frontend

    # a fresh, empty cache folder for it, or the script fails
    script = "import os; assert not os.listdir(os.environ['NUMBA_CACHE_DIR']); print(0.25)"
    monkeypatch.setattr(frontend, "_COLD_START_SCRIPT", script)
    assert frontend._cold_start_seconds() == 0.25
    monkeypatch.setattr(frontend, "_COLD_START_SCRIPT", "raise SystemExit('no')")
    with pytest.raises(RuntimeError, match="cold-start subprocess failed: no"):
        frontend._cold_start_seconds()


def test_bench_without_reference_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pymicro_features", None)  # import now fails
    assert main(["bench", "frontend", "--seconds", "2"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "pymicro-features" in error and "Traceback" not in error
