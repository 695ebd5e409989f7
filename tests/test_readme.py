"""The README's figures are the shipped bundles' own: its results table and the `kws models`
listing are checked against each bundle's manifest, so a retrained bundle cannot leave the
README behind."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kws.defaults import SHIPPED_MODELS_DIR

README = Path(__file__).resolve().parents[1] / "README.md"


def _manifest(name: str) -> dict[str, Any]:
    """The shipped bundle's manifest with its report's evaluation."""
    folder = SHIPPED_MODELS_DIR / name
    manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    report = json.loads((folder / "report.json").read_text())
    return {**manifest, "evaluation": report["evaluation"]}


def _results_rows() -> dict[str, list[str]]:
    text = README.read_text()
    section = text[text.index("## Results") :]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and (SHIPPED_MODELS_DIR / cells[0]).is_dir():
            rows[cells[0]] = cells
    return rows


def test_the_readme_is_short() -> None:
    assert len(README.read_text().splitlines()) <= 155


@pytest.mark.parametrize("name", ["hey_jarvis", "alexa"])
def test_the_results_table_is_the_manifest(name: str) -> None:
    manifest = _manifest(name)
    cells = _results_rows()[name]
    models = manifest["models"]
    cascade = manifest["evaluation"]["cascade_at_shipped_thresholds"]
    thresholds = manifest["thresholds"]
    kb = [f"{models[role]['bytes'] / 1024:.1f} KB" for role in ("tiny", "full")]
    assert cells[1] == " / ".join(kb)
    assert cells[2] == f"{thresholds['wake']:g} / {round(thresholds['detect'], 5):g}"
    assert cells[3] == f"{cascade['frr']:.1%}"
    assert cells[4] == f"{cascade['fa_per_hour']:g}"
    assert cells[5] == f"{cascade['duty_cycle_full']:.2%}"


@pytest.mark.parametrize("name", ["hey_jarvis", "alexa"])
def test_the_models_listing_is_the_manifest(name: str) -> None:
    manifest = _manifest(name)
    cascade = manifest["evaluation"]["cascade_at_shipped_thresholds"]
    sizes = f"{manifest['models']['tiny']['bytes']} / {manifest['models']['full']['bytes']}"
    figure = f"{cascade['frr']:.1%} at {cascade['fa_per_hour']:g}"
    line = next(row for row in README.read_text().splitlines() if re.match(rf"\s+{name}\b", row))
    assert sizes in line and figure in line
