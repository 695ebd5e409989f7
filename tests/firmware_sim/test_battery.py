"""`kws battery` at the edges of its inputs: bad lengths, unlabelled audio, a bad --plot path,
non-finite figures, and runs far longer than memory would hold."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from kws_cli.commands import battery, battery_output
from kws_cli.main import main

CHUNK_SAMPLES = 30 * 16000


def _noise_chunks(scenario, keyword, minutes, seed=0) -> Iterator[tuple[np.ndarray, list[float]]]:  # type: ignore[no-untyped-def]
    """A stand-in for the generated scenarios: 30 s noise chunks, no speech synthesis."""
    rng = np.random.default_rng(seed)
    for _ in range(int(np.ceil(minutes * 2))):
        yield rng.integers(-300, 300, CHUNK_SAMPLES, dtype=np.int16), []


@pytest.fixture()
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any audio generated is a failure: the refusal must come before the simulation."""

    def refuse(*args: object) -> Iterator[tuple[np.ndarray, list[float]]]:
        raise AssertionError("the simulation started")
        yield  # a generator, like the real one

    monkeypatch.setattr("firmware_sim.scenarios.generate", refuse)


def _battery(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["battery", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--minutes", "nan"], "--minutes must be a positive number of minutes, got nan"),
        (["--minutes", "inf"], "--minutes must be a positive number of minutes, got inf"),
        (["--minutes", "-1"], "--minutes must be a positive number of minutes, got -1.0"),
        (["--audio", "NOISE", "--minutes", "60"], "--minutes sets the length of a generated"),
        (["--plot", "TMP"], "is a directory; name a file"),
        (["--plot", "TMP/missing/plot.png"], "there is no folder"),
        (["--plot", "TMP/plot.txt"], "cannot write .txt images"),
    ],
)
def test_bad_lengths_and_plot_paths_are_refused_before_simulating(
    args: list[str],
    message: str,
    random_bundle: Path,
    noise_wav: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_simulation: None,
) -> None:
    args = [a.replace("NOISE", str(noise_wav)).replace("TMP", str(tmp_path)) for a in args]
    code, out, err = _battery(capsys, "--model", str(random_bundle), *args)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("kws battery: error: ")
    assert message in err


def test_audio_shorter_than_a_second_is_refused(
    random_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one_sample = tmp_path / "one.wav"
    soundfile.write(one_sample, np.zeros(1, np.int16), 16000)
    code, out, err = _battery(capsys, "--model", str(random_bundle), "--audio", str(one_sample))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"kws battery: error: {one_sample} holds 0.000 s of audio; kws battery needs at least "
        "1 s to estimate a battery life"
    ]


def test_sweep_on_unlabelled_audio_reports_no_false_reject_figure(
    random_bundle: Path, noise_wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ("--model", str(random_bundle), "--audio", str(noise_wav), "--sweep")
    code, out, _ = _battery(capsys, *common, "--json")
    assert code == 0
    rows = json.loads(out)["sweep"]
    assert rows and all(r["false_rejects"] is None and r["keywords"] is None for r in rows)
    code, out, _ = _battery(capsys, *common)
    assert code == 0
    assert "n/a" in out and "no labelled keywords" in out and "0/0" not in out
    code, out, _ = _battery(
        capsys, "--model", str(random_bundle), "--audio", str(noise_wav), "--json"
    )
    assert json.loads(out)["keywords"] == {"spoken": None, "detected": None, "detections": 0}


def test_a_figure_that_is_not_finite_is_refused_not_printed_as_infinity(
    random_bundle: Path, noise_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from firmware_sim.profile import PROFILE_DIR

    huge = tmp_path / "huge.toml"
    text = (PROFILE_DIR / "smartwatch_300mah.toml").read_text()
    # a quiet microphone keeps the current under 1 mA whatever the untrained models do (the
    # random bundle's full model may be awake all the time), so the hours overflow
    text = text.replace("capacity_mah = 300.0", "capacity_mah = 1.7e308")
    huge.write_text(text.replace("current_ma = 0.65 ", "current_ma = 0.001 "))
    args = ("--model", str(random_bundle), "--audio", str(noise_wav), "--profile", str(huge))
    code, out, err = _battery(capsys, *args, "--json")
    assert code == 2 and "Infinity" not in out and out == ""
    assert len(err.splitlines()) == 1 and "not a finite number" in err


def test_a_failed_plot_write_keeps_the_report(
    random_bundle: Path,
    noise_wav: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def disk_full(result: object, path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(battery, "plot_result", disk_full)
    args = ("--model", str(random_bundle), "--audio", str(noise_wav), "--json")
    code, out, err = _battery(capsys, *args, "--plot", str(tmp_path / "plot.png"))
    assert code == 2
    assert json.loads(out)["audio_s"] == pytest.approx(3.0, abs=0.1)
    assert err.splitlines() == [
        f"kws battery: error: --plot {tmp_path / 'plot.png'}: No space left on device"
    ]


def _peak_bytes(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    tracemalloc.start()
    try:
        code, out, err = _battery(capsys, *args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0, err
    return peak, out, err


def test_long_runs_keep_memory_constant_and_show_progress_on_stderr(
    random_bundle: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("firmware_sim.scenarios.generate", _noise_chunks)
    monkeypatch.setattr(battery_output, "PROGRESS_EVERY_S", {True: 0.0, False: 0.0})
    model = ("--model", str(random_bundle), "--json")
    _battery(capsys, *model, "--minutes", "0.5")  # imports and compilations out of the way
    short_peak, out, err = _peak_bytes(capsys, *model, "--minutes", "2")
    assert "simulated" not in err  # a short run in a log: no progress lines
    # 20 minutes: 120,000 hops, whose features alone (80 bytes a hop) took 9.6 MB when kept
    long_peak, out, err = _peak_bytes(capsys, *model, "--minutes", "20")
    assert long_peak - short_peak < 2_000_000, (short_peak, long_peak)
    assert json.loads(out)["audio_s"] == pytest.approx(1200.0, abs=0.1)  # stdout: the JSON only
    progress = [line for line in err.splitlines() if "simulated" in line]
    assert progress and progress[-1] == "kws battery: simulated 20.0 of 20.0 min of audio"
