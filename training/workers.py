"""Trainings side by side, each in a process of its own.

TensorFlow keeps about one core busy with models this small: on a 2-core machine an epoch of
the full model took 13.7 s with two threads and 14.9 s with one. So the trainings (the tiny
model, the full model from each initialisation) run at once, one process each with its share
of the threads, instead of one after the other. Processes, not threads: each has its own
TensorFlow runtime and random state, so a run is as reproducible as a sequential one.

A job's function runs in the worker and gets a ``tick`` callable for its progress bar; it
returns something picklable (bytes and figures, never Keras objects). The parent shows the
ticks, stops every worker when one fails or when it is interrupted, and returns the results
in the order of the jobs.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kws.errors import TrainingError

J = TypeVar("J")
R = TypeVar("R")
POLL_SECONDS = 0.5
MIN_AT_ONCE = 3


@contextmanager
def worker_death_named(what: str, seed: int) -> Iterator[None]:
    """A process pool whose worker died inside (a native crash in a speech engine, the
    out-of-memory killer: ``BrokenProcessPool``) is one ``TrainingError`` saying what it was
    making, not a traceback. The data pools' twin of ``run_side_by_side``'s "its process ended"."""
    try:
        yield
    except BrokenProcessPool as error:
        raise TrainingError(
            f"a data worker process died while making {what} (a crash in the speech engine, "
            f"or out of memory); nothing was written; run again, or try another --seed than "
            f"{seed}"
        ) from error


@dataclass(frozen=True)
class Job(Generic[J]):
    label: str  # the progress bar's, and the name in an error
    ticks: int  # the progress bar's total
    argument: J


def threads_per_job(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


def processes_at_once(jobs: int) -> int:
    """How many of ``jobs`` run at once: one per core, and never fewer than three (the tiny model
    and two full-model starts, side by side since they were first split into processes). A
    training process holds its own copy of the windows (2.2-2.8 GB with the default data): a
    four-start training's five at once held about 13 GB, and two such trainings side by side ran
    a 23 GB machine out of memory; one after the other they would take five times as long."""
    return min(jobs, max(MIN_AT_ONCE, os.cpu_count() or 1))


def run_side_by_side(
    function: Callable[[J, Callable[[], None]], R],
    jobs: Sequence[Job[J]],
    progress: Any = None,
) -> list[R]:
    """``function(job.argument, tick)`` for every job, each in a fresh (spawned) process, at most
    ``processes_at_once`` at a time (the next starts when one finishes).

    Raises:
        TrainingError: a job raised (its message), or its process died (out of memory, say).
    """
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    threads = threads_per_job(len(jobs))
    tasks = [progress.add_task(job.label, total=job.ticks) if progress else None for job in jobs]
    workers = [
        context.Process(
            target=_work,
            args=(function, job.argument, index, messages, threads),
            name=f"kws {job.label}",
            daemon=True,
        )
        for index, job in enumerate(jobs)
    ]
    at_once = processes_at_once(len(jobs))
    collected = _Collected(jobs, progress, tasks)
    started = 0
    try:
        while len(collected.results) < len(jobs):
            while started < len(jobs) and started - len(collected.results) < at_once:
                workers[started].start()
                started += 1
            try:
                collected.handle(*messages.get(timeout=POLL_SECONDS))
            except queue.Empty:
                for index, worker in enumerate(workers[:started]):
                    if index not in collected.results and not worker.is_alive():
                        collected.drain_until(messages, index)
                        if index not in collected.results:
                            raise TrainingError(
                                f"{jobs[index].label}: its process ended without a result "
                                f"(exit code {worker.exitcode}; out of memory?)"
                            ) from None
    finally:
        for worker in workers[:started]:
            if worker.is_alive():
                worker.terminate()
        for worker in workers[:started]:
            worker.join()
        messages.close()
    return [collected.results[index] for index in range(len(jobs))]


@dataclass
class _Collected:
    """What the workers sent so far: ticks go to the progress bars, results are kept, an error
    is raised."""

    jobs: Sequence[Job[Any]]
    progress: Any
    tasks: list[Any]
    results: dict[int, Any] = field(default_factory=dict)

    def handle(self, kind: str, index: int, payload: Any) -> None:
        if kind == "tick":
            if self.progress:
                self.progress.advance(self.tasks[index])
        elif kind == "done":
            self.results[index] = payload
        else:
            raise TrainingError(f"{self.jobs[index].label}: {payload}")

    def drain_until(self, messages: Any, index: int) -> None:
        """Read what a finished worker left in the queue (its result may follow its ticks)."""
        while index not in self.results:
            try:
                self.handle(*messages.get(timeout=POLL_SECONDS))
            except queue.Empty:
                return


def _work(
    function: Callable[[Any, Callable[[], None]], Any],
    argument: Any,
    index: int,
    messages: Any,
    threads: int,
) -> None:
    # The parent decides when to stop (Ctrl-C reaches the whole process group): a worker that
    # raised KeyboardInterrupt by itself would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    parent = os.getppid()

    def tick() -> None:
        if os.getppid() != parent:  # the parent was killed outright: nobody wants the result
            os._exit(1)
        messages.put(("tick", index, None))

    try:
        result = function(argument, tick)
    except TrainingError as error:
        messages.put(("error", index, str(error)))
    except Exception as error:  # a bug: the worker's traceback goes to stderr, one line up
        traceback.print_exc()
        messages.put(("error", index, f"{type(error).__name__}: {error}"))
    else:
        messages.put(("done", index, result))
