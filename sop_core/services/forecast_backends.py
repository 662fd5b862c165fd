"""Where a forecast run computes: this process ("local") or a Dask cluster ("dask").

On "dask" the statistical engine's chunks of whole series go to the cluster's workers
(:mod:`sop_core.planning.forecast.chunks`); reading the database, the backtest summary's metrics and storing the
run stay in the process that started it. The cluster is either a scheduler that is already running
(``dask scheduler`` with ``dask worker`` processes on machines that have this project installed), or a
:class:`distributed.LocalCluster` of ``workers`` single-threaded processes started for the run and closed after it.
The engines that fit all series together ("auto", "lightgbm": one global LightGBM model, a model choice and
intervals pooled over the series) and "prophet" run locally only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
from distributed import Client, LocalCluster, as_completed

from sop_core.errors import SopError
from sop_core.planning.forecast.chunks import BACKENDS, ChunkRunner
from sop_core.units import Progress

#: Engines the "dask" backend runs (forecast series by series).
DASK_ENGINES: tuple[str, ...] = ("statistical",)
#: Chunks per worker thread: a few, so that a worker that finishes early takes another chunk.
CHUNKS_PER_THREAD = 2


class BackendError(SopError):
    """A forecast backend that cannot be used (unknown, unreachable, or not for that engine); one line."""


@dataclass
class DaskRunner:
    """A :class:`sop_core.planning.forecast.chunks.ChunkRunner` on a Dask cluster: one task per chunk."""

    client: Client
    label: str
    n_chunks: int

    def __call__(self, fn: Callable[[Any], pd.DataFrame], chunks: Sequence[Any],
                 progress: Progress | None = None) -> list[pd.DataFrame]:
        """``[fn(c) for c in chunks]`` computed on the cluster's workers, in the order of ``chunks``;
        ``progress`` gets ``(fraction of chunks done, message)`` as each chunk finishes."""
        report = progress or (lambda _f, _m: None)
        # the chunks go to the workers first, as data (client.scatter): a task then names its chunk instead of
        # carrying it, and the task graph the scheduler holds stays small (tens of MB at 17,600 series otherwise:
        # Dask's "large graph")
        data = self.client.scatter(list(chunks), hash=False)
        futures = self.client.map(fn, data, pure=False)
        position = {f.key: i for i, f in enumerate(futures)}
        out: list[pd.DataFrame | None] = [None] * len(futures)
        for done, future in enumerate(as_completed(futures), start=1):
            out[position[future.key]] = future.result()
            report(done / len(futures), f"{done} of {len(futures)} series chunks done on the cluster")
        return [part for part in out if part is not None]


def check_backend(backend: str, engine_name: str) -> None:
    """Raise :class:`BackendError` when ``backend`` is unknown or cannot run ``engine_name``."""
    if backend not in BACKENDS:
        raise BackendError(f"unknown forecast backend {backend!r}; available: {', '.join(BACKENDS)}")
    if backend == "dask" and engine_name not in DASK_ENGINES:
        raise BackendError(
            f"the {engine_name} engine fits all series together (one model choice and interval calibration over "
            f"every series) and runs on the local backend only; the dask backend runs: {', '.join(DASK_ENGINES)}"
        )


@contextmanager
def open_backend(backend: str = "local", *, scheduler: str | None = None, workers: int = 1,
                 engine_name: str = "statistical", timeout: float = 10.0) -> Iterator[ChunkRunner | None]:
    """The chunk runner of ``backend`` for the length of the ``with`` block (None for "local").

    Args:
        backend: "local" (this process and ``workers`` local processes) or "dask".
        scheduler: address of a running Dask scheduler (``tcp://host:8786``); None: a LocalCluster of
            ``workers`` processes with one thread each, closed at the end of the block.
        workers: processes of the LocalCluster (≥ 1; ignored with a ``scheduler``: its workers count).
        engine_name: the engine the run will use (checked against :data:`DASK_ENGINES`).
        timeout: seconds to wait for the scheduler [s].

    Raises:
        BackendError: unknown backend, an engine the backend cannot run, ``workers`` < 1, or a scheduler that
            cannot be reached.
    """
    check_backend(backend, engine_name)
    if backend == "local":
        yield None
        return
    if workers < 1:
        raise BackendError(f"workers must be ≥ 1, got {workers}")
    cluster: LocalCluster | None = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as err:
        if cluster is not None:
            cluster.close()
        where = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
        raise BackendError(f"cannot reach {where}: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from err
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError as err:
            raise BackendError(f"the Dask scheduler at {scheduler} has no workers: start `dask worker {scheduler}`") from err
        threads = sum(client.nthreads().values())
        label = f"dask {scheduler}" if scheduler else f"dask LocalCluster({workers} workers)"
        yield DaskRunner(client, label, CHUNKS_PER_THREAD * threads)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
