"""`kws bench cascade`: every row measured on the same audio, the parts adding up to the total."""

from __future__ import annotations

import pytest

pytest.importorskip("pymicro_wakeword")

from kws.defaults import resolve_bundle  # noqa: E402
from kws_cli.bench.cascade import measure  # noqa: E402


def test_rows_parts_and_goals_for_each_chunk_size() -> None:
    figures = measure(1.0, resolve_bundle(None), (10, 30))
    assert [run["chunk_ms"] for run in figures["runs"]] == [10, 30]
    for run in figures["runs"]:
        rows = {row["name"]: row for row in run["rows"]}
        assert set(rows) == {"kws cascade", "kws full only", "pymicro-wakeword"}
        assert rows["pymicro-wakeword"]["x_cheaper_than_microwakeword"] == 1.0
        cascade = rows["kws cascade"]["parts_cpu_s_per_hour"]
        assert set(cascade) == {
            "frontend",
            "tiny kernels",
            "tiny io",
            "full kernels",
            "full io",
            "glue",
        }
        for row in run["rows"]:
            parts = row["parts_cpu_s_per_hour"]
            # glue is what the measured parts leave of the total: they add up exactly
            assert sum(parts.values()) == pytest.approx(row["cpu_s_per_hour"], abs=0.01)
            assert parts["frontend"] > 0
        assert run["cascade_counters"]["tiny_inferences"] > 0
    goals = figures["goals_met"]
    assert set(goals) == {
        "cascade >= 5x cheaper at 10 ms",
        "full always on >= 2x cheaper at 10 ms",
        "cascade >= 5x cheaper at 30 ms",
        "full always on >= 2x cheaper at 30 ms",
    }
