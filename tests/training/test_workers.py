"""Trainings side by side: results in job order, every tick shown, one clear error on failure."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kws.errors import TrainingError
from training.workers import Job, run_side_by_side


def _double_after(argument: tuple[int, float], tick: Callable[[], None]) -> int:
    value, delay = argument
    for _ in range(value):
        tick()
    time.sleep(delay)
    return 2 * value


def _fail_or_wait(argument: str, tick: Callable[[], None]) -> int:
    if argument == "fail":
        raise TrainingError("no positives left after filtering")
    if argument == "die":
        os._exit(3)
    time.sleep(600)  # stopped by the parent long before this
    return 0


class _Progress:
    def __init__(self) -> None:
        self.totals: dict[int, int] = {}
        self.advanced: Counter[int] = Counter()

    def add_task(self, label: str, total: int) -> int:
        self.totals[len(self.totals)] = total
        return len(self.totals) - 1

    def advance(self, task: int) -> None:
        self.advanced[task] += 1


def test_results_come_back_in_job_order_with_every_tick() -> None:
    progress = _Progress()
    # the first job finishes last
    jobs = [Job("slow", 3, (3, 2.0)), Job("fast", 5, (5, 0.0))]
    assert run_side_by_side(_double_after, jobs, progress) == [6, 10]
    assert progress.totals == {0: 3, 1: 5}
    assert progress.advanced == Counter({0: 3, 1: 5})


@pytest.mark.parametrize(
    ("how", "message"),
    [("fail", "train full: no positives left"), ("die", "train full: its process ended")],
)
def test_a_failed_job_is_one_clear_error_and_stops_the_others(how: str, message: str) -> None:
    started = time.monotonic()
    jobs: list[Job[Any]] = [Job("train tiny", 1, "wait"), Job("train full", 1, how)]
    with pytest.raises(TrainingError, match=message):
        run_side_by_side(_fail_or_wait, jobs)
    # the waiting job was stopped, not waited for (it would sleep ten minutes)
    assert time.monotonic() - started < 300


def test_a_training_worker_never_generates_the_dataset_itself(tmp_path: Path) -> None:
    """Three workers would synthesize it three times at once; the parent wrote the cache."""
    from training.data import DataRecipe
    from training.fit import FitSettings
    from training.pipeline import TrainJob, train_and_rank

    missing = tmp_path / "dataset-0123456789abcdef.npz"
    job = TrainJob("full", 1, DataRecipe("hey nova", quick=True), missing, FitSettings())
    with pytest.raises(TrainingError, match="feature cache .* went missing or unreadable"):
        train_and_rank(job, lambda: None)


def test_a_training_worker_reads_the_file_the_parent_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a file found by hashing the code and texts again: an install into the environment
    during a training changes the text corpus's digest (it reads packages' metadata), and the
    workers of a run of 2026-12-03 looked for a dataset that was never built."""
    from training import pipeline
    from training.data import DataRecipe, build_dataset
    from training.data import dataset as dataset_module
    from training.fit import FitSettings
    from training.pipeline import TrainJob, train_and_rank

    recipe = DataRecipe(
        "hey nova",
        quick=True,
        n_positive=4,
        n_negative=4,
        stream_minutes={"train": 0.1, "val": 0.1, "test": 0.1},
        workers=1,
    )
    written = build_dataset(recipe, tmp_path).cache_path
    assert written is not None and written.is_file()
    monkeypatch.setattr(dataset_module.text, "corpus_digest", lambda: "another corpus")

    class Found(Exception):
        pass

    def stop_at_training(model: Any, frames: int, dataset: Any, *args: Any) -> None:
        raise Found(dataset.cache_path)

    monkeypatch.setattr(pipeline, "_train_one", stop_at_training)
    with pytest.raises(Found) as found:
        train_and_rank(TrainJob("tiny", 0, recipe, written, FitSettings()), lambda: None)
    assert found.value.args == (written,)


def _note_running(argument: tuple[Path, int], tick: Callable[[], None]) -> int:
    """Leave a file while running (5 s, or until all three jobs' files are there); return the
    most other jobs' files seen meanwhile."""
    folder, index = argument
    mine = folder / f"running-{index}"
    mine.touch()
    seen = 0
    deadline = time.monotonic() + 5
    while seen < 2 and time.monotonic() < deadline:
        seen = max(seen, len(list(folder.glob("running-*"))) - 1)
        time.sleep(0.05)
    mine.unlink()
    return seen


def test_no_more_jobs_run_at_once_than_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("training.workers.processes_at_once", lambda jobs: 2)
    jobs = [Job(f"job {index}", 1, (tmp_path, index)) for index in range(3)]
    others_seen = run_side_by_side(_note_running, jobs)
    assert len(others_seen) == 3
    assert max(others_seen) <= 1, "a third job started before one of two had finished"


def test_at_least_the_tiny_model_and_two_starts_run_together() -> None:
    from training.workers import processes_at_once

    assert processes_at_once(1) == 1
    assert processes_at_once(3) == 3
    assert processes_at_once(5) == max(3, min(5, os.cpu_count() or 1))
