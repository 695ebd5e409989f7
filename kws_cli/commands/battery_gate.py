"""`kws battery` options for the microphone and the stage-0 gate: flags, checks, report keys."""

from __future__ import annotations

import argparse
import math
from typing import Any

GATE_FLAGS = ("gate_threshold_db", "gate_hangover_ms", "gate_preroll_ms")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--microphone``, ``--gate`` and the gate's settings."""
    parser.add_argument(
        "--microphone",
        help="put a microphone option on the profile (firmware_sim/microphones/: st_mp34dt05a, "
        "knowles_sph0641lu4h (low-power mode), vesper_vm3011 (wake-on-sound)) or a .toml path",
    )
    parser.add_argument(
        "--gate",
        choices=("none", "mic", "energy"),
        default="none",
        help="stage 0 before the tiny model: mic = the microphone's wake-on-sound interrupt "
        "(needs a wake_on_sound state; the samples lost while it wakes are simulated), energy = "
        "a level check on the MCU each hop; the report gives hours with and without it and the "
        "keywords it cost",
    )
    parser.add_argument(
        "--gate-threshold-db",
        type=float,
        help="open when a level rises this far above the ambient floor (default 12)",
    )
    parser.add_argument(
        "--gate-hangover-ms",
        type=float,
        help="close after this long without activity, the cascade asleep (default 500)",
    )
    parser.add_argument(
        "--gate-preroll-ms",
        type=float,
        help="--gate energy: buffered audio the frontend starts on when it opens (default 10)",
    )


def gate_config(args: argparse.Namespace) -> Any:
    """The ``GateConfig`` the flags ask for, None for ``--gate none``.

    Raises:
        KwsError: gate settings without a gate, a gate with ``--sweep``, or a bad value.
    """
    from firmware_sim.gate import GateConfig
    from kws.errors import KwsError

    given = {name: getattr(args, name) for name in GATE_FLAGS if getattr(args, name) is not None}
    if args.gate == "none":
        if given:
            flag = "--" + next(iter(given)).replace("_", "-")
            raise KwsError(f"{flag} sets the stage-0 gate: add --gate mic or --gate energy")
        return None
    if args.sweep:
        raise KwsError("--gate is not available with --sweep (the sweep varies the tiny model)")
    for name, value in given.items():
        if not (math.isfinite(value) and value >= 0):
            flag = "--" + name.replace("_", "-")
            raise KwsError(f"{flag} must be a finite number >= 0, got {value}")
    settings = {name.removeprefix("gate_"): value for name, value in given.items()}
    if args.gate == "mic":
        settings.setdefault("preroll_ms", 0.0)
    return GateConfig(kind=args.gate, **settings)


def _finite(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


def microphone_dict(profile: Any, microphone_s: dict[str, float] | None) -> dict[str, Any]:
    """The microphone's part, states and the share of time spent in each."""
    microphone = profile.microphone
    states = microphone.all_states()
    if not microphone_s:
        microphone_s = {microphone.listen_state: 1.0}
    total_s = sum(microphone_s.values()) or 1.0
    return {
        "part": microphone.part,
        "listen_state": microphone.listen_state,
        "interface_current_ma": microphone.interface_current_ma,
        "states": {
            name: {
                "current_ma": state.current_ma,
                "clock_min_mhz": _finite(state.clock_min_mhz),
                "clock_max_mhz": _finite(state.clock_max_mhz),
                "exit_ms": state.exit_ms,
            }
            for name, state in states.items()
        },
        "time_share": {name: round(s / total_s, 5) for name, s in microphone_s.items()},
    }


def gate_dict(
    gated: Any, gated_result: Any, plain_result: Any, keyword_times: list[float] | None
) -> dict[str, Any]:
    """The gate's settings, duty cycle, samples lost, hours without it and keywords it cost
    (the keywords the same cascade found without the gate and missed with it)."""
    from kws_cli.commands.battery_output import keywords_found

    config = gated.gate
    if keyword_times is None:
        cost = lost_times = without = None
    else:
        lost_times = [
            round(spoken, 2)
            for spoken in keyword_times
            if keywords_found([spoken], plain_result.detections)
            and not keywords_found([spoken], gated_result.detections)
        ]
        without = keywords_found(keyword_times, plain_result.detections)
        cost = without - keywords_found(keyword_times, gated_result.detections)
    return {
        "kind": config.kind,
        "threshold_db": config.threshold_db,
        "hangover_ms": config.hangover_ms,
        "preroll_ms": config.preroll_ms,
        "duty_cycle": round(gated.duty_cycle, 5),
        "openings": gated.openings,
        "lost_samples": gated.lost_samples,
        "lost_ms_per_opening": round(gated.lost_samples / gated.openings / 16, 3)
        if gated.openings
        else 0.0,
        "keywords_cost": cost,
        "keywords_lost_at_s": lost_times,
        "keywords_detected_without_gate": without,
        "without_gate": {
            "battery_hours": round(plain_result.report.battery_hours, 2),
            "avg_current_ma": round(plain_result.report.avg_current_ma, 5),
        },
    }


def table_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Rows for the text table: the microphone, and the gate when there is one."""
    microphone = report["microphone"]
    shares = ", ".join(f"{name} {100 * v:.1f}%" for name, v in microphone["time_share"].items())
    rows = [("microphone", f"{microphone['part']}", ""), ("microphone time", shares, "")]
    gate = report["gate"]
    if gate is None:
        return rows
    rows += [
        ("gate", f"{gate['kind']}, duty cycle {gate['duty_cycle']:.3f}", ""),
        (
            "gate wake-ups / samples lost",
            f"{gate['openings']} / {gate['lost_samples']} ({gate['lost_ms_per_opening']} ms each)",
            "",
        ),
        ("battery hours without gate", f"{gate['without_gate']['battery_hours']:.1f}", ""),
    ]
    if gate["keywords_cost"] is not None:
        rows.append(
            (
                "keywords the gate cost",
                f"{gate['keywords_cost']} (of {gate['keywords_detected_without_gate']} found "
                "without it)",
                "",
            )
        )
    return rows
