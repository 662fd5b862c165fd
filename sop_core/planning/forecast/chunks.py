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
    """``full`` (long ``unique_id, ds, y`` sorted by id) cut into at most ``n_chunks`` chunks of whole series.

    Consecutive series in id order, with about the same number of rows per chunk.

    Returns:
        Non-empty frames whose concatenation is ``full``; every series in exactly one of them.
    """
    ids = full["unique_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    n = max(1, min(int(n_chunks), len(starts)))
    # cut at the series start nearest to every 1/n of the rows
    targets = np.arange(1, n) * len(full) / n
    cuts = np.unique(starts[np.clip(np.searchsorted(starts, targets), 0, len(starts) - 1)])
    bounds = [0, *[int(c) for c in cuts if 0 < c < len(full)], len(full)]
    return [full.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


#: Chunks per local worker process: a few, so that a process that finishes early takes another chunk.
CHUNKS_PER_PROCESS = 2


class ProcessPoolRunner:
    """A :class:`ChunkRunner` on ``workers`` local processes: the statistical engine's ``n_jobs`` > 1 path.

    One pool for the whole run (started once, not per group of series), every chunk forecast on its own, so the
    numbers are those of a single process.
    """

    label = "local"

    def __init__(self, workers: int) -> None:
        self.workers = int(workers)
        self.n_chunks = CHUNKS_PER_PROCESS * self.workers

    def __call__(self, fn: Callable[[Any], pd.DataFrame], chunks: Sequence[Any],
                 progress: Progress | None = None) -> list[pd.DataFrame]:
        out: list[pd.DataFrame | None] = [None] * len(chunks)
        with ProcessPoolExecutor(max_workers=min(self.workers, len(chunks))) as pool:
            futures = {pool.submit(fn, chunk): i for i, chunk in enumerate(chunks)}
            for done, future in enumerate(as_completed(futures), 1):
                out[futures[future]] = future.result()
                if progress is not None:
                    progress(done / len(chunks), f"{done} of {len(chunks)} series chunks forecast")
        return [part for part in out if part is not None]
