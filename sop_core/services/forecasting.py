"""Forecast runs: compute a forecast for every SKU and store it with what is needed to repeat it.

A run stores its engine, parameters, package versions, a sha256 of the input data and a backtest summary:
for "auto" and "lightgbm" the chosen model per SKU with its backtest error and the measured coverage of the
80 % / 95 % intervals. Runs are reproducible: the same input gives the same numbers (LightGBM is seeded,
deterministic and single-threaded; the statistical models are deterministic).

Every engine reads the event calendar (``event``: the uplift of an event counts in the month it starts, for
the SKUs in its scope — a SKU, a family or "*"; see :func:`event_uplift`). The statistical engine (the default)
forecasts the event-adjusted baseline y_t / (1 + u_t) and multiplies the forecast of a month with a planned
event by (1 + u_t) (:mod:`sop_core.planning.forecast.events`): a "+30 %" Black Friday raises that month's forecast by
30 % over the baseline, and past Black Fridays do not lift the baseline of the other months. The run stores the
calendar it used (``params["event_calendar"]``) so that a signed-off plan can be reproduced. The "auto",
"lightgbm" and "prophet" engines also take the promotion flag of ``sales_history`` (future: 1 in a month with
an event for the SKU) and its net price (future: the last price of a month without promotion).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import sop_core
from sop_core.db import audit_repo, cycle_repo, demand_repo, forecast_repo, master_repo, repo, stock_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.db.guards import cycle_frozen
from sop_core.errors import SopError
from sop_core.planning import accuracy as metrics
from sop_core.planning import forecast as fc
from sop_core.planning.forecast import events as fc_events
from sop_core.planning.forecast.chunks import ChunkRunner
from sop_core.services import permissions
from sop_core.units import BACKTEST_HORIZON, FORECAST_HORIZON, INTERVAL_LEVELS, Progress

log = logging.getLogger(__name__)
#: The frequency of every forecast run: month starts.
FREQ = "MS"


class DemandError(SopError):
    """A demand-review request that cannot be served (message is one line for the user): the base of every
    refusal of the demand services (:mod:`.forecasting`, :mod:`.demand`, :mod:`.overrides`)."""


def data_hash(history: pd.DataFrame) -> str:
    """sha256 of the forecast input ``sku, period, quantity`` in a canonical text form (sorted, ISO dates,
    shortest exact float repr) — identical for identical data on SQLite and PostgreSQL.

    The text is one line ``sku,YYYY-MM-DD,repr(float(quantity))`` per row, ordered by sku and period; each
    distinct period and quantity is formatted once.
    """
    frame = history.sort_values(["sku", "period"], kind="stable")
    if frame.empty:
        return hashlib.sha256().hexdigest()
    day_codes, days = pd.factorize(pd.to_datetime(frame["period"]))
    qty_codes, qtys = pd.factorize(frame["quantity"].to_numpy(dtype=float))
    day_text = np.array([f"{d:%Y-%m-%d}" for d in days], dtype=object)
    qty_text = np.array([repr(float(q)) for q in qtys], dtype=object)
    lines = frame["sku"].astype(str).to_numpy(dtype=object) + "," + day_text[day_codes] + "," + qty_text[qty_codes]
    return hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()


def input_hash(history: pd.DataFrame, extra: pd.DataFrame | None = None) -> str:
    """sha256 of the sales input and, when given, of the other inputs (``extra``: exogenous values and event
    uplift by ``unique_id, ds`` in a canonical text form); equals :func:`data_hash` without ``extra``."""
    if extra is None or extra.empty:
        return data_hash(history)
    digest = hashlib.sha256(data_hash(history).encode())
    frame = extra.sort_values(["unique_id", "ds"], kind="stable")
    cols = [c for c in frame.columns if c not in ("unique_id", "ds")]
    digest.update((",".join(cols) + "\n").encode())
    for row in zip(frame["unique_id"], frame["ds"], *[frame[c] for c in cols], strict=True):
        values = ",".join(repr(round(float(v), 9)) for v in row[2:])
        digest.update(f"{row[0]},{pd.Timestamp(row[1]):%Y-%m-%d},{values}\n".encode())
    return digest.hexdigest()


#: Packages whose versions are stored with a run, by engine.
_PACKAGES: dict[str, tuple[str, ...]] = {
    "statistical": ("statsforecast",),
    "auto": ("statsforecast", "mlforecast", "lightgbm"),
    "lightgbm": ("statsforecast", "mlforecast", "lightgbm"),
    "prophet": ("prophet", "cmdstanpy"),
}


def _versions(engine_name: str = "statistical") -> dict[str, str]:
    out = {"sop_core": sop_core.__version__, "pandas": pd.__version__, "numpy": np.__version__}
    for pkg in _PACKAGES.get(engine_name, ("statsforecast",)):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover - a required dependency
            out[pkg] = "unknown"
    return out


def event_uplift(events: pd.DataFrame, products: pd.DataFrame, skus: list[str]) -> pd.DataFrame:
    """Known event uplift per SKU and month: ``unique_id, ds, uplift`` [fraction] (uplift_pct / 100).

    An event counts in the month it starts, for every SKU in its scope (a SKU code, a family code, or "*");
    several events of one SKU in one month: the largest uplift. Sorted by SKU and month.
    """
    if events.empty:
        return pd.DataFrame(columns=["unique_id", "ds", "uplift"])
    ev = pd.DataFrame({"scope": events["scope"].astype(str).to_numpy(),
                       "ds": pd.to_datetime(events["start"]).dt.to_period("M").dt.to_timestamp().to_numpy(),
                       "uplift": events["uplift_pct"].to_numpy(dtype=float) / 100.0})
    fam = products.set_index("sku")["family"].astype(str)
    sku = pd.DataFrame({"unique_id": np.array(skus, dtype=object)})
    sku["family"] = sku["unique_id"].map(fam)
    everywhere = ev[ev["scope"] == "*"].merge(sku[["unique_id"]], how="cross")
    by_sku = ev.merge(sku[["unique_id"]], left_on="scope", right_on="unique_id")
    by_family = ev.merge(sku, left_on="scope", right_on="family")
    hits = pd.concat([part[["unique_id", "ds", "uplift"]] for part in (everywhere, by_sku, by_family)],
                     ignore_index=True)
    return hits.groupby(["unique_id", "ds"], as_index=False)["uplift"].max()


def event_calendar(events: pd.DataFrame) -> list[dict[str, Any]]:
    """The event rows a forecast uses, as stored with a run: ``start`` (YYYY-MM-DD), ``scope``, ``uplift_pct``
    [%], sorted by start, scope and uplift."""
    if events.empty:
        return []
    rows = sorted((f"{pd.Timestamp(d):%Y-%m-%d}", str(sc), float(p))
                  for d, sc, p in zip(events["start"], events["scope"], events["uplift_pct"], strict=True))
    return [{"start": d, "scope": sc, "uplift_pct": p} for d, sc, p in rows]


def calendar_frame(records: list[dict[str, Any]] | None) -> pd.DataFrame:
    """``start, scope, uplift_pct`` of stored :func:`event_calendar` records (empty for None)."""
    frame = pd.DataFrame(records or [], columns=["start", "scope", "uplift_pct"])
    frame["start"] = pd.to_datetime(frame["start"])
    return frame


def statistical_forecast(
    history: pd.DataFrame,
    horizon: int,
    uplift: pd.DataFrame | None = None,
    *,
    level: tuple[int, ...] = INTERVAL_LEVELS,
    workers: int = 1,
    products: pd.DataFrame | None = None,
    reconciliation: str = "bottom_up",
    progress: Progress | None = None,
    chunk_runner: ChunkRunner | None = None,
) -> pd.DataFrame:
    """The default engine of a forecast run: the statistical forecast of every SKU with its known events.

    ŷ_{i,t} = b̂_{i,t} · (1 + u_{i,t}), where b̂ is the statistical forecast (:mod:`sop_core.planning.forecast.statistical`)
    of the event-adjusted history b_{i,t} = y_{i,t} / (1 + u_{i,t}) and u_{i,t} the uplift [fraction] of the
    events of SKU i in month t (0 without an event); the 80 % / 95 % bounds are scaled alike. With a
    reconciliation other than "bottom_up" the family, category and total baselines are forecast too and
    reconciled with the SKU baselines before the events are applied.

    Args:
        history: ``unique_id, ds, y`` (SKU, month start, units sold).
        horizon: months to forecast [months].
        uplift: ``unique_id, ds, uplift`` of :func:`event_uplift` (None: no events).
        level: interval coverages [%].
        workers: worker processes.
        products: ``sku, family, category`` (needed for a reconciliation).
        reconciliation: "bottom_up", "ols" or "wls_struct".
        progress: optional callback ``(fraction 0..1, message)``.
        chunk_runner: where the chunks of series are forecast (e.g. a Dask cluster, see
            :mod:`sop_core.services.forecast_backends`); None: ``workers`` local processes. Same numbers.

    Returns:
        DataFrame[unique_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95, model] [units].
    """
    base_history = fc_events.remove_uplift(history.assign(ds=pd.to_datetime(history["ds"])), uplift)
    base = fc.forecast(base_history, horizon, freq=FREQ, engine="statistical", level=level, n_jobs=workers,
                       progress=progress, chunk_runner=chunk_runner)
    if reconciliation != "bottom_up":
        if products is None:
            raise ValueError("a reconciliation needs the products (sku, family, category)")
        base = _reconciled(base_history, base, products, horizon, "statistical", workers, reconciliation, chunk_runner)
    return fc_events.apply_uplift(base, uplift)


def _exogenous(engine: Engine, history: pd.DataFrame, products: pd.DataFrame, horizon: int
               ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """History with ``promo, price``, their future values, and the event uplift (see the module docstring)."""
    with session_scope(engine) as s:
        sales = repo.read_frame(s, m.SalesHistory)
        events = repo.read_frame(s, m.Event)
    skus = sorted(history["sku"].astype(str).unique())
    uplift = event_uplift(events, products, skus)
    ex = sales.rename(columns={"sku": "unique_id", "period": "ds", "net_price": "price"})[["unique_id", "ds", "promo", "price"]]
    ex["ds"] = pd.to_datetime(ex["ds"])
    ex["promo"] = ex["promo"].fillna(0).astype(float)
    ex["price"] = ex.groupby("unique_id")["price"].ffill().bfill() if ex["price"].notna().any() else 0.0
    ex["price"] = ex["price"].fillna(0.0)
    last = pd.Timestamp(history["period"].max())
    months = pd.date_range(last, periods=horizon + 1, freq=FREQ)[1:]
    fut = pd.DataFrame({"unique_id": np.repeat(skus, len(months)), "ds": np.tile(months, len(skus))})
    regular = ex[ex["promo"] == 0].groupby("unique_id")["price"].last()
    fut["price"] = fut["unique_id"].map(regular).fillna(fut["unique_id"].map(ex.groupby("unique_id")["price"].last())).fillna(0.0)
    has_event = set(zip(uplift["unique_id"], uplift["ds"], strict=True)) if not uplift.empty else set()
    fut["promo"] = [1.0 if (u, d) in has_event else 0.0 for u, d in zip(fut["unique_id"], fut["ds"], strict=True)]
    return ex, fut[["unique_id", "ds", "promo", "price"]], uplift


def long_history(history: pd.DataFrame) -> pd.DataFrame:
    """``sku, period, quantity`` → ``unique_id, ds, y``."""
    return history.rename(columns={"sku": "unique_id", "period": "ds", "quantity": "y"})[["unique_id", "ds", "y"]]


def _r(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


#: Accuracy metrics stored per level and item with every run's backtest (``<metric>_by_level``).
BY_LEVEL_METRICS: tuple[str, ...] = ("wmape", "mape", "mase", "bias", "tracking_signal")


def _metrics_by_level(bt: pd.DataFrame, history_long: pd.DataFrame, products: pd.DataFrame) -> dict[str, Any]:
    """``<metric>_by_level``: level → item → value of the backtest ``unique_id, ds, y, yhat`` aggregated to
    every level; MASE divides the mean absolute error by the mean seasonal naive error |Y_t − Y_{t−12}| of the
    item's history (DESIGN.md), Y summed over the SKUs the backtest covers only (a SKU without backtest
    months — launched after the cutoff — enters neither the error nor the scale)."""
    out: dict[str, Any] = {f"{name}_by_level": {} for name in BY_LEVEL_METRICS}
    full = fc.prepare_history(history_long[history_long["unique_id"].isin(set(bt["unique_id"]))], FREQ)
    for level in fc.LEVELS:
        agg = fc.aggregate(bt[["unique_id", "ds", "y", "yhat"]], products, level)
        table = metrics.accuracy_table(agg, by=["unique_id"]).set_index("unique_id")
        hist = fc.aggregate(full, products, level).sort_values(["unique_id", "ds"])
        scale = (hist["y"] - hist.groupby("unique_id")["y"].shift(12)).abs().groupby(hist["unique_id"]).mean()
        mae = (agg["y"] - agg["yhat"]).abs().groupby(agg["unique_id"]).mean()
        table["mase"] = mae / scale.where(scale > 0)
        for name in BY_LEVEL_METRICS:
            out[f"{name}_by_level"][level] = {str(k): _r(v) for k, v in table[name].items()}
    return out


def _backtest_summary(history: pd.DataFrame, products: pd.DataFrame, horizon: int, workers: int,
                      progress: Progress, uplift: pd.DataFrame | None = None,
                      chunk_runner: ChunkRunner | None = None) -> dict[str, Any]:
    """WMAPE and bias of a one-window holdout (the last ``horizon`` months) of the statistical engine with
    the known events ``uplift``, per level and item (forecast on ``chunk_runner`` when given)."""
    try:
        bt = fc.backtest(long_history(history), horizon, windows=1, freq=FREQ, n_jobs=workers, uplift=uplift,
                         progress=progress, chunk_runner=chunk_runner)
    except ValueError as err:
        return {"skipped": str(err)}
    by_level = _metrics_by_level(bt, long_history(history), products)
    overall = metrics.accuracy_table(bt, by=[]).iloc[0]
    return {
        "method": f"holdout, 1 window of {horizon} months",
        "horizon": horizon,
        "windows": 1,
        "cutoff": f"{pd.Timestamp(bt['cutoff'].iloc[0]):%Y-%m-%d}",
        "n_series": int(bt["unique_id"].nunique()),
        "wmape": _r(overall["wmape"]),
        "bias": _r(overall["bias"]),
        **by_level,
    }


def _details_summary(details: Any, products: pd.DataFrame, history_long: pd.DataFrame) -> dict[str, Any]:
    """Backtest summary of an "auto" / "lightgbm" / "prophet" run: the chosen model per SKU and its error."""
    bt = details.backtest
    if bt.empty:
        return {"skipped": "no rolling-origin backtest for this engine"}
    by_level = _metrics_by_level(bt, history_long, products)
    overall = metrics.accuracy_table(bt, by=[]).iloc[0]
    choice = details.choice
    by_series = {
        str(u): {"model": str(mdl), "mae": _r(mae), "n_points": int(n)}
        for u, mdl, mae, n in zip(choice["unique_id"], choice["model"], choice["mae"], choice["n_points"], strict=True)
    }
    cutoffs = sorted(pd.to_datetime(bt["cutoff"].unique()))
    return {
        "method": f"rolling origin, {len(cutoffs)} windows of {details.params.get('bt_h')} months; errors of "
                  "the model chosen on the other windows",
        "horizon": details.params.get("bt_h"),
        "windows": len(cutoffs),
        "cutoff": f"{cutoffs[-1]:%Y-%m-%d}",
        "cutoffs": [f"{c:%Y-%m-%d}" for c in cutoffs],
        "n_series": int(bt["unique_id"].nunique()),
        "wmape": _r(overall["wmape"]),
        "bias": _r(overall["bias"]),
        **by_level,
        "coverage": {str(k): v for k, v in details.coverage.items()},
        "by_series": by_series,
    }


def _reconciled(long: pd.DataFrame, frame: pd.DataFrame, products: pd.DataFrame, horizon: int, engine_name: str,
                workers: int, method: str, chunk_runner: ChunkRunner | None = None) -> pd.DataFrame:
    """Forecast every family, category and the total with the same engine (without exogenous inputs; on
    ``chunk_runner`` when given) and reconcile them with the SKU forecasts ``frame``."""
    full = fc.prepare_history(long, FREQ)
    parts = [frame.assign(level="sku")]
    for level in ("family", "category", "total"):
        agg = fc.aggregate(full, products, level)
        name = "statistical" if engine_name == "prophet" else engine_name
        out = fc.forecast(agg, horizon, freq=FREQ, engine=name, level=INTERVAL_LEVELS, n_jobs=workers,
                          chunk_runner=chunk_runner)
        parts.append(out.assign(level=level))
    base = pd.concat(parts, ignore_index=True)
    rec = fc.reconcile(base, products, method)  # type: ignore[arg-type]
    return rec[frame.columns.tolist()]


# ---------------------------------------------------------------------------- run
@dataclass(frozen=True)
class ComputedForecast:
    """A forecast run computed by :func:`compute_forecast` and not stored yet: what :func:`store_forecast` writes
    (``rows``: ``sku, period, yhat, yhat_lo_*, yhat_hi_*, model`` [units]) and the seconds the computing took."""

    cycle_id: int | None
    engine_name: str
    horizon: int
    params: dict[str, Any]
    summary: dict[str, Any]
    digest: str
    rows: pd.DataFrame
    seconds: float


def run_forecast(
    engine: Engine,
    cycle_id: int | None = None,
    horizon: int = FORECAST_HORIZON,
    engine_name: str = "statistical",
    workers: int = 1,
    user: str = "demo",
    progress: Progress | None = None,
    *,
    reconciliation: str = "bottom_up",
    windows: int = 3,
    chunk_runner: ChunkRunner | None = None,
) -> int:
    """Forecast every SKU from the month after the last actual and store the run; returns the run id.

    Stores a ``forecast_run`` (engine, horizon, parameters, package versions, sha256 of the input, a
    backtest summary) and its forecast rows in one transaction. The backtest summary of "statistical" is a
    one-window holdout of the last :data:`BACKTEST_HORIZON` months; of "auto" and "lightgbm" the rolling-origin
    backtest the models were chosen on: WMAPE and bias per level and item, the chosen model per SKU with its
    backtest MAE (``by_series``) and the measured coverage of the 80 % / 95 % intervals (``coverage``).

    Args:
        engine: the database.
        cycle_id: plan cycle the run belongs to (None: not tied to a cycle).
        horizon: months to forecast [months].
        engine_name: forecast engine: "statistical" (fast; the default; with the event calendar, see
            :func:`statistical_forecast`), "auto", "lightgbm" or "prophet" (see :func:`sop_core.planning.forecast.forecast`).
        workers: worker processes.
        user: who starts the run: an enabled user with the ``forecast`` action of
            :mod:`sop_core.services.permissions` (a demand planner or an admin).
        progress: optional callback ``(fraction 0..1, message)``.
        reconciliation: "bottom_up" (the SKU forecasts as they are), or "ols" / "wls_struct": every family,
            category and the total is forecast too and the levels are reconciled (MinT, see
            :mod:`sop_core.planning.forecast.reconcile`); the stored SKU rows add up to every level either way.
        windows: backtest origins of "auto" and "lightgbm" (model choice and interval calibration).
        chunk_runner: where the statistical engine forecasts its chunks of series (a Dask cluster of
            :func:`sop_core.services.forecast_backends.open_backend`); None: this machine. The stored forecast is
            the same; ``params["backend"]`` records where it ran.

    Raises:
        NotAllowed: ``user`` may not run the forecast.
        DemandError: no sales history, unknown cycle, or a ``chunk_runner``
            with an engine other than "statistical".
        ValueError: unknown engine or invalid history.
    """
    computed = compute_forecast(engine, cycle_id, horizon, engine_name, workers, user, progress,
                                reconciliation=reconciliation, windows=windows, chunk_runner=chunk_runner)
    return store_forecast(engine, computed, user, progress)


def compute_forecast(
    engine: Engine,
    cycle_id: int | None = None,
    horizon: int = FORECAST_HORIZON,
    engine_name: str = "statistical",
    workers: int = 1,
    user: str = "demo",
    progress: Progress | None = None,
    *,
    reconciliation: str = "bottom_up",
    windows: int = 3,
    chunk_runner: ChunkRunner | None = None,
) -> ComputedForecast:
    """Forecast every SKU from the month after the last actual, without storing it (:func:`store_forecast` does):
    the arguments, the checks and the figures of :func:`run_forecast`; the progress runs to 92 %."""
    permissions.require(engine, user, "forecast")  # before anything is read or reported
    report = progress or (lambda _f, _m: None)
    fc.check_engine(engine_name)
    if chunk_runner is not None and engine_name != "statistical":
        raise DemandError(f"the {engine_name} engine fits all series together and runs on this machine only")
    started = time.perf_counter()
    report(0.0, "Loading sales history…")
    with session_scope(engine) as s:
        cycle = cycle_repo.cycle(s, cycle_id) if cycle_id is not None else None
        if cycle_id is not None and cycle is None:
            raise DemandError(f"no plan cycle with id {cycle_id}")
        if cycle is not None and cycle_frozen(s.connection(), cycle.id):
            raise DemandError(
                f"cycle {cycle.month:%Y-%m} is signed off (or closed): its forecast is frozen; "
                "forecast the open cycle, or start a new plan version"
            )
        history = stock_repo.sales(s)
        products = master_repo.products(s)
        events = demand_repo.events(s)
    if history.empty:
        raise DemandError("sales_history is empty: import sales history before forecasting")
    if reconciliation not in fc.RECONCILE_METHODS:
        raise ValueError(f"unknown reconciliation {reconciliation!r}; expected one of {', '.join(fc.RECONCILE_METHODS)}")
    long = long_history(history)
    extra: pd.DataFrame | None = None
    details: Any = None
    run_params: dict[str, Any] = {}
    if engine_name == "statistical":
        uplift = event_uplift(events, products, sorted(history["sku"].astype(str).unique()))
        frame = statistical_forecast(
            long, horizon, uplift, workers=workers, products=products, reconciliation=reconciliation,
            progress=lambda f, msg: report(0.05 + 0.5 * f, msg), chunk_runner=chunk_runner,
        )
        summary = _backtest_summary(history, products, min(BACKTEST_HORIZON, horizon), workers,
                                    lambda f, msg: report(0.55 + 0.35 * f, msg), uplift, chunk_runner)
        run_params.update({"holdout": fc.StatisticalForecaster().holdout, "events": int(len(uplift)),
                           "event_calendar": event_calendar(events)})
    else:
        report(0.03, "Loading prices, promotions and events…")
        ex, fut, uplift = _exogenous(engine, history, products, horizon)
        full = fc.prepare_history(long, FREQ)
        exog = full[["unique_id", "ds"]].merge(ex, on=["unique_id", "ds"], how="left")
        exog[["promo", "price"]] = exog.groupby("unique_id")[["promo", "price"]].ffill().fillna(0.0)
        details = fc.forecast_details(
            full, horizon, FREQ, engine_name, INTERVAL_LEVELS, n_jobs=workers, exog=exog, future_exog=fut, uplift=uplift,
            windows=windows, progress=lambda f, msg: report(0.05 + 0.8 * f, msg),
        )
        frame = details.forecast
        extra = exog.merge(uplift, on=["unique_id", "ds"], how="outer").fillna(0.0) if not uplift.empty else exog
        summary = _details_summary(details, products, long)
        run_params.update({**details.params, "exogenous": ["promo", "price"], "events": int(len(uplift))})
    if reconciliation != "bottom_up" and engine_name != "statistical":
        report(0.86, "Reconciling family, category and total forecasts…")
        frame = _reconciled(long, frame, products, horizon, engine_name, workers, reconciliation)
    digest = input_hash(history, extra)
    patterns = fc.classify_demand(fc.prepare_history(long, FREQ))
    per_series = frame.drop_duplicates("unique_id")["model"].value_counts().sort_index()
    params = {
        "freq": FREQ,
        "level": list(INTERVAL_LEVELS),
        "season_length": fc.season_length_for(FREQ),
        "workers": workers,
        "backend": chunk_runner.label if chunk_runner is not None else "local",
        "reconciliation": reconciliation,
        "last_actual": f"{history['period'].max():%Y-%m-%d}",
        "first_forecast": f"{frame['ds'].min():%Y-%m-%d}",
        "n_series": int(frame["unique_id"].nunique()),
        "models": {str(k): int(v) for k, v in per_series.items()},
        "patterns": {str(k): int(v) for k, v in patterns["pattern"].value_counts().sort_index().items()},
        **run_params,
    }
    rows = frame.rename(columns={"unique_id": "sku", "ds": "period"})
    return ComputedForecast(cycle_id=cycle_id, engine_name=engine_name, horizon=int(horizon), params=params,
                            summary=summary, digest=digest, rows=rows, seconds=time.perf_counter() - started)


def store_forecast(engine: Engine, computed: ComputedForecast, user: str = "demo",
                   progress: Progress | None = None) -> int:
    """Store a run of :func:`compute_forecast` (its ``forecast_run`` and forecast rows, audited as ``user``'s) in one
    transaction; returns the run id.

    Raises:
        NotAllowed: ``user`` may not run the forecast.
        DemandError: the run's cycle was signed off (or closed) since the forecast was computed.
    """
    permissions.require(engine, user, "forecast")
    report = progress or (lambda _f, _m: None)
    engine_name, horizon, cycle_id, rows = computed.engine_name, computed.horizon, computed.cycle_id, computed.rows
    params, digest = computed.params, computed.digest
    started = time.perf_counter()
    report(0.92, "Storing the forecast…")
    with session_scope(engine) as s:
        if cycle_id is not None and cycle_frozen(s.connection(), cycle_id):
            raise DemandError("the cycle was signed off while its forecast was computed: forecast the open cycle")
        run_id = forecast_repo.add_run(
            s, cycle_id=cycle_id, created_by=user, engine=engine_name, horizon=horizon, freq=FREQ,
            params=params, versions=_versions(engine_name), data_hash=digest, backtest=computed.summary,
            status="done",
        )
        repo.insert_frame(s, m.Forecast, rows, run_id=run_id)
        audit_repo.audit(s, user, "forecast_run", "forecast_run", run_id,
                         {"engine": engine_name, "horizon": horizon, "cycle_id": cycle_id, "data_hash": digest},
                         after={"run_id": run_id, "engine": engine_name, "horizon": horizon, "rows": len(rows)})
    log.info("forecast run %d: %d series × %d months in %.1f s", run_id, params["n_series"], horizon,
             computed.seconds + time.perf_counter() - started)
    report(1.0, f"Forecast run {run_id} stored")
    return run_id


# ---------------------------------------------------------------------------- read


def stored_run(session: Session, run_id: int) -> m.ForecastRun:
    """Forecast run ``run_id`` in ``session``.

    Raises:
        DemandError: no such run.
    """
    run = forecast_repo.run_by_id(session, run_id)
    if run is None:
        raise DemandError(f"no forecast run with id {run_id}")
    return run


def run_info(engine: Engine, run_id: int) -> dict[str, Any]:
    """The stored fields of forecast run ``run_id`` (engine, params, versions, data_hash, backtest …).

    Raises:
        DemandError: no such run.
    """
    with session_scope(engine) as s:
        return forecast_repo.run_as_dict(stored_run(s, run_id))
