"""`kws battery`: how long a battery lasts running the cascade, with deadlines and where the
energy goes (firmware_sim)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kws_cli.commands import battery_benchmark, battery_discharge, battery_gate
from kws_cli.commands.battery_output import (
    Progress,
    check_minutes,
    check_plot_path,
    json_line,
    keywords_found,
    plot_result,
    write_plot,
)

DEFAULT_MINUTES = 10.0
MIN_AUDIO_S = 1.0  # shorter audio says nothing about a battery (one sample gave 384 h)
SWEEP_WAKES = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "battery",
        help="simulate battery life, deadlines and energy on a device profile",
        description="Replay audio through the real cascade on a simulated device: battery hours, "
        "response time, missed deadlines, energy per component, memory fit. --microphone puts "
        "another microphone (its power states) on the profile; --gate adds a stage-0 gate before "
        "the tiny model, simulated on the same audio, and reports hours with and without it, "
        "its duty cycle and the keywords it cost.",
    )
    parser.add_argument(
        "--profile",
        default="smartwatch_300mah",
        help="profile name (firmware_sim/power_profiles/) or a .toml path",
    )
    parser.add_argument(
        "--model", type=Path, help="bundle folder or name (kws models; default: hey_jarvis)"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--audio", type=Path, help="an audio file to replay")
    source.add_argument(
        "--scenario",
        choices=("quiet", "office", "tv"),
        help="generated audio to replay instead (default: office)",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        help=f"scenario length (default {DEFAULT_MINUTES:g}; not with --audio, whose length is "
        "the file's)",
    )
    parser.add_argument("--seed", type=int, default=0, help="scenario audio")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--plot",
        type=Path,
        help="write current over time and energy share (PNG; checked before the simulation)",
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="vary the wake threshold: battery hours against false rejects",
    )
    battery_gate.add_arguments(parser)
    battery_benchmark.add_arguments(parser)
    battery_discharge.add_arguments(parser)
    parser.set_defaults(run=run)


def report_dict(
    result: Any,
    baseline: Any,
    as_is: tuple[str, Any],
    keyword_times: list[float] | None,
    gate: dict[str, Any] | None = None,
    microphone_s: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The report ``--json`` prints; ``keyword_times`` None when the audio has no labels (its
    keyword counts are then null, not 0 of 0); ``gate`` the stage-0 gate's figures (None: no
    gate); ``microphone_s`` the seconds the microphone spent in each state (None: listening).
    ``baseline`` is the full model always on with this device's microphone, ``as_is`` (a
    microphone's part, a report) the same with the profile's own microphone (``baseline``
    itself where ``--microphone`` did not replace it)."""

    def pct(q: float) -> float | None:
        value = result.response_percentile_ms(q)
        return None if value is None else round(value, 3)

    report = result.report
    inference_ma = report.current_ma["tiny"] + report.current_ma["full"]
    baseline_inference_ma = baseline.current_ma["tiny"] + baseline.current_ma["full"]
    as_profiled_part, as_profiled = as_is
    return {
        "profile": result.profile.name,
        "battery_hours": round(report.battery_hours, 2),
        "avg_current_ma": round(report.avg_current_ma, 5),
        "response_ms": {
            "p50": pct(50),
            "p99": pct(99),
            "max": round(max(result.response_ms_counts), 3) if result.response_ms_counts else None,
        },
        "detection_response_ms": [round(v, 3) for v in result.detection_response_ms],
        "missed_deadlines": result.missed_deadlines,
        "duty_cycle_full": round(result.counters["duty_cycle_full"], 5),
        "energy_share": {k: round(v, 5) for k, v in report.energy_share.items()},
        "current_ma": {k: round(v, 6) for k, v in report.current_ma.items()},
        "memory": {k: v for k, v in result.memory.items()},
        "baseline_full_always_on": {
            "battery_hours": round(baseline.battery_hours, 2),
            "avg_current_ma": round(baseline.avg_current_ma, 5),
        },
        # the whole device against the profile as it is: its own microphone, the full model
        # always on (the same as baseline_full_always_on without --microphone)
        "baseline_profile_as_is": {
            "microphone": as_profiled_part,
            "battery_hours": round(as_profiled.battery_hours, 2),
            "avg_current_ma": round(as_profiled.avg_current_ma, 5),
        },
        "savings_vs_full_always_on": {
            "system_current_ratio": round(baseline.avg_current_ma / report.avg_current_ma, 3),
            "system_current_ratio_vs_profile_as_is": round(
                as_profiled.avg_current_ma / report.avg_current_ma, 3
            ),
            "inference_energy_ratio": round(baseline_inference_ma / inference_ma, 2)
            if inference_ma
            else None,
        },
        "audio_s": round(result.duration_s, 1),
        "counters": result.counters,
        "keywords": {
            "spoken": None if keyword_times is None else len(keyword_times),
            "detected": None
            if keyword_times is None
            else keywords_found(keyword_times, result.detections),
            "detections": len(result.detections),
        },
        "max_hop_latency_ms": round(result.max_hop_latency_ms, 3),
        "microphone": battery_gate.microphone_dict(result.profile, microphone_s),
        "gate": gate,
    }


def _plot_sweep(rows: list[dict[str, Any]], profile_name: str, path: Path) -> None:
    """Battery hours and false rejects (when the audio is labelled) against the wake threshold
    (one figure, two axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wakes = [row["wake"] for row in rows]
    figure, hours_axis = plt.subplots(figsize=(7, 4))
    hours_axis.plot(wakes, [row["battery_hours"] for row in rows], "o-", color="tab:blue")
    hours_axis.set_xlabel("wake threshold")
    hours_axis.set_ylabel("battery hours", color="tab:blue")
    if rows and rows[0]["false_rejects"] is not None:
        rejects_axis = hours_axis.twinx()
        rejects_axis.plot(wakes, [row["false_rejects"] for row in rows], "s--", color="tab:red")
        rejects_axis.set_ylabel("false rejects (keywords missed)", color="tab:red")
    hours_axis.set_title(f"wake threshold sweep on {profile_name}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _print_sweep(
    args: argparse.Namespace, profile: Any, results: list[Any], keyword_times: list[float] | None
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"wake threshold sweep on {profile.name}")
    columns = ("wake", "battery h", "avg mA", "duty full", "false rejects", "detections")
    for column in columns:
        table.add_column(column, justify="right")
    rows = []
    for wake, result in zip(SWEEP_WAKES, results, strict=True):
        missed = (
            None
            if keyword_times is None
            else len(keyword_times) - keywords_found(keyword_times, result.detections)
        )
        rows.append(
            {
                "wake": wake,
                "battery_hours": round(result.report.battery_hours, 2),
                "false_rejects": missed,
                "keywords": None if keyword_times is None else len(keyword_times),
            }
        )
        table.add_row(
            f"{wake:.2f}",
            f"{result.report.battery_hours:.1f}",
            f"{result.report.avg_current_ma:.4f}",
            f"{result.counters['duty_cycle_full']:.4f}",
            "n/a" if keyword_times is None else f"{missed}/{len(keyword_times)}",
            str(len(result.detections)),
        )
    if args.json:
        print(json_line({"profile": profile.name, "sweep": rows}))
    else:
        if keyword_times is None:
            table.caption = "false rejects n/a: the audio file has no labelled keywords"
        Console().print(table)
    if args.plot:
        write_plot(lambda path: _plot_sweep(rows, profile.name, path), args.plot)


def _print_report(report: dict[str, Any], description: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"kws battery — {description}")
    table.add_column("measure")
    table.add_column("cascade", justify="right")
    table.add_column("full model always on", justify="right")
    table.add_row(
        "battery hours",
        f"{report['battery_hours']:.1f}",
        f"{report['baseline_full_always_on']['battery_hours']:.1f}",
    )
    table.add_row(
        "average current (mA)",
        f"{report['avg_current_ma']:.4f}",
        f"{report['baseline_full_always_on']['avg_current_ma']:.4f}",
    )
    response = report["response_ms"]
    table.add_row(
        "response p50 / p99 / max (ms)",
        f"{response['p50']} / {response['p99']} / {response['max']}",
        "",
    )
    table.add_row("missed deadlines", str(report["missed_deadlines"]), "")
    table.add_row("full-model duty cycle", f"{report['duty_cycle_full']:.4f}", "1.0")
    memory = report["memory"]
    table.add_row(
        "flash / RAM (bytes)",
        f"{memory['flash_bytes']} / {memory['ram_bytes']}",
        "fits" if memory["fits"] else "DOES NOT FIT",
    )
    for name, share in report["energy_share"].items():
        if name != "gate" or report["gate"] is not None:
            table.add_row(f"energy: {name}", f"{100 * share:.2f}%", "")
    savings = report["savings_vs_full_always_on"]
    table.add_row(
        "saving vs full always on",
        f"system {savings['system_current_ratio']}x, "
        f"inference {savings['inference_energy_ratio']}x",
        "",
    )
    as_is = report["baseline_profile_as_is"]
    if as_is["microphone"] != report["microphone"]["part"]:
        table.add_row(
            "saving vs the profile as is (its microphone, full always on)",
            f"system {savings['system_current_ratio_vs_profile_as_is']}x",
            f"{as_is['battery_hours']:.1f} h",
        )
    keywords = report["keywords"]
    if keywords["spoken"] is not None:
        table.add_row("keywords found", f"{keywords['detected']}/{keywords['spoken']}", "")
    for row in battery_gate.table_rows(report):
        table.add_row(*row)
    Console().print(table)


def run(args: argparse.Namespace) -> int:
    from firmware_sim.gate import GatedSimulation
    from firmware_sim.microphone import load_microphone, with_microphone
    from firmware_sim.profile import load_profile
    from firmware_sim.replay import AudioSource
    from firmware_sim.simulator import Simulation, full_always_on
    from kws.defaults import resolve_bundle
    from kws.errors import KwsError
    from kws.loading import load_cascade

    battery_discharge.check(args)
    if args.discharge:
        return battery_discharge.run(args)
    if args.benchmark:
        return battery_benchmark.run(args)
    check_minutes(args.minutes, args.audio)
    gate = battery_gate.gate_config(args)
    if args.plot:
        check_plot_path(args.plot)
    profile = as_profiled = load_profile(args.profile)
    if args.microphone:
        profile = with_microphone(profile, load_microphone(args.microphone))
    model_dir = resolve_bundle(args.model)
    if args.sweep:
        cascades = [load_cascade(model_dir, wake=wake, verifier=False) for wake in SWEEP_WAKES]
    else:
        cascades = [load_cascade(model_dir, verifier=False)]
    # the gated device beside the same device without a gate, on the same audio
    gated = (
        None
        if gate is None
        else GatedSimulation(load_cascade(model_dir, verifier=False), profile, gate)
    )
    source = AudioSource(
        cascades[0].keyword,
        args.audio,
        args.scenario or "office",
        DEFAULT_MINUTES if args.minutes is None else args.minutes,
        args.seed,
        on_warning=lambda warning: print(f"kws battery: warning: {warning}", file=sys.stderr),
    )
    simulations = [Simulation(cascade, profile) for cascade in cascades]
    progress = Progress(source.planned_s)
    try:
        for pcm in source.pcm_chunks():  # one pass, every simulation fed: constant memory
            # the sweep's cascades share the bundle and so its floor: one framing for all
            chunk = simulations[0].frames(pcm)
            for simulation in simulations:
                simulation.feed(chunk)
            if gated is not None:
                gated.feed_pcm(pcm)
            progress.update(source.seconds)
    finally:
        progress.close()
    if source.seconds < MIN_AUDIO_S:
        raise KwsError(
            f"{args.audio} holds {source.seconds:.3f} s of audio; kws battery needs at least "
            f"{MIN_AUDIO_S:g} s to estimate a battery life"
        )
    keyword_times = source.keyword_times if source.labelled else None
    results = [simulation.result() for simulation in simulations]
    if args.sweep:
        _print_sweep(args, profile, results, keyword_times)
        return 0
    result = results[0]
    baseline = full_always_on(cascades[0], profile, result.duration_s)
    as_is = (
        as_profiled.microphone.part,
        baseline
        if as_profiled is profile
        else full_always_on(cascades[0], as_profiled, result.duration_s),
    )
    gate_report, microphone_s = None, None
    if gated is not None:
        plain, result = result, gated.result()
        gate_report = battery_gate.gate_dict(gated, result, plain, keyword_times)
        microphone_s = gated.microphone_s
    report = report_dict(result, baseline, as_is, keyword_times, gate_report, microphone_s)
    if args.json:
        print(json_line(report))
    else:
        _print_report(report, profile.description)
    if args.plot:  # after the report: a failed write does not lose it
        write_plot(lambda path: plot_result(result, path), args.plot)
    return 0
