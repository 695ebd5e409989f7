"""`kws bench model`: a per-operator profile of a bundle's models (tiny and full), so the next
optimisation starts from the bottleneck.

Each operator of each model, in execution order, with its output shape, its MACs (from the
tensors' shapes, read from the flatbuffer), its host time (measured on LiteRT: the model cut
after each operator, timed in rounds; an operator's time is the median difference between the
cuts before and after it), and its device cycles and energy on a power profile, by the
firmware simulator's own cycle model applied per operator: MACs x cycles_per_mac +
layer_overhead_cycles, and inference_overhead_cycles once per invoke. Totals are checked
against the manifest's macs_per_inference and against what kws battery charges per inference
(firmware_sim.simulator.model_cost); a disagreement is printed.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kws.errors import KwsError
from kws_cli.bench.op_profile import DEFAULT_KERNELS, DEFAULT_ROUNDS, KERNELS

if TYPE_CHECKING:
    from kws.manifest import ModelSpec

DEFAULT_PROFILE = "smartwatch_300mah"
ROLES = ("tiny", "full")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "model",
        help="per-operator MACs, host time and device cycles/energy of a bundle's models",
        description=__doc__,
    )
    parser.add_argument(
        "--model", type=Path, help="bundle folder or name (kws models; default: hey_jarvis)"
    )
    parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        help="power profile name (firmware_sim/power_profiles/) or a .toml path "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--kernels",
        choices=tuple(KERNELS),
        default=DEFAULT_KERNELS,
        help="LiteRT kernels the host time is measured on: ref (TFLite's reference kernels, the "
        "portable loops TFLM's reference kernels share), builtin (optimized, no XNNPACK), "
        "xnnpack (what kws detect runs) (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help="timing rounds over every cut of the model; medians are reported "
        "(default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print the profile as JSON")
    parser.set_defaults(run_target=run)


def _device(cycles: float, profile: Any) -> dict[str, float]:
    """Cycles, and the energy (uJ) the MCU draws from the battery running them: run current
    at the battery's nominal voltage for cycles / clock seconds."""
    mcu = profile.mcu
    seconds = cycles / (mcu.clock_mhz * 1e6)
    return {
        "device_cycles": cycles,
        "device_uj": seconds * mcu.run_current_ma * profile.battery.nominal_voltage_v * 1e3,
    }


def profile_model(
    payload: bytes, spec: ModelSpec, profile: Any, kernels: str, rounds: int
) -> dict[str, Any]:
    """The profile of one model: its operators, its invoke overhead and its totals (the
    ``models.<role>`` object of ``--json``; ``checks`` is filled by ``profile_bundle``)."""
    from kws.tflite_ops import read_graph
    from kws_cli.bench.op_profile import operator_macs, time_operators

    graph = read_graph(payload)
    host = time_operators(payload, kernels, rounds, graph=graph)
    mcu = profile.mcu
    operators: list[dict[str, Any]] = []
    for operator, host_us, iqr_us, se_us in zip(
        graph.operators, host.operator_us, host.operator_iqr_us, host.operator_se_us, strict=True
    ):
        macs = operator_macs(graph, operator)
        operators.append(
            {
                "index": operator.index,
                "op": operator.name,
                "output_shape": list(graph.tensor(operator.outputs[0]).shape)
                if operator.outputs
                else [],
                "macs": macs,
                "host_us": host_us,
                "host_iqr_us": iqr_us,
                "host_se_us": se_us,
                "host_share": host_us / host.whole_us if host.whole_us > 0 else 0.0,
                **_device(macs * mcu.cycles_per_mac + mcu.layer_overhead_cycles, profile),
            }
        )
    invoke: dict[str, Any] = {
        "host_us": host.invoke_us,
        "host_share": host.invoke_us / host.whole_us if host.whole_us > 0 else 0.0,
        **_device(mcu.inference_overhead_cycles, profile),
    }
    device_cycles = sum(op["device_cycles"] for op in operators) + invoke["device_cycles"]
    return {
        "file": spec.file,
        "operators": operators,
        "invoke": invoke,
        "totals": {
            "operators": len(operators),
            "macs": sum(op["macs"] for op in operators),
            "host_us": host.whole_us,
            "host_operators_us": sum(op["host_us"] for op in operators),
            "device_cycles": device_cycles,
            "device_ms": device_cycles / (mcu.clock_mhz * 1e3),
            "device_uj": sum(op["device_uj"] for op in operators) + invoke["device_uj"],
        },
        "invokes_per_timing": host.invokes_per_timing,
    }


def _checks(
    entry: dict[str, Any], payload: bytes, spec: ModelSpec, scale: float, profile: Any
) -> None:
    """Compare the totals with the manifest's MACs and with the cycles per inference the
    simulator charges for the model as ``kws battery`` loads it (``load_cascade``'s default)."""
    from firmware_sim.simulator import model_cost
    from kws.model import TfliteModel

    simulator = model_cost(TfliteModel(payload, spec, scale), spec)
    totals = entry["totals"]
    manifest_macs = spec.macs_per_inference or 0
    entry["checks"] = {
        "manifest_macs": manifest_macs,
        "macs_agree": totals["macs"] == manifest_macs,
        "simulator_layers": simulator.layers,
        "simulator_cycles": simulator.cycles(profile),
        "cycles_agree": abs(totals["device_cycles"] - simulator.cycles(profile)) < 0.5,
    }


def profile_bundle(
    bundle_dir: Path,
    profile_name: str,
    kernels: str = DEFAULT_KERNELS,
    rounds: int = DEFAULT_ROUNDS,
) -> dict[str, Any]:
    """The whole ``--json`` report for the bundle at ``bundle_dir`` on profile ``profile_name``.

    Raises:
        BundleError: not a loadable bundle. ProfileError: no such profile.
        KwsError: bad ``kernels`` or ``rounds``.
    """
    from firmware_sim.profile import load_profile
    from kws.bundle import read_bundle, read_model
    from kws_cli.bench.frontend import machine_name

    if rounds < 1:
        raise KwsError("--rounds must be at least 1")
    profile = load_profile(profile_name)
    bundle = read_bundle(bundle_dir)
    models: dict[str, Any] = {}
    for role in ROLES:
        spec = bundle.models.get(role)
        if spec is None:
            continue
        payload = read_model(bundle_dir, role, spec)
        entry = profile_model(payload, spec, profile, kernels, rounds)
        _checks(entry, payload, spec, bundle.feature_scale, profile)
        models[role] = entry
    mcu = profile.mcu
    return {
        "bundle": bundle_dir.name,
        "profile": profile.name,
        "mcu": mcu.part,
        "clock_mhz": mcu.clock_mhz,
        "kernels": kernels,
        "rounds": rounds,
        "models": models,
        "cycle_model": {
            "cycles_per_mac": mcu.cycles_per_mac,
            "layer_overhead_cycles": mcu.layer_overhead_cycles,
            "inference_overhead_cycles": mcu.inference_overhead_cycles,
            "run_current_ma": mcu.run_current_ma,
            "voltage_v": profile.battery.nominal_voltage_v,
        },
        "machine": f"{machine_name()}, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
    }


def _us(value: float) -> str:
    """Microseconds to the precision the figure carries and the column holds."""
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _print(report: dict[str, Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for role, entry in report["models"].items():
        totals = entry["totals"]
        table = Table(
            title=f"{report['bundle']} {role} ({entry['file']}) on {report['profile']}: "
            f"host LiteRT {report['kernels']} kernels, device {report['mcu']} "
            f"@ {report['clock_mhz']:g} MHz",
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
            collapse_padding=True,
            pad_edge=False,
        )
        for column in ("#", "op", "output"):  # 80 columns hold the longest names whole
            table.add_column(column, no_wrap=True)
        for column in ("MACs", "host\nus", "±\nus", "host\n%", "device\ncycles", "device\nuJ"):
            table.add_column(column, justify="right", no_wrap=True)
        for op in entry["operators"]:
            table.add_row(
                str(op["index"]),
                op["op"],
                "x".join(str(n) for n in op["output_shape"]),
                f"{op['macs']:,}",
                _us(op["host_us"]),
                _us(op["host_se_us"]),
                f"{100 * op['host_share']:.1f}",
                f"{op['device_cycles']:,.0f}",
                f"{op['device_uj']:.3f}",
            )
        invoke = entry["invoke"]
        table.add_row(
            "",
            "(invoke)",
            "",
            "",
            _us(invoke["host_us"]),
            "",
            f"{100 * invoke['host_share']:.1f}",
            f"{invoke['device_cycles']:,.0f}",
            f"{invoke['device_uj']:.3f}",
            end_section=True,
        )
        table.add_row(
            "",
            f"total, {totals['operators']} ops",
            "",
            f"{totals['macs']:,}",
            _us(totals["host_us"]),
            "",
            "100.0",
            f"{totals['device_cycles']:,.0f}",
            f"{totals['device_uj']:.3f}",
        )
        console.print(table)
        checks = entry["checks"]
        console.print(
            f"{role}: MACs {totals['macs']:,} vs manifest {checks['manifest_macs']:,}: "
            f"{'agree' if checks['macs_agree'] else 'DISAGREE'}; device "
            f"{totals['device_cycles']:,.0f} cycles ({totals['device_ms']:.3f} ms) vs "
            f"kws battery's {checks['simulator_cycles']:,.0f} "
            f"({checks['simulator_layers']} layers): "
            f"{'agree' if checks['cycles_agree'] else 'DISAGREE'}"
        )
    model = report["cycle_model"]
    console.print(
        "host us: the model cut after each op, timed on LiteRT; the op's time is the median over "
        f"{report['rounds']} rounds of the difference between the cuts before and after it "
        "(±: the median's standard error, from the interquartile range; a negative value is "
        "noise around a tiny op); (invoke): the model with no op; total: the whole model; "
        "host % of that total."
    )
    console.print(
        "device: the simulator's cycle model (one figure for every op kind, applied per op): "
        f"MACs x {model['cycles_per_mac']:g} + {model['layer_overhead_cycles']:g} cycles per op, "
        f"{model['inference_overhead_cycles']:g} per invoke; so an op without MACs (MEAN, "
        "CONCATENATION, STRIDED_SLICE) costs only the overhead, whatever it moves. uJ: "
        f"{model['run_current_ma']:g} mA at {model['voltage_v']:g} V for cycles / clock."
    )
    console.print(f"Machine: {report['machine']}, {report['date']}")


def run(args: argparse.Namespace) -> int:
    from kws.defaults import resolve_bundle
    from kws_cli.commands.battery_output import json_line

    report = profile_bundle(resolve_bundle(args.model), args.profile, args.kernels, args.rounds)
    if args.json:
        print(json_line(report))
    else:
        _print(report)
    return 0
