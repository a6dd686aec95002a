"""Forecasting many KPIs at once, on every core: the models are CPU-bound Python, so the
work is spread over processes (each imports the statistics libraries itself; the process
that asks never does).

Two users: the ``forecast`` command (everything, as fast as the machine allows) and the
cockpit, which keeps the stored forecasts current in the background (lower priority, in
fresh processes, stoppable between KPIs, saving as it goes).
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from intelligentos.domain.catalog.models import Catalog, Kpi
from intelligentos.domain.clock import period_upper_bound, stamp
from intelligentos.domain.forecast import MAX_HISTORY, Forecast, default_horizon, forecast_kpi
from intelligentos.domain.forecast.periods import horizon_through
from intelligentos.store import Store

History = Sequence[tuple[str, float | None]]
# Below this many KPIs, starting processes costs more than it saves.
SERIAL_BELOW = 16
# KPIs per task sent to a process (about a third of a second of work), and tasks queued per
# process: enough to keep every core busy, few enough to stop within a batch.
BATCH = 8
BATCHES_AHEAD = 3
# The cockpit saves what it has this often, so forecasts appear as they are made; each save
# makes the cockpit re-evaluate and redraw (0.3 s on 2,000 KPIs), so not more often.
SAVE_EVERY_SECONDS = 5.0
# Background processes yield the cores to the cockpit and to everything else.
BACKGROUND_NICENESS = 10


@dataclass(frozen=True)
class ForecastJob:
    kpi: Kpi
    history: tuple[tuple[str, float | None], ...]
    horizon: int


class JobSource(Protocol):
    """Jobs that know how many they are (a list, or :class:`Jobs`)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[ForecastJob]: ...


@dataclass(frozen=True)
class Jobs:
    """The jobs for some KPIs; each KPI's history is read only when its job is next, so
    memory stays bounded however many KPIs there are."""

    store: Store
    kpis: tuple[Kpi, ...]
    as_of: date
    # None: each KPI's default as of ``as_of``, counted from its latest observation
    horizon: int | None = None
    # Instead of a horizon: each KPI's periods from its latest observation up to the one
    # holding this day
    through: date | None = None

    def __len__(self) -> int:
        return len(self.kpis)

    def __iter__(self) -> Iterator[ForecastJob]:
        for kpi in self.kpis:
            history = tuple(
                self.store.history(kpi.id, MAX_HISTORY, until=period_upper_bound(self.as_of))
            )
            last = next((p for p, v in reversed(history) if v is not None), None)
            if self.horizon is not None:
                horizon = self.horizon
            elif self.through is not None:
                horizon = horizon_through(kpi, self.through, self.as_of, last)
            else:
                horizon = default_horizon(kpi, self.as_of, last)
            yield ForecastJob(kpi, history, horizon)


def jobs_for(
    store: Store,
    kpis: Iterable[Kpi],
    as_of: date,
    horizon: int | None = None,
    *,
    through: date | None = None,
) -> Jobs:
    """The jobs for ``kpis``: ``horizon`` periods each, else (``through``) each KPI's
    periods up to the one holding that day, else each KPI's default."""
    return Jobs(store, tuple(kpis), as_of, horizon, through)


def outdated(
    catalog: Catalog,
    latest: Mapping[str, str | None],
    bases: Mapping[str, tuple[str | None, int]],
    as_of: date,
) -> list[Kpi]:
    """KPIs with observations whose stored forecast is missing, was made before their latest
    observation, or stops short of today's default horizon from that observation (the
    quarter moved on). A forecast made further ahead (to a later quarter's end, for its
    targets) covers the default horizon too: it is kept."""
    out = []
    for kpi in catalog.kpis.values():
        period = latest.get(kpi.id)
        if period is None:
            continue
        based_on, horizon = bases.get(kpi.id, (None, 0))
        if based_on != period or horizon < default_horizon(kpi, as_of, period):
            out.append(kpi)
    return out


def _single_threaded_blas() -> None:
    """Each worker process asks BLAS for one thread before numpy loads (later the setting
    is ignored). The processes already use every core; OpenBLAS's own threads on top of them
    fight over the cores: 2,000 KPIs on 2 processes ran 5 times slower. A value the user set
    is kept."""
    if "numpy" not in sys.modules:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")


def _background_worker() -> None:
    _single_threaded_blas()
    os.nice(BACKGROUND_NICENESS)


def _start_resource_tracker() -> None:
    """multiprocessing's resource tracker (a process of its own, started once) is handed
    ``sys.stderr``'s descriptor; a TUI captures ``sys.stderr`` in an object without one, and
    the start fails ("bad value(s) in fds_to_keep"). Start it with the real stderr."""
    from multiprocessing import resource_tracker

    with contextlib.redirect_stderr(sys.__stderr__):
        resource_tracker.ensure_running()


def _run(job: ForecastJob) -> Forecast:
    return forecast_kpi(job.kpi, job.history, job.horizon)


def _run_batch(jobs: list[ForecastJob]) -> list[Forecast]:
    return [_run(job) for job in jobs]


def forecast_many(
    jobs: JobSource,
    workers: int | None = None,
    on_done: Callable[[Forecast], None] | None = None,
    *,
    background: bool = False,
) -> Generator[Forecast, None, None]:
    """Forecasts for ``jobs``, in their order; ``on_done`` hears of each as it completes.

    Jobs go to the processes in small batches, a few batches ahead of the results, so the
    jobs are taken from ``jobs`` (on the calling thread) only as they are needed, and
    stopping early (closing this generator) waits for at most the batches running.
    ``background``: always in other processes, started fresh ("spawn": forking a process
    that runs threads, as the cockpit does, can copy a held lock into the child) and at a
    lower priority."""
    workers = workers or os.cpu_count() or 1
    if not background and (workers == 1 or len(jobs) < SERIAL_BELOW):
        for job in jobs:
            result = _run(job)
            if on_done:
                on_done(result)
            yield result
        return
    if not jobs:
        return
    if background:
        _start_resource_tracker()
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        initializer=_background_worker if background else _single_threaded_blas,
        mp_context=multiprocessing.get_context("spawn") if background else None,
    )
    queue = iter(jobs)
    running: deque[Future[list[Forecast]]] = deque()

    def submit() -> None:
        batch = list(itertools.islice(queue, BATCH))
        if batch:
            running.append(pool.submit(_run_batch, batch))

    finished = False
    try:
        for _ in range(workers * BATCHES_AHEAD):
            submit()
        while running:
            results = running.popleft().result()
            submit()
            for result in results:
                if on_done:
                    on_done(result)
                yield result
        finished = True
    finally:
        if not finished:
            _stop_now(pool)
        pool.shutdown(wait=finished, cancel_futures=True)


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """Stopped early (the cockpit is quitting): end the processes mid-batch rather than let
    the interpreter's exit wait for them. They hold nothing but their current forecasts."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
        return
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.terminate()


def refresh_outdated(
    store: Store,
    catalog: Catalog,
    latest: Mapping[str, str | None],
    as_of: date,
    clock: Callable[[], datetime],
    stop: Callable[[], bool],
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Forecast, in the background, every KPI whose stored forecast is out of date, saving
    as results come (``progress(done, total)`` after each save). Returns how many were
    saved; ``stop()`` is asked between KPIs."""
    kpis = outdated(catalog, latest, store.forecast_bases(), as_of)
    if not kpis or stop():
        return 0
    jobs = jobs_for(store, kpis, as_of)
    done = 0
    batch: list[Forecast] = []
    last_save = time.monotonic()
    results = forecast_many(jobs, background=True)
    try:
        for result in results:
            batch.append(result)
            if stop():
                break
            if time.monotonic() - last_save >= SAVE_EVERY_SECONDS:
                done += store.save_forecasts(batch, stamp(clock()))
                batch, last_save = [], time.monotonic()
                if progress:
                    progress(done, len(jobs))
        if batch and not stop():
            done += store.save_forecasts(batch, stamp(clock()))
            if progress:
                progress(done, len(jobs))
    finally:
        results.close()
    return done
