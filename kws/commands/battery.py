"""`kws battery`: how long a battery lasts running the cascade, with deadlines and where the
energy goes (firmware_sim)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "battery",
        help="simulate battery life, deadlines and energy on a device profile",
        description="Replay audio through the real cascade on a simulated device: battery hours, "
        "response time, missed deadlines, energy per component, memory fit.",
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
    source.add_argument("--scenario", choices=("quiet", "office", "tv"), default="office")
    parser.add_argument("--minutes", type=float, default=10.0, help="scenario length")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--plot", type=Path, help="write current over time and energy share (PNG)")
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="vary the wake threshold: battery hours against false rejects",
    )
    parser.set_defaults(run=run)


def _audio_source(args: argparse.Namespace, keyword: str) -> tuple[Any, list[float]]:
    """Feature chunks for the run and the keyword end times when the scenario knows them."""
    from kws.audio import iter_audio_chunks
    from kws.frontend import Frontend

    frontend = Frontend()
    keyword_times: list[float] = []
    if args.audio is not None:
        chunks = (frontend.process(pcm) for pcm, _ in iter_audio_chunks(args.audio))
        return list(chunks), keyword_times
    from firmware_sim.scenarios import generate, get_scenario

    scenario = get_scenario(args.scenario)
    features = []
    for pcm, times in generate(scenario, keyword, args.minutes, args.seed):
        features.append(frontend.process(pcm))
        keyword_times += times
    return features, keyword_times


def _keywords_found(
    keyword_times: list[float], detections: list[float], tolerance_s: float = 1.5
) -> int:
    return sum(any(0 <= d - t <= tolerance_s for d in detections) for t in keyword_times)


def report_dict(result: Any, baseline: Any, keyword_times: list[float]) -> dict[str, Any]:
    import numpy as np

    responses = np.array(result.response_ms) if result.response_ms else np.zeros(0)

    def pct(q: float) -> float | None:
        return round(float(np.percentile(responses, q)), 3) if responses.size else None

    report = result.report
    inference_ma = report.current_ma["tiny"] + report.current_ma["full"]
    baseline_inference_ma = baseline.current_ma["tiny"] + baseline.current_ma["full"]
    return {
        "profile": result.profile.name,
        "battery_hours": round(report.battery_hours, 2),
        "avg_current_ma": round(report.avg_current_ma, 5),
        "response_ms": {
            "p50": pct(50),
            "p99": pct(99),
            "max": round(float(responses.max()), 3) if responses.size else None,
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
        "savings_vs_full_always_on": {
            "system_current_ratio": round(baseline.avg_current_ma / report.avg_current_ma, 3),
            "inference_energy_ratio": round(baseline_inference_ma / inference_ma, 2)
            if inference_ma
            else None,
        },
        "audio_s": round(result.duration_s, 1),
        "counters": result.counters,
        "keywords": {
            "spoken": len(keyword_times),
            "detected": _keywords_found(keyword_times, result.detections),
            "detections": len(result.detections),
        },
        "max_hop_latency_ms": round(float(result.hop_latency_ms.max()), 3)
        if result.hop_latency_ms.size
        else 0.0,
    }


def _plot(result: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    per_second = (
        result.hop_current_ma[: result.hop_current_ma.size // 100 * 100]
        .reshape(-1, 100)
        .mean(axis=1)
    )
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6))
    top.plot(np.arange(per_second.size), per_second, lw=0.8)
    top.set_xlabel("time (s)")
    top.set_ylabel("current (mA, 1 s mean)")
    top.set_title(
        f"{result.profile.name}: {result.report.battery_hours:.1f} h on "
        f"{result.profile.battery.capacity_mah:.0f} mAh"
    )
    shares = result.report.energy_share
    bottom.barh(list(shares), [100 * v for v in shares.values()])
    bottom.set_xlabel("share of energy (%)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_sweep(rows: list[dict[str, Any]], profile_name: str, path: Path) -> None:
    """Battery hours and false rejects against the wake threshold (one figure, two axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wakes = [row["wake"] for row in rows]
    figure, hours_axis = plt.subplots(figsize=(7, 4))
    hours_axis.plot(wakes, [row["battery_hours"] for row in rows], "o-", color="tab:blue")
    hours_axis.set_xlabel("wake threshold")
    hours_axis.set_ylabel("battery hours", color="tab:blue")
    rejects_axis = hours_axis.twinx()
    rejects_axis.plot(wakes, [row["false_rejects"] for row in rows], "s--", color="tab:red")
    rejects_axis.set_ylabel("false rejects (keywords missed)", color="tab:red")
    hours_axis.set_title(f"wake threshold sweep on {profile_name}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from firmware_sim.profile import load_profile
    from firmware_sim.simulator import full_always_on, simulate
    from kws.cascade import load_cascade
    from kws.defaults import resolve_bundle
    from kws.errors import KwsError

    if args.minutes <= 0:
        raise KwsError("--minutes must be positive")
    profile = load_profile(args.profile)
    model_dir = resolve_bundle(args.model)
    cascade = load_cascade(model_dir)
    features, keyword_times = _audio_source(args, cascade.keyword)
    console = Console()
    if args.sweep:
        table = Table(title=f"wake threshold sweep on {profile.name}")
        columns = ("wake", "battery h", "avg mA", "duty full", "false rejects", "detections")
        for column in columns:
            table.add_column(column, justify="right")
        rows = []
        for wake in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9):
            swept = load_cascade(model_dir, wake=wake)
            result = simulate(swept, features, profile)
            found = _keywords_found(keyword_times, result.detections)
            rows.append(
                {
                    "wake": wake,
                    "battery_hours": round(result.report.battery_hours, 2),
                    "false_rejects": len(keyword_times) - found,
                    "keywords": len(keyword_times),
                }
            )
            table.add_row(
                f"{wake:.2f}",
                f"{result.report.battery_hours:.1f}",
                f"{result.report.avg_current_ma:.4f}",
                f"{result.counters['duty_cycle_full']:.4f}",
                f"{len(keyword_times) - found}/{len(keyword_times)}",
                str(len(result.detections)),
            )
        if args.plot:
            _plot_sweep(rows, profile.name, args.plot)
        if args.json:
            print(json.dumps({"profile": profile.name, "sweep": rows}))
        else:
            console.print(table)
        return 0
    result = simulate(cascade, features, profile)
    baseline = full_always_on(cascade, profile, result.duration_s)
    report = report_dict(result, baseline, keyword_times)
    if args.plot:
        _plot(result, args.plot)
    if args.json:
        print(json.dumps(report))
        return 0
    table = Table(title=f"kws battery — {profile.description}")
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
        table.add_row(f"energy: {name}", f"{100 * share:.2f}%", "")
    savings = report["savings_vs_full_always_on"]
    table.add_row(
        "saving vs full always on",
        f"system {savings['system_current_ratio']}x, "
        f"inference {savings['inference_energy_ratio']}x",
        "",
    )
    keywords = report["keywords"]
    if args.audio is None:
        table.add_row("keywords found", f"{keywords['detected']}/{keywords['spoken']}", "")
    console.print(table)
    return 0
