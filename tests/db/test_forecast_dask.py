"""Forecast runs on a Dask cluster: the same stored forecast as on this machine, and the CLI's refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.cli.main import main
from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import session_scope
from sop_core.planning import forecast as fc
from sop_core.planning.forecast.chunks import series_chunks
from sop_core.services import forecast_backends, forecasting

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

ROOT = Path(__file__).resolve().parents[2]
VALUES = ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


def _rows(engine: Engine, run_id: int) -> pd.DataFrame:
    with session_scope(engine) as s:
        rows = repo.read_frame(s, m.Forecast, m.Forecast.run_id == run_id)
    return rows.sort_values(["sku", "period"]).reset_index(drop=True)


@pytest.mark.slow
def test_dask_backend_stores_the_local_forecast(demo_url: str, demo_engine: Engine,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The same command on this machine and on a 2-worker Dask LocalCluster stores the same forecast. The Dask
    run is `python -m sop_core` in its own process, as a user runs it (its workers start from that command)."""
    monkeypatch.setenv("SOP_DATABASE_URL", demo_url)
    assert main(["forecast", "--horizon", "6", "--as", "demo"]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "sop_core", "forecast", "--backend", "dask", "--workers", "2", "--horizon", "6",
         "--as", "demo"],
        cwd=ROOT, env={**os.environ, "SOP_DATABASE_URL": demo_url}, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "on dask LocalCluster(2 workers)" in done.stdout
    assert "series chunks done on the cluster" in done.stderr
    with session_scope(demo_engine) as s:
        runs = repo.read_frame(s, m.ForecastRun).sort_values("id")
    local, dask = (int(i) for i in runs["id"].iloc[-2:])
    a, b = _rows(demo_engine, local), _rows(demo_engine, dask)
    assert len(a) == 176 * 6 and a[["sku", "period"]].equals(b[["sku", "period"]])
    assert (a["model"] == b["model"]).all()
    np.testing.assert_allclose(b[VALUES].to_numpy(float), a[VALUES].to_numpy(float), rtol=0, atol=1e-9)
    info_a, info_b = forecasting.run_info(demo_engine, local), forecasting.run_info(demo_engine, dask)
    assert info_a["params"]["backend"] == "local"
    assert info_b["params"]["backend"] == "dask LocalCluster(2 workers)"
    assert info_a["backtest"] == info_b["backtest"]


def test_open_backend_local_is_no_runner() -> None:
    with forecast_backends.open_backend("local", workers=2) as runner:
        assert runner is None


def test_series_chunks_keep_whole_series() -> None:
    full = fc.prepare_history(pd.DataFrame({
        "unique_id": np.repeat(["a", "b", "c", "d", "e"], [3, 10, 1, 6, 4]),
        "ds": np.concatenate([pd.date_range("2024-01-01", periods=n, freq="MS") for n in (3, 10, 1, 6, 4)]),
        "y": 1.0,
    }))
    for n in (1, 2, 3, 5, 9):
        parts = series_chunks(full, n)
        assert 1 <= len(parts) <= n and pd.concat(parts).sort_index().equals(full)
        assert sum(p["unique_id"].nunique() for p in parts) == 5
        sizes = [p["unique_id"].nunique() for p in parts]
        assert max(sizes) - min(sizes) <= 1
    # dealt round-robin in id order: neighbouring series (alike to forecast) go to different chunks
    assert [sorted(p["unique_id"].unique()) for p in series_chunks(full, 2)] == [["a", "c", "e"], ["b", "d"]]


def test_dask_backend_refuses_global_engines() -> None:
    with pytest.raises(forecast_backends.BackendError, match="runs on the local backend only"):
        forecast_backends.check_backend("dask", "auto")
    with pytest.raises(ValueError, match="only the statistical engine runs in chunks"):
        fc.forecast(pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=12, freq="MS"),
                                  "y": 1.0}), 2, engine="lightgbm", chunk_runner=object())  # type: ignore[arg-type]


def test_cli_dask_backend_one_line_errors(demo_url: str, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SOP_DATABASE_URL", demo_url)
    cases = [
        (["forecast", "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
        (["forecast", "--backend", "dask", "--engine", "auto"], "the auto engine fits all series together"),
        (["forecast", "--scheduler", "tcp://127.0.0.1:9"], "--scheduler needs --backend dask"),
    ]
    for argv, message in cases:
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and err.count("\n") == 1, err
    with pytest.raises(SystemExit):
        main(["forecast", "--backend", "spark"])
    assert "invalid choice: 'spark'" in capsys.readouterr().err


def _column_sums(chunk: pd.DataFrame) -> pd.DataFrame:
    return chunk.sum().to_frame().T


def test_dask_chunks_go_to_the_workers_beside_the_graph() -> None:
    """The runner scatters the chunks to the workers and sends tasks that name them: 16 MB of chunks (17,600 series
    make 22 MB) raise no "Sending large graph" warning, which tasks carrying their chunk do; each chunk's result
    comes back in the chunks' order."""
    from distributed import Client, LocalCluster

    chunks = [pd.DataFrame({"y": np.full(500_000, float(i))}) for i in range(4)]  # 4 MB each
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = forecast_backends.DaskRunner(client, "test", len(chunks))(_column_sums, chunks)
    assert [float(part["y"].iloc[0]) for part in out] == [0.0, 500_000.0, 1_000_000.0, 1_500_000.0]
    assert not [w for w in caught if "large graph" in str(w.message)], [str(w.message) for w in caught]
