"""`kws models`: the bundles ``--model NAME`` finds, shipped and the user's own, with their
sizes and the figures their training measured."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kws.defaults import KnownBundle, default_bundle_dir, known_bundles, user_models_dir

if TYPE_CHECKING:
    from kws.manifest import Bundle


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list the bundles --model NAME finds (shipped and your own)",
        description="List the shipped bundles and those in your own folder "
        f"({user_models_dir()}): name, keyword, int8 model sizes and the figures their "
        "training measured. Any command's --model takes a name from this list.",
    )
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.set_defaults(run=run)


def _model_bytes(bundle: Bundle, role: str) -> int | None:
    spec = bundle.models.get(role)
    return spec.bytes if spec is not None else None


def _figures(bundle: Bundle) -> dict[str, Any]:
    """The headline figures of a bundle's evaluation: the cascade at its shipped thresholds
    (with its verifier, if it has one) on the synthetic test split, and on real people if it
    was measured there."""
    evaluation = bundle.evaluation
    if evaluation is None:
        return {}
    cascade = evaluation.get("cascade_at_shipped_thresholds")
    real_speech = evaluation.get("real_speech")
    verifier = evaluation.get("verifier")
    if bundle.verifier is not None and isinstance(verifier, Mapping):
        # what the bundle does as it loads: with its verifier, at the thresholds chosen with it
        cascade = verifier.get("test_with_verifier")
        real_speech = verifier.get("real_speech")
    figures: dict[str, Any] = {}
    if isinstance(cascade, Mapping):
        figures["test_frr"] = cascade.get("frr")
        figures["test_fa_per_hour"] = cascade.get("fa_per_hour")
    if isinstance(real_speech, Mapping) and real_speech.get("frr_clean") is not None:
        figures["real_speech_frr_clean"] = real_speech.get("frr_clean")
    return figures


def describe(bundle: KnownBundle) -> dict[str, Any]:
    """One known bundle as a JSON-ready row; a bundle that does not load says why in
    ``error`` instead of stopping the listing."""
    from kws.bundle import read_bundle
    from kws.errors import BundleError

    row: dict[str, Any] = {"name": bundle.name, "source": bundle.source, "path": str(bundle.path)}
    try:
        loaded = read_bundle(bundle.path)
    except BundleError as error:
        return {**row, "error": str(error)}
    thresholds = loaded.thresholds
    return {
        **row,
        "keyword": loaded.keyword,
        "bytes": {role: _model_bytes(loaded, role) for role in ("tiny", "full")},
        "thresholds": {"wake": thresholds.wake, "detect": thresholds.detect},
        **_figures(loaded),
    }


def _text(value: Any, percent: bool = False) -> str:
    if not isinstance(value, (int, float)):
        return "-"
    return f"{100 * value:.1f}%" if percent else f"{value:g}"


def _shown(text: str) -> Any:
    """Text a bundle or a folder name says, as rich shows it: never markup (``[/b]``), control
    characters escaped (a user folder may be named with a terminal escape)."""
    from rich.text import Text

    from kws.untrusted import escape_unprintable

    return Text(escape_unprintable(text))


def run(args: argparse.Namespace) -> int:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    rows = [describe(bundle) for bundle in known_bundles()]
    user_dir = user_models_dir()
    if args.json:
        print(json.dumps({"user_dir": str(user_dir), "bundles": rows}))
        return 0
    table = Table(title="kws bundles, for --model NAME", box=box.SIMPLE_HEAD)
    real_speech = any("real_speech_frr_clean" in row for row in rows)
    table.add_column("name", no_wrap=True)
    table.add_column("keyword")
    table.add_column("from", no_wrap=True)
    for column in ("tiny / full B", "FRR at FA/h") + (("real FRR",) if real_speech else ()):
        table.add_column(column, justify="right", no_wrap=True)
    notes = []
    default_path = default_bundle_dir()
    user_names = {row["name"] for row in rows if row["source"] == "user"}
    for row in rows:
        name = row["name"]
        if row["path"] == str(default_path):
            name += " *"
            notes.append("* the default bundle, used without --model")
        if row["source"] == "shipped" and row["name"] in user_names:
            notes.append(f"{row['name']}: --model {row['name']} means the user bundle")
        if "error" in row:
            table.add_row(_shown(name), "[red]unusable[/red]", row["source"])
            notes.append(f"{row['name']} ({row['source']}) is unusable: {row['error']}")
            continue
        table.add_row(
            _shown(name),
            _shown(row["keyword"]),
            row["source"],
            f"{_text(row['bytes']['tiny'])} / {_text(row['bytes']['full'])}",
            f"{_text(row.get('test_frr'), percent=True)} at {_text(row.get('test_fa_per_hour'))}"
            if "test_frr" in row
            else "-",
            *((_text(row.get("real_speech_frr_clean"), percent=True),) if real_speech else ()),
        )
    console = Console()
    console.print(table)
    figures_note = "FRR at FA/h: the cascade at its own thresholds on its synthetic test split"
    if real_speech:
        figures_note += "; real FRR: on recordings of real people (kws train --real-speech)"
    notes.append(figures_note)
    notes.append(f"your own bundles: {user_dir}/NAME (e.g. kws train --out there)")
    for note in notes:
        console.print(_shown(note), highlight=False, soft_wrap=True)
    return 0
