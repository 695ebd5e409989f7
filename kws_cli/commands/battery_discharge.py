"""`kws battery --discharge [--policy fixed|adaptive]`: a whole charge, full to empty, under a
battery-aware policy against the fixed one (firmware_sim/discharge.py, stretches.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_STRETCH_MINUTES = 10.0
NOT_WITH_DISCHARGE = (
    ("audio", "--audio", "the scenes come from the day's schedule"),
    ("scenario", "--scenario", "the scenes come from the day's schedule"),
    ("benchmark", "--benchmark", "run them one at a time"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--discharge`` and ``--policy``."""
    parser.add_argument(
        "--discharge",
        action="store_true",
        help="simulate a whole charge, full to empty, over a day of scenes (quiet, tv, office) "
        "under --policy against the fixed policy, extrapolated from simulated stretches of each "
        "scene at each setting (--minutes each, default 10): hours bought, keywords lost; "
        "--plot draws charge, current and recall over the hours",
    )
    parser.add_argument(
        "--policy",
        choices=("fixed", "adaptive"),
        help="--discharge: fixed = as shipped all the time; adaptive = the stage-0 gate in quiet "
        "scenes, everywhere at <= 50%% charge, and wake threshold 0.9 at <= 20%% "
        "(default: adaptive)",
    )


def check(args: argparse.Namespace) -> None:
    """Raises KwsError: ``--policy`` without ``--discharge``, or a flag it cannot honour."""
    from kws.errors import KwsError
    from kws_cli.commands.battery_gate import GATE_FLAGS
    from kws_cli.commands.battery_output import check_minutes

    if not args.discharge:
        if args.policy is not None:
            raise KwsError("--policy chooses the policy of a whole charge: add --discharge")
        return
    for name, flag, why in NOT_WITH_DISCHARGE:
        if getattr(args, name):
            raise KwsError(f"{flag} is not available with --discharge ({why})")
    if args.sweep:
        raise KwsError("--sweep is not available with --discharge")
    gate_flags = [name for name in GATE_FLAGS if getattr(args, name) is not None]
    if args.gate != "none" or gate_flags:
        flag = "--gate" if args.gate != "none" else "--" + gate_flags[0].replace("_", "-")
        raise KwsError(f"{flag} is not available with --discharge (the policy chooses the gate)")
    check_minutes(args.minutes, None)


def _run_dict(run: Any) -> dict[str, Any]:
    return {
        "battery_hours": round(run.battery_hours, 2),
        "keywords_spoken": round(run.keywords_spoken, 1),
        "keywords_found": round(run.keywords_found, 1),
        "recall": round(run.keywords_found / run.keywords_spoken, 4)
        if run.keywords_spoken
        else None,
        "hours_by_setting": {k: round(v, 2) for k, v in run.hours_by_setting.items()},
    }


def report_dict(
    profile: Any, policy_run: Any, fixed_run: Any, figures: list[Any], gate: str, minutes: float
) -> dict[str, Any]:
    """The report ``--discharge --json`` prints."""
    from firmware_sim import discharge

    lost = fixed_run.keywords_found - policy_run.found_by(fixed_run.battery_hours)
    return {
        "profile": profile.name,
        "microphone": profile.microphone.part,
        "policy": policy_run.policy,
        "gate": gate,
        **_run_dict(policy_run),
        "fixed": _run_dict(fixed_run),
        "hours_gained": round(policy_run.battery_hours - fixed_run.battery_hours, 2),
        "keywords_lost": round(lost, 1),
        "keywords_found_after_fixed_empty": round(
            policy_run.keywords_found - policy_run.found_by(fixed_run.battery_hours), 1
        ),
        "switch_points": {
            "gate_in_scenes": sorted(discharge.GATE_SCENES),
            "gate_everywhere_at_charge": discharge.GATE_EVERYWHERE_AT,
            "strict_wake_at_charge": discharge.STRICT_AT,
            "strict_wake": discharge.STRICT_WAKE,
        },
        "day": [{"scene": scene, "hours": hours} for scene, hours in discharge.DAY],
        "step_h": discharge.STEP_H,
        "stretch_minutes": minutes,
        "measured": [
            {
                "scene": f.scene,
                "setting": {"wake": f.setting.wake, "gate": f.setting.gate},
                "avg_current_ma": round(f.current_ma, 5),
                "recall": round(f.recall, 4),
                "keywords_spoken": f.keywords_spoken,
                "keywords_found": f.keywords_found,
                "detections_per_hour": round(f.detections_per_hour, 2),
            }
            for f in figures
        ],
    }


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    measured = Table(title=f"measured stretches ({report['stretch_minutes']:g} min each)")
    for column in ("scene", "setting", "avg mA", "recall (dense stretch)", "detections/h"):
        measured.add_column(column, justify="left" if column in ("scene", "setting") else "right")
    for row in report["measured"]:
        wake = row["setting"]["wake"]
        measured.add_row(
            row["scene"],
            f"{'bundle wake' if wake is None else f'wake {wake:g}'}, gate {row['setting']['gate']}",
            f"{row['avg_current_ma']:.4f}",
            f"{row['recall']:.2f} ({row['keywords_found']}/{row['keywords_spoken']})",
            f"{row['detections_per_hour']:.1f}",
        )
    console.print(measured)
    summary = Table(title=f"a whole charge on {report['profile']}: {report['policy']} vs fixed")
    summary.add_column("measure")
    summary.add_column(report["policy"], justify="right")
    summary.add_column("fixed", justify="right")
    fixed = report["fixed"]
    summary.add_row(
        "battery hours", f"{report['battery_hours']:.1f}", f"{fixed['battery_hours']:.1f}"
    )
    for key in ("keywords_spoken", "keywords_found"):
        summary.add_row(key.replace("_", " "), f"{report[key]:.1f}", f"{fixed[key]:.1f}")
    summary.add_row("recall", f"{report['recall']:.3f}", f"{fixed['recall']:.3f}")
    summary.caption = (
        f"hours gained: {report['hours_gained']:.1f}; keywords lost in the fixed policy's "
        f"{fixed['battery_hours']:.0f} h: {report['keywords_lost']:.1f} (then "
        f"{report['keywords_found_after_fixed_empty']:.1f} more found while the fixed one is empty)"
    )
    console.print(summary)


def _plot(runs: list[Any], profile_name: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    for run in runs:
        axes[0].plot(run.hours, [100 * c for c in run.charge_left], label=run.policy, lw=1)
        axes[1].step(run.hours, run.current_ma, where="post", label=run.policy, lw=0.8)
        axes[2].step(run.hours, run.recall, where="post", label=run.policy, lw=0.8)
    axes[0].set_ylabel("charge left (%)")
    axes[1].set_ylabel("current (mA)")
    axes[2].set_ylabel("recall")
    axes[2].set_xlabel("hours from full")
    axes[0].legend()
    axes[0].set_title(f"a whole charge on {profile_name}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run(args: argparse.Namespace) -> int:
    """Measure the stretches, walk the charge under both policies, print, plot."""
    from firmware_sim import discharge, stretches
    from firmware_sim.microphone import load_microphone, with_microphone
    from firmware_sim.profile import load_profile
    from firmware_sim.scenarios import get_scenario
    from kws.bundle import read_bundle
    from kws.defaults import resolve_bundle
    from kws_cli.commands import battery_output

    check(args)
    if args.plot:
        battery_output.check_plot_path(args.plot)
    profile = load_profile(args.profile)
    if args.microphone:
        profile = with_microphone(profile, load_microphone(args.microphone))
    model_dir = resolve_bundle(args.model)
    keyword = read_bundle(model_dir).keyword
    minutes = DEFAULT_STRETCH_MINUTES if args.minutes is None else args.minutes
    gate = stretches.device_gate(profile)
    settings = discharge.settings_for(gate)
    scenes = sorted({scene for scene, _ in discharge.DAY})
    progress = battery_output.Progress(None)
    read = [0.0]

    def on_seconds(seconds: float) -> None:
        read[0] += seconds
        progress.update(read[0])

    try:
        figures = stretches.measure(
            model_dir, keyword, profile, settings, scenes, minutes, args.seed, on_seconds
        )
    finally:
        progress.close()
    measured = stretches.as_measured(figures)
    usable_mah = profile.battery.capacity_mah * profile.battery.usable_fraction
    rates = {scene: get_scenario(scene).keywords_per_hour for scene in scenes}
    policy = args.policy or "adaptive"
    fixed_run = discharge.discharge(usable_mah, measured, "fixed", gate, rates)
    policy_run = discharge.discharge(usable_mah, measured, policy, gate, rates)
    report = report_dict(profile, policy_run, fixed_run, figures, gate, minutes)
    if args.json:
        print(battery_output.json_line(report))
    else:
        _print(report)
    if args.plot:
        runs = [policy_run] if policy == "fixed" else [policy_run, fixed_run]
        battery_output.write_plot(lambda path: _plot(runs, profile.name, path), args.plot)
    return 0
