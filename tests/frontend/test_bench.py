"""`kws bench frontend`: the JSON figures it promises, and one clear line without the reference."""

from __future__ import annotations

import json
import sys

import pytest

from kws_cli.main import main


def test_bench_json_has_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pymicro_features")
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
    assert figures["cold_start_s"] > 0


def test_bench_without_reference_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pymicro_features", None)  # import now fails
    assert main(["bench", "frontend", "--seconds", "2"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "pymicro-features" in error and "Traceback" not in error
