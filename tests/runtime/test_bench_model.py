"""`kws bench model`: MACs per operator by hand, totals that agree with the manifest and with
the firmware simulator's cycles and energy per inference, the JSON keys, and one-line errors.
No timing is asserted (only that every operator got a measured figure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from firmware_sim.energy import ModelCost, Workload, energy
from firmware_sim.profile import load_profile
from firmware_sim.simulator import model_cost
from kws.loading import load_cascade
from kws.tflite_ops import read_graph
from kws_cli.bench.model import profile_bundle
from kws_cli.bench.op_profile import operator_macs
from kws_cli.main import main

MODELS = Path(__file__).resolve().parents[2] / "kws" / "models"
BUNDLE = MODELS / "hey_jarvis"
PROFILE = "smartwatch_300mah"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return profile_bundle(BUNDLE, PROFILE, rounds=1)


def test_macs_of_single_operators_by_hand() -> None:
    tiny = read_graph((BUNDLE / "tiny.tflite").read_bytes())
    full = read_graph((BUNDLE / "full.tflite").read_bytes())
    # tiny stem: CONV_2D, 3 frames x 40 channels in, 24 filters, one output step
    assert operator_macs(tiny, tiny.operators[0]) == 1 * 24 * (3 * 1 * 40)
    # tiny dw0: DEPTHWISE_CONV_2D over 5 steps of 24 channels, one output step
    assert operator_macs(tiny, tiny.operators[2]) == 24 * 5
    # tiny score: FULLY_CONNECTED 32 -> 1
    assert operator_macs(tiny, tiny.operators[9]) == 32
    # full dw0: DEPTHWISE_CONV_2D, 50 steps x 48 channels out, kernel 5x1
    assert operator_macs(full, full.operators[1]) == 50 * 48 * 5
    # full pw3: CONV_2D 1x1, 13 steps, 64 -> 64 channels
    assert operator_macs(full, full.operators[8]) == 13 * 64 * 64
    # no weights, no MACs (the manifest's convention): CONCATENATION, MEAN, STRIDED_SLICE
    for graph, index in ((tiny, 1), (full, 9), (tiny, 10)):
        assert operator_macs(graph, graph.operators[index]) == 0


@pytest.mark.parametrize("bundle", ["hey_jarvis", "alexa"])
def test_operator_macs_add_up_to_the_manifest(bundle: str) -> None:
    manifest = json.loads((MODELS / bundle / "manifest.json").read_text())
    for role, spec in manifest["models"].items():
        graph = read_graph((MODELS / bundle / spec["file"]).read_bytes())
        total = sum(operator_macs(graph, op) for op in graph.operators)
        assert total == spec["macs_per_inference"], role


def test_device_totals_are_the_simulators_per_inference(report: dict[str, Any]) -> None:
    profile = load_profile(PROFILE)
    cascade = load_cascade(BUNDLE)  # with XNNPACK: the count must not include its node
    assert cascade.bundle is not None
    for role in ("tiny", "full"):
        spec = cascade.bundle.models[role]
        totals = report["models"][role]["totals"]
        cost = model_cost(getattr(cascade, role), spec)
        assert cost == ModelCost(spec.macs_per_inference or 0, totals["operators"])
        assert totals["device_cycles"] == pytest.approx(cost.cycles(profile), abs=1e-6)
        # energy: firmware_sim.energy's current for one inference a second, times 1 s and V
        workload = Workload(
            1.0, 0, 1 if role == "tiny" else 0, 1 if role == "full" else 0, cost, cost, wakeups=0
        )
        current_ma = energy(profile, workload).current_ma[role]
        volts = profile.battery.nominal_voltage_v
        assert totals["device_uj"] == pytest.approx(current_ma * volts * 1e3, rel=1e-9)
        operators = report["models"][role]["operators"]
        per_op = sum(op["device_cycles"] for op in operators)
        assert per_op + profile.mcu.inference_overhead_cycles == totals["device_cycles"]
        assert totals["macs"] == spec.macs_per_inference
        assert report["models"][role]["checks"]["macs_agree"] is True


def test_kws_battery_charges_the_models_operators(report: dict[str, Any]) -> None:
    for entry in report["models"].values():
        assert entry["checks"]["cycles_agree"], entry["checks"]


def test_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "model", "--model", "hey_jarvis", "--rounds", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {
        *("bundle", "profile", "mcu", "clock_mhz", "kernels", "rounds", "models"),
        *("cycle_model", "machine", "date"),
    }
    assert report["profile"] == PROFILE and report["kernels"] == "ref"
    assert set(report["models"]) == {"tiny", "full"}
    for entry in report["models"].values():
        assert set(entry) == {
            "file",
            "operators",
            "invoke",
            "totals",
            "checks",
            "invokes_per_timing",
        }
        for op in entry["operators"]:
            assert set(op) == {
                *("index", "op", "output_shape", "macs", "host_us", "host_iqr_us"),
                *("host_se_us", "host_share", "device_cycles", "device_uj"),
            }
        assert set(entry["invoke"]) == {"host_us", "host_share", "device_cycles", "device_uj"}
        assert set(entry["totals"]) == {
            *("operators", "macs", "host_us", "host_operators_us"),
            *("device_cycles", "device_ms", "device_uj"),
        }
        assert set(entry["checks"]) == {
            *("manifest_macs", "macs_agree", "simulator_layers", "simulator_cycles"),
            "cycles_agree",
        }
        assert entry["totals"]["host_us"] > 0  # measured, whatever the figure
    assert set(report["cycle_model"]) == {
        *("cycles_per_mac", "layer_overhead_cycles", "inference_overhead_cycles"),
        *("run_current_ma", "voltage_v"),
    }


def test_table_names_every_operator(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "model", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    for text in ("DEPTHWISE_CONV_2D", "STRIDED_SLICE", "MEAN", "(invoke)", "total, 13 ops"):
        assert text in out


@pytest.mark.parametrize(
    "argv",
    [
        ["--model", "no_such_bundle"],
        ["--model", str(MODELS)],  # a folder without a manifest
        ["--profile", "no_such_profile"],
        ["--rounds", "0"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "model", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kws bench: error: "), captured.err
