"""`kws battery --benchmark sww`: MLPerf Tiny's streaming wake-word test on a simulated device,
beside the published MLPerf rows (firmware_sim/benchmark.py, benchmark_report.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

BENCHMARKS = ("sww",)
# flags that choose or shape other audio; the benchmark's audio is its own
NOT_WITH_BENCHMARK = (("audio", "--audio"), ("scenario", "--scenario"), ("minutes", "--minutes"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--benchmark``."""
    parser.add_argument(
        "--benchmark",
        choices=BENCHMARKS,
        help="sww: MLPerf Tiny's streaming wake-word test (20 min of speech and music, 50 "
        "keywords in held-out voices; pass at <= 8 misses and <= 8 false accepts), with "
        "power, duty cycle and energy per inference beside the published MLPerf rows; "
        "--seed sets the audio",
    )


def check(args: argparse.Namespace) -> None:
    """Raises KwsError: a flag the benchmark cannot honour."""
    from kws.errors import KwsError

    for name, flag in NOT_WITH_BENCHMARK:
        if getattr(args, name) is not None:
            raise KwsError(f"{flag} is not available with --benchmark (it builds its own audio)")
    if args.sweep:
        raise KwsError("--sweep is not available with --benchmark")


def _print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    keywords, power = report["keywords"], report["power_mw"]
    verdict = "PASSES" if report["passes"] else "FAILS"
    table = Table(
        title=f"streaming wake word (MLPerf Tiny format) on {report['profile']}: {verdict} "
        f"(<= {report['pass_bar']['max_misses']} misses, "
        f"<= {report['pass_bar']['max_false_accepts']} false accepts)"
    )
    columns = ("system", "found", "FA", "mW no mic", "mW + mic", "duty", "uJ/inference")
    for column in columns:
        table.add_column(column, justify="left" if column == "system" else "right")
    energy = report["energy_per_inference_uj"]
    gate = f", gate {report['gate']}" if report["gate"] else ""
    table.add_row(
        f"kws{gate}",
        f"{keywords['found']}/{keywords['spoken']}",
        str(report["false_accepts"]),
        f"{power['without_microphone']:.3f}",
        f"{power['with_microphone']:.3f}",
        f"{100 * report['duty_cycle']['mcu_active']:.1f}%",
        f"{energy['tiny']:.2f} tiny, {energy['full']:.1f} full",
    )

    def shown(value: Any, form: str) -> str:
        return "-" if value is None else format(value, form)

    for row in report["mlperf_v1_3"]["rows"]:
        table.add_row(
            f"{row['system']} *",
            "-" if row["found"] is None else f"{row['found']}/50",
            shown(row["false_accepts"], "d"),
            shown(row["power_mw"], ".3f"),
            "",
            "-" if row["duty_cycle"] is None else f"{100 * row['duty_cycle']:.1f}%",
            shown(row["energy_per_inference_uj"], ".1f"),
        )
    by_segment = ", ".join(
        f"{name} {counts['found']}/{counts['spoken']} found, {counts['false_accepts']} FA"
        for name, counts in report["by_segment"].items()
    )
    details = "; ".join(
        f"{row['system']}: {row['detail']}"
        for row in report["mlperf_v1_3"]["rows"]
        if row["detail"]
    )
    table.caption = (
        f"* {report['mlperf_v1_3']['source']} ({details}). As we read MLPerf's setup, its harness "
        "plays the audio into the device (no microphone): compare with our 'no mic' column. "
        "Ours: power at the battery's "
        f"{power['voltage_v']} V; KWS goal <= {report['kws_power_goal_mw']} mW "
        f"{'met' if report['meets_kws_power_goal'] else 'NOT met'}; duty: the MCU's active "
        f"share; {by_segment}; full model awake "
        f"{100 * report['duty_cycle']['full_model_awake']:.2f}% of the time; audio sha256 "
        f"{report['audio_sha256'][:16]}."
    )
    Console().print(table)


def run(args: argparse.Namespace) -> int:
    """Build the benchmark's audio for the bundle's keyword, simulate it, print the report."""
    from firmware_sim import benchmark, benchmark_report
    from firmware_sim.microphone import load_microphone, with_microphone
    from firmware_sim.profile import load_profile
    from kws.defaults import resolve_bundle
    from kws.loading import load_cascade
    from kws_cli.commands import battery_gate, battery_output

    check(args)
    gate = battery_gate.gate_config(args)
    if args.plot:
        battery_output.check_plot_path(args.plot)
    profile = load_profile(args.profile)
    if args.microphone:
        profile = with_microphone(profile, load_microphone(args.microphone))
    cascade = load_cascade(resolve_bundle(args.model), verifier=False)
    audio = benchmark.build(cascade.keyword, args.seed)
    progress = battery_output.Progress(audio.duration_s)
    try:
        simulation, result = benchmark_report.simulate(
            cascade, profile, audio, gate, progress.update
        )
    finally:
        progress.close()
    report = benchmark_report.report(simulation, result, audio, args.seed)
    if args.json:
        print(battery_output.json_line(report))
    else:
        _print_table(report)
    if args.plot:
        battery_output.write_plot(lambda path: battery_output.plot_result(result, path), args.plot)
    sys.stdout.flush()
    return 0
