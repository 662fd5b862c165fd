"""Forecasting in chunks of whole series: the contract of a chunk runner and the split of a history.

The statistical engine forecasts every series on its own (its classification, model choice, fit and intervals
read only that series), so a history can be cut into chunks of whole series, the chunks forecast anywhere
(this process, other processes, other machines) and the results put back together: the numbers do not depend
on how the series are chunked or where a chunk runs. A :class:`ChunkRunner` is what runs a function over the
chunks; the service layer supplies one (e.g. a Dask cluster), the math only calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sop_core.units import Progress

#: Where the series chunks run: ``local`` (this machine's process pool) or ``dask`` (a Dask cluster).
BACKENDS: tuple[str, ...] = ("local", "dask")


class ChunkRunner(Protocol):
    """Runs ``fn`` on every chunk and returns the results in the order of the chunks.

    Attributes:
        label: where the chunks run, as stored with a forecast run (e.g. "dask tcp://10.0.0.5:8786").
        n_chunks: how many chunks the runner wants a history cut into (enough to keep every worker busy).
    """

    label: str
    n_chunks: int

    def __call__(self, fn: Callable[[Any], pd.DataFrame], chunks: Sequence[Any],
                 progress: Progress | None = None) -> list[pd.DataFrame]:
        """``[fn(c) for c in chunks]``, computed wherever the runner runs them; ``progress`` gets
        ``(fraction of the chunks done 0..1, message)`` as chunks finish."""
        ...


def series_chunks(full: pd.DataFrame, n_chunks: int) -> list[pd.DataFrame]:
    """``full`` (long ``unique_id, ds, y`` sorted by id) dealt into at most ``n_chunks`` chunks of whole series.

    The series are dealt round-robin in id order (the 1st, (n+1)-th, … series to the first chunk): neighbouring
    series are alike (a family's SKUs are numbered together, and a family's series cost alike to forecast), so
    every chunk gets its share of the slow and the quick ones and the chunks finish at about the same time.

    Returns:
        Non-empty frames, each sorted as ``full``; every series in exactly one of them, the number of series of
        two chunks differing by at most one.
    """
    ids = full["unique_id"].to_numpy()
    new = np.r_[True, ids[1:] != ids[:-1]]
    n_series = int(new.sum())
    n = max(1, min(int(n_chunks), n_series))
    if n == 1:
        return [full]
    deal = (np.cumsum(new) - 1) % n  # the chunk of every row: its series' number in id order, modulo n
    order = np.argsort(deal, kind="stable")
    bounds = np.searchsorted(deal[order], np.arange(n + 1))
    return [full.iloc[order[a:b]] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


#: Chunks per local worker process: enough that a process that finishes early takes another chunk, and that
#: the progress of a run moves in small steps.
CHUNKS_PER_PROCESS = 8


def _started(i: int) -> int:
    return i


class ProcessPoolRunner:
    """A :class:`ChunkRunner` on ``workers`` local processes: the statistical engine's ``n_jobs`` > 1 path.

    Used as a context manager it keeps one pool for the length of the ``with`` block (several runs, from several
    threads, share its processes), started on entry — before the caller holds large data, so that the worker
    processes stay small; called outside a ``with`` block it starts a pool for the call. Every chunk is forecast
    on its own, so the numbers are those of a single process.
    """

    label = "local"

    def __init__(self, workers: int) -> None:
        self.workers = int(workers)
        self.n_chunks = CHUNKS_PER_PROCESS * self.workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ProcessPoolRunner:
        self._pool = ProcessPoolExecutor(max_workers=self.workers)
        list(self._pool.map(_started, range(self.workers)))  # every process starts now
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __call__(self, fn: Callable[[Any], pd.DataFrame], chunks: Sequence[Any],
                 progress: Progress | None = None) -> list[pd.DataFrame]:
        if self._pool is None:
            with ProcessPoolRunner(min(self.workers, len(chunks))) as runner:
                return runner(fn, chunks, progress)
        out: list[pd.DataFrame | None] = [None] * len(chunks)
        futures = {self._pool.submit(fn, chunk): i for i, chunk in enumerate(chunks)}
        for done, future in enumerate(as_completed(futures), 1):
            out[futures[future]] = future.result()
            if progress is not None:
                progress(done / len(chunks), f"{done} of {len(chunks)} series chunks forecast")
        return [part for part in out if part is not None]
