"""Demand review services: the stored forecast per level and item, and the consensus.

Forecast runs are made by :mod:`.forecasting`; overrides are edited through :mod:`.overrides`; accuracy on
the actuals is :mod:`.demand_accuracy`. Consensus = statistical forecast + overrides (rules in
:mod:`sop_core.planning.consensus`).

Loads through :mod:`sop_core.db.forecast_repo`, :mod:`sop_core.db.override_repo` and the other
:mod:`sop_core.db` repositories, computes with :mod:`sop_core.planning.forecast`. Quantities are in
units, periods are month starts.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sop_core.db import (
    audit_repo,
    cycle_repo,
    demand_repo,
    forecast_repo,
    master_repo,
    override_repo,
    stock_repo,
)
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.db.guards import cycle_frozen
from sop_core.formatting import plural
from sop_core.planning import consensus as cons
from sop_core.planning import forecast as fc
from sop_core.planning.forecast.hierarchy import Level
from sop_core.services import figures
from sop_core.services.forecasting import FREQ, DemandError, event_calendar, long_history, stored_run

log = logging.getLogger(__name__)
#: The months ahead that :func:`family_summary` sums [months].
SUMMARY_MONTHS = (3, 6, 12)
#: The columns of :func:`demand_view`.
VIEW_COLUMNS = ["period", "actual", "forecast", "lo_80", "hi_80", "lo_95", "hi_95"]


# ---------------------------------------------------------------------------- helpers
def latest_run(engine: Engine, cycle_id: int | None = None) -> dict[str, Any] | None:
    """The newest finished run of ``cycle_id`` (of any cycle when None) as a dict of its fields, or None."""
    with session_scope(engine) as s:
        run = forecast_repo.latest_run(s, cycle_id)
        return forecast_repo.run_as_dict(run) if run is not None else None


def review_stamp(engine: Engine, cycle_id: int) -> str:
    """A short text that changes whenever a cycle's demand review data does (runs, overrides, sales,
    events), for every user: pages key their shared caches on it, so one planner's save shows at
    once to the others."""
    return figures.cycle_stamp(engine, demand_repo.REVIEW_TABLES, cycle_id)


def _load(engine: Engine, run_id: int | None) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any] | None, pd.DataFrame]:
    with session_scope(engine) as s:
        run = forecast_repo.run_by_id(s, run_id) if run_id is not None else forecast_repo.latest_run(s)
        if run_id is not None and run is None:
            raise ValueError(f"no forecast run with id {run_id}")
        info = forecast_repo.run_as_dict(run) if run is not None else None
        rows = forecast_repo.forecast_rows(s, run.id) if run is not None else None
        history = stock_repo.sales(s)
        products = master_repo.products(s)
    if rows is None:
        rows = pd.DataFrame(columns=["sku", "period", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"])
    return history, products, info, rows


@dataclass(frozen=True)
class Freshness:
    """What a forecast run was made from, against the sales history now (see :func:`forecast_freshness`).

    Attributes:
        run_id: the forecast run.
        made_at: when the run was made.
        data_until: the newest sales month the run was made from (its last actual month).
        sales_until: the newest sales month in the database now (None without history).
        imported_at: the latest import of sales history after the run was made (None: none since).
        skus_without_forecast: SKUs with sales history that the run does not forecast (imported since).
        events_changed: the event calendar differs from the one the run used (runs that store theirs).
        cycle: the run's cycle "YYYY-MM" ("" when not tied to a cycle).
        frozen: the cycle is signed off or closed: its forecast can no longer be run again.
    """

    run_id: int
    made_at: dt.datetime | None
    data_until: pd.Timestamp | None
    sales_until: pd.Timestamp | None
    imported_at: dt.datetime | None
    skus_without_forecast: int
    events_changed: bool = False
    cycle: str = ""
    frozen: bool = False

    @property
    def newer_sales(self) -> bool:
        """Sales of months after the run's last actual month have come in."""
        return self.sales_until is not None and (self.data_until is None or self.sales_until > self.data_until)

    @property
    def stale(self) -> bool:
        """The run is older than its data: newer sales months, a sales import since, SKUs it misses, or a
        changed event calendar."""
        return (self.newer_sales or self.imported_at is not None or self.skus_without_forecast > 0
                or self.events_changed)

    def message(self) -> str | None:
        """One paragraph for the planner when the run is stale (None when it is not)."""
        if not self.stale:
            return None
        made = f" on {self.made_at:%Y-%m-%d %H:%M}" if isinstance(self.made_at, dt.datetime) else ""
        base = f" from sales up to {self.data_until:%Y-%m}" if self.data_until is not None else ""
        since = []
        if self.newer_sales:
            since.append(f"sales up to {self.sales_until:%Y-%m} have been imported since")
        elif self.imported_at is not None:
            since.append(f"sales were imported on {self.imported_at:%Y-%m-%d %H:%M} since")
        if self.skus_without_forecast:
            n = self.skus_without_forecast
            since.append(f"{plural(n, 'SKU')} with sales {'have' if n != 1 else 'has'} no forecast in it")
        if self.events_changed:
            since.append("the event calendar has changed since")
        if self.frozen:
            todo = (f"cycle {self.cycle} is signed off, so its forecast stays as it was signed; the open cycle's "
                    "forecast takes the new data")
        else:
            todo = "run the forecast again to plan on the new data"
        return f"This forecast was made{made}{base}; {', and '.join(since)}: {todo}."


def forecast_freshness(engine: Engine, run_id: int) -> Freshness:
    """Whether forecast run ``run_id`` is older than the sales data now (the facts, see :class:`Freshness`).

    Raises:
        DemandError: no such run.
    """
    with session_scope(engine) as s:
        run = stored_run(s, run_id)
        last = (run.params or {}).get("last_actual")
        if last is None:  # older runs: the month before the first forecast month
            first = forecast_repo.forecast_rows(s, run_id)["period"].min()
            last = first - pd.DateOffset(months=1) if pd.notna(first) else None
        imports = audit_repo.sales_imports_since(s, run.created_at)
        calendar = (run.params or {}).get("event_calendar")
        events_changed = calendar is not None and event_calendar(demand_repo.events(s)) != calendar
        cyc = cycle_repo.cycle(s, run.cycle_id) if run.cycle_id is not None else None
        return Freshness(
            run_id=run.id, made_at=run.created_at,
            data_until=pd.Timestamp(last) if last is not None else None,
            sales_until=pd.Timestamp(newest) if (newest := stock_repo.last_sales_period(s)) is not None else None,
            imported_at=imports[-1] if imports else None,
            skus_without_forecast=forecast_repo.skus_without_forecast(s, run.id),
            events_changed=events_changed,
            cycle=f"{cyc.month:%Y-%m}" if cyc is not None else "",
            frozen=cyc is not None and cycle_frozen(s.connection(), cyc.id),
        )


def items(engine: Engine, level: Level) -> list[str]:
    """The items of a level: SKUs, families or categories (sorted), or ["Total"]."""
    if level not in fc.LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(fc.LEVELS)}")
    if level == "total":
        return [fc.TOTAL_ITEM]
    with session_scope(engine) as s:
        products = master_repo.products(s)
    return sorted(products[level].astype(str).unique().tolist())


def item_names(engine: Engine, level: Level) -> dict[str, str]:
    """Display names of the items of a level: "CF-1001 · Doppio Bean-to-Cup Machine" for SKUs, the code
    itself for families, categories and the total."""
    if level != "sku":
        return {i: i for i in items(engine, level)}
    with session_scope(engine) as s:
        products = master_repo.products(s)
    return {str(k): f"{k} · {v}" for k, v in zip(products["sku"], products["name"], strict=True)}


def _series(history: pd.DataFrame, rows: pd.DataFrame, products: pd.DataFrame, level: Level
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History (gap-filled) and forecast summed to ``level``: ``unique_id, ds, y`` and ``unique_id, ds, yhat, …``."""
    hist = fc.prepare_history(long_history(history), FREQ) if not history.empty else pd.DataFrame(columns=["unique_id", "ds", "y"])
    fcst = rows.drop(columns=["model"], errors="ignore").rename(columns={"sku": "unique_id", "period": "ds"})
    return fc.aggregate(hist, products, level), fc.aggregate(fcst, products, level)


def _covered(history: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The sales history of the SKUs a run forecasts (``rows``: its forecast rows)."""
    return history[history["sku"].astype(str).isin(set(rows["sku"].astype(str)))]


def _check_item(engine_items: list[str], level: str, item: str) -> None:
    if item not in engine_items:
        raise ValueError(f"no {level} {item!r}")


def _group(level: Level) -> str | None:
    """The product column the items of ``level`` are (None for the total)."""
    return None if level == "total" else level


def _fetch_run(session: Session, run_id: int | None) -> m.ForecastRun | None:
    """Run ``run_id`` (the newest run of any cycle when None); ValueError when ``run_id`` names no run."""
    run = forecast_repo.run_by_id(session, run_id) if run_id is not None else forecast_repo.latest_run(session)
    if run_id is not None and run is None:
        raise ValueError(f"no forecast run with id {run_id}")
    return run


#: The interval bounds of a stored forecast row.
BOUNDS = ["yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]


def _item_forecast(session: Session, run_id: int, level: Level, item: str) -> pd.DataFrame:
    """``period, yhat, yhat_lo_80, …`` [units] of one item: a SKU's stored rows, else the sums of its SKUs' rows
    with independent intervals (:func:`sop_core.planning.forecast.aggregate`), by period."""
    if level == "sku":
        return forecast_repo.forecast_rows(session, run_id, sku=item).drop(columns=["sku", "model"])
    sums = forecast_repo.forecast_sums(session, run_id, _group(level), None if level == "total" else item,
                                       bounds=tuple(BOUNDS))
    sums = sums.drop(columns="item", errors="ignore").rename(columns={f"sq_{b}": b for b in BOUNDS})
    return fc.bounds_from_squares(sums, BOUNDS)


def demand_view(engine: Engine, level: Level, item: str, run_id: int | None = None) -> pd.DataFrame:
    """History and forecast of one item at one level, for the demand chart and table.

    Args:
        engine: the database.
        level: "sku", "family", "category" or "total".
        item: the SKU / family / category code, or "Total".
        run_id: forecast run (default: the newest run of any cycle).

    Returns:
        DataFrame[period, actual, forecast, lo_80, hi_80, lo_95, hi_95] [units], one row per month: actuals
        (forecast columns NaN) then the forecast months (actual NaN). Aggregates are bottom-up sums, summed in
        the database; the history runs from the item's first month of sales to the last month of anyone's
        (months without a sale are 0), as the forecast's gap-filled history does.

    Raises:
        ValueError: unknown level, item or run.
    """
    _check_item(items(engine, level), level, item)
    key = None if level == "total" else item
    with session_scope(engine) as s:
        run = _fetch_run(s, run_id)
        sales = stock_repo.sales_sums(s, _group(level), key)
        last = stock_repo.last_sales_period(s)
        fcst = _item_forecast(s, run.id, level, item) if run is not None else pd.DataFrame(columns=["period", "yhat", *BOUNDS])
    months = pd.date_range(sales["period"].min(), last, freq=FREQ) if len(sales) else pd.DatetimeIndex([])
    actual = sales.set_index("period")["quantity"].reindex(months, fill_value=0.0)
    past = pd.DataFrame({"period": months, "actual": actual.to_numpy(dtype=float)})
    future = pd.DataFrame({
        "period": fcst["period"].to_numpy(),
        "forecast": fcst["yhat"].to_numpy(dtype=float),
        "lo_80": fcst["yhat_lo_80"].to_numpy(dtype=float), "hi_80": fcst["yhat_hi_80"].to_numpy(dtype=float),
        "lo_95": fcst["yhat_lo_95"].to_numpy(dtype=float), "hi_95": fcst["yhat_hi_95"].to_numpy(dtype=float),
    })
    out = pd.concat([past, future], ignore_index=True).reindex(columns=VIEW_COLUMNS)
    out["period"] = pd.to_datetime(out["period"])
    return out.sort_values("period", kind="stable").reset_index(drop=True)


def item_summary(engine: Engine, level: Level, item: str, run_id: int | None = None,
                 cycle_id: int | None = None) -> dict[str, Any]:
    """Headline figures of one item for the metric cards (with ``cycle_id``: also its consensus).

    "vs last 12 months" compares like with like: the first 12 forecast months of the run against the actuals
    of the 12 months just before its first forecast month (the months the run was made from, the same
    calendar months one year earlier), summed over the SKUs the run forecasts only. Sales imported after
    the run — a newer month, or SKUs it does not cover — do not enter the comparison (they make the run
    stale, see :func:`forecast_freshness`). Sums are taken in the database, once per data version
    (:mod:`sop_core.services.figures`).

    Returns:
        dict with ``forecast_12m`` (sum of the first 12 forecast months [units]), ``actual_last_12m`` (sum of
        the actuals of the run's SKUs in the 12 months before the first forecast month [units]),
        ``actual_from`` / ``actual_to`` (first and last of those months, None without a forecast),
        ``consensus_12m`` (sum of the first 12 consensus months of the cycle [units], None without
        ``cycle_id``), ``change_12m`` (forecast_12m / actual_last_12m − 1, a fraction; None without 12
        forecast months or without actuals), ``backtest_wmape`` (WMAPE of the run's holdout for this item, a
        fraction or None), and the run's ``run_id``, ``engine``, ``created_at``, ``horizon``.
    """
    _check_item(items(engine, level), level, item)
    stamp = figures.data_stamp(engine, *CONSENSUS_INPUTS, m.SalesHistory)
    return figures.once(engine, "item_summary", (level, item, run_id, cycle_id), stamp,
                        lambda: _item_summary(engine, level, item, run_id, cycle_id), tables=figures.ONE_ROW)


def _item_summary(engine: Engine, level: Level, item: str, run_id: int | None, cycle_id: int | None) -> dict[str, Any]:
    group, key = _group(level), None if level == "total" else item
    ly12, first, last = 0.0, None, None
    with session_scope(engine) as s:
        run = _fetch_run(s, run_id)
        info = forecast_repo.run_as_dict(run) if run is not None else {}
        fcst = forecast_repo.forecast_sums(s, run.id, group, key) if run is not None else pd.DataFrame(
            columns=["period", "yhat"])
        future = fcst.sort_values("period").head(12)
        months = pd.DatetimeIndex(future["period"])
        if len(months) and run is not None:
            first = months[0] - pd.DateOffset(months=12)
            last = months[0] - pd.DateOffset(months=1)
            mine = stock_repo.sales_sums(s, group, key, first.date(), last.date(), forecast_run=run.id)
            ly12 = float(mine["quantity"].sum())
    fc12 = float(future["yhat"].sum())
    wmape = ((info.get("backtest") or {}).get("wmape_by_level") or {}).get(level, {}).get(item)
    cons12 = None
    if cycle_id is not None:
        cons_item = consensus_sums(engine, cycle_id, level, item)
        cons12 = float(cons_item[cons_item["period"].isin(months)]["qty"].sum())
    return {
        "forecast_12m": fc12,
        "consensus_12m": cons12,
        "actual_last_12m": ly12,
        "actual_from": first,
        "actual_to": last,
        "change_12m": fc12 / ly12 - 1.0 if ly12 > 0 and len(future) == 12 else None,
        "backtest_wmape": wmape,
        "run_id": info.get("id"),
        "engine": info.get("engine"),
        "created_at": info.get("created_at"),
        "horizon": info.get("horizon"),
    }


def family_summary(engine: Engine, run_id: int | None = None, level: Level = "family") -> pd.DataFrame:
    """Next 3 / 6 / 12 months of forecast against the same months one year earlier, per family (or level);
    last year sums the SKUs the run forecasts only (like with like, as :func:`item_summary`).

    Returns:
        DataFrame[<level>, forecast_3m, last_year_3m, change_3m, forecast_6m, …, change_12m]: sums [units] and
        changes as fractions (forecast / last year − 1; None when last year is 0), sorted by item.
    """
    history, products, _info, rows = _load(engine, run_id)
    hist, fcst = _series(_covered(history, rows), rows, products, level)
    if fcst.empty:
        return pd.DataFrame(columns=[level])
    months = pd.DatetimeIndex(sorted(fcst["ds"].unique()))
    out = pd.DataFrame({level: sorted(fcst["unique_id"].astype(str).unique())})
    for n in SUMMARY_MONTHS:
        window = months[:n]
        last_year = window - pd.DateOffset(years=1)
        f = fcst[fcst["ds"].isin(window)].groupby("unique_id")["yhat"].sum()
        a = hist[hist["ds"].isin(last_year)].groupby("unique_id")["y"].sum()
        out[f"forecast_{n}m"] = out[level].map(f).fillna(0.0).astype(float)
        out[f"last_year_{n}m"] = out[level].map(a).fillna(0.0).astype(float)
        ly = out[f"last_year_{n}m"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"change_{n}m"] = np.where(ly > 0, out[f"forecast_{n}m"].to_numpy() / ly - 1.0, np.nan)
    return out


def run_label(run: dict[str, Any] | None) -> str:
    """"Run 3 · statistical · 2026-11-25 09:30" for captions and cards."""
    if not run:
        return "no forecast run"
    created = run.get("created_at")
    when = f"{created:%Y-%m-%d %H:%M}" if isinstance(created, dt.datetime) else str(created or "")
    return f"Run {run['id']} · {run['engine']} · {when}".strip(" ·")


# ---------------------------------------------------------------------------- consensus
#: The tables a cycle's consensus reads: its cycles, forecast runs (whose rows never change), overrides and products.
CONSENSUS_INPUTS = (m.PlanCycle, m.ForecastRun, m.ForecastOverride, m.Product)


def consensus_detail(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Statistical forecast and consensus of a cycle per SKU and period, computed once per data version
    (:mod:`sop_core.services.figures`: the forecast runs, overrides and products it reads).

    Returns:
        DataFrame[sku, period, statistical, qty, level]: ``statistical`` = yhat of the cycle's newest finished
        forecast run, ``qty`` = consensus [units] after the overrides (rules in :mod:`sop_core.planning.consensus`),
        ``level`` = the level of the override that set the SKU-period ("" when none). Empty when the cycle
        has no forecast run.
    """
    stamp = figures.data_stamp(engine, *CONSENSUS_INPUTS)
    return figures.once(engine, "consensus_detail", (cycle_id,), stamp, lambda: _consensus_detail(engine, cycle_id),
                        tables=figures.ONE_TABLE)


def _consensus_detail(engine: Engine, cycle_id: int) -> pd.DataFrame:
    with session_scope(engine) as s:
        run = forecast_repo.latest_run(s, cycle_id)
        rows = forecast_repo.forecast_demand(s, run.id) if run is not None else pd.DataFrame(
            columns=["sku", "period", "quantity"])
        products, overrides = master_repo.products(s), override_repo.overrides(s, cycle_id)
    return cons.apply_overrides(rows.rename(columns={"quantity": "qty"}), products, overrides)


#: Columns of :func:`consensus_sums`.
SUM_COLUMNS = ["item", "period", "statistical", "qty"]


def consensus_sums(engine: Engine, cycle_id: int, level: Level, item: str | None = None, *,
                   first_period: dt.date | None = None, last_period: dt.date | None = None,
                   monthly: bool = True) -> pd.DataFrame:
    """Statistical forecast and consensus of a cycle summed per item of ``level`` and month.

    The statistical sums come from the database; the consensus adds the changes the overrides make, worked
    out (:func:`sop_core.planning.consensus.apply_overrides`) on the rows of the months and items the overrides
    touch only: an override changes nothing outside its item and month. A SKU's monthly consensus is its own
    row's.

    Args:
        item: one item of the level (every item when None).
        first_period, last_period: the months kept (open ends when None).
        monthly: False sums the months kept too (no ``period`` column).

    Returns:
        DataFrame[item, period, statistical, qty] [units], sorted by item and period; empty when the cycle has no
        forecast run.
    """
    cols = SUM_COLUMNS if monthly else [c for c in SUM_COLUMNS if c != "period"]
    key = None if item is None else cons.normalise_item(level, item)
    with session_scope(engine) as s:
        run = forecast_repo.latest_run(s, cycle_id)
        if run is None:
            return pd.DataFrame(columns=cols)
        sums = forecast_repo.forecast_sums(s, run.id, _group(level), None if level == "total" else key,
                                           first_period=first_period, last_period=last_period, monthly=monthly)
        overrides = override_repo.overrides(s, cycle_id)
        latest = cons.latest_overrides(overrides)
        if first_period is not None:
            latest = latest[latest["period"] >= pd.Timestamp(first_period)]
        if last_period is not None:
            latest = latest[latest["period"] <= pd.Timestamp(last_period)]
        touched = pd.DataFrame(columns=["sku", "period", "yhat"])
        if not latest.empty:
            products = master_repo.products(s)
            groups = (None if (latest["level"] == "total").any()
                      else {lv: sorted(set(latest.loc[latest["level"] == lv, "item"])) for lv in ("sku", "family", "category")})
            periods = sorted({p.date() for p in latest["period"]})
            touched = forecast_repo.forecast_rows_of(s, run.id, periods, groups)
    if level == "total":
        sums.insert(0, "item", fc.TOTAL_ITEM)
    sums = sums.rename(columns={"yhat": "statistical"})
    sums["qty"] = sums["statistical"]
    if touched.empty:
        return sums[cols]
    detail = cons.apply_overrides(touched.rename(columns={"yhat": "qty"}), products, overrides)
    detail = detail.assign(item=key_frame(detail, products, level))
    if key is not None:
        detail = detail[detail["item"] == key]
    keys = ["item", "period"] if monthly else ["item"]
    at = pd.MultiIndex.from_frame(sums[keys]) if monthly else pd.Index(sums["item"])
    if level == "sku" and monthly:  # a SKU's consensus is its own row's
        qty = detail.set_index(keys)["qty"]
        sums["qty"] = qty.reindex(at).fillna(sums.set_index(keys)["statistical"]).to_numpy()
        return sums[cols]
    change = (detail["qty"] - detail["statistical"]).groupby([detail[k] for k in keys]).sum()
    sums["qty"] = sums["statistical"] + change.reindex(at, fill_value=0.0).to_numpy()
    return sums[cols]


def consensus_demand(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Consensus demand of a plan cycle: the cycle's newest statistical forecast plus its overrides.

    Overrides at family / category / total level are spread to SKUs in proportion to their statistical
    forecast of the period (equally when all are zero); pct applies to the statistical forecast; the lower
    level wins, and of the same level, item and period the latest override (see :mod:`sop_core.planning.consensus`).

    Args:
        engine: the database.
        cycle_id: ``plan_cycle.id``.

    Returns:
        DataFrame[sku, period, qty]: consensus demand [units per month], period as datetime64 month start,
        sorted by sku and period; empty (same columns) when the cycle has no finished forecast run.
    """
    return consensus_detail(engine, cycle_id)[["sku", "period", "qty"]]


def key_frame(frame: pd.DataFrame, products: pd.DataFrame, level: str) -> pd.Series:
    """The ``level`` item of each SKU row of ``frame`` ("Total" at the total level)."""
    if level == "sku":
        return frame["sku"].astype(str)
    if level == "total":
        return pd.Series(fc.TOTAL_ITEM, index=frame.index)
    return frame["sku"].map(products.set_index("sku")[level]).astype(str)


def item_sum(frame: pd.DataFrame, products: pd.DataFrame, level: str, item: str, cols: list[str]) -> pd.DataFrame:
    """``period, *cols`` of one item: SKU rows summed by period."""
    if frame.empty:
        return pd.DataFrame(columns=["period", *cols])
    keep = frame[key_frame(frame, products, level) == cons.normalise_item(level, item)]
    return keep.groupby("period", as_index=False)[cols].sum()


def chart_view(engine: Engine, cycle_id: int, level: Level, item: str) -> pd.DataFrame:
    """History, statistical forecast with intervals and consensus of one item in one cycle.

    Returns:
        DataFrame[period, actual, forecast, lo_80, hi_80, lo_95, hi_95, consensus] [units]: the columns of
        :func:`demand_view` for the cycle's newest run, plus the consensus (statistical + overrides) on the
        forecast months (:func:`consensus_sums`); computed once per data version (:mod:`sop_core.services.figures`).
    """
    with session_scope(engine) as s:
        run = forecast_repo.latest_run(s, cycle_id)
        run_id = run.id if run is not None else None
    if run_id is None:
        raise DemandError("this cycle has no forecast run yet")
    return figures.once(engine, "chart_view", (cycle_id, level, item),
                        figures.data_stamp(engine, *CONSENSUS_INPUTS, m.SalesHistory),
                        lambda: _chart_view(engine, cycle_id, level, item, run_id), tables=figures.ONE_TABLE)


def _chart_view(engine: Engine, cycle_id: int, level: Level, item: str, run_id: int) -> pd.DataFrame:
    view = demand_view(engine, level, item, run_id)
    cons_item = consensus_sums(engine, cycle_id, level, item)[["period", "qty"]]
    view = view.merge(cons_item.rename(columns={"qty": "consensus"}), on="period", how="left")
    view.loc[view["forecast"].isna(), "consensus"] = np.nan
    return view


#: Events shown for a cycle: those ending at most this many months before the cycle's month, and later.
EVENT_LOOKBACK_MONTHS = 12


def events_in_scope(engine: Engine, level: Level, item: str, cycle_id: int | None = None) -> pd.DataFrame:
    """Events that touch an item: scope '*', the item itself, its family (for a SKU), or a family / SKU
    under it (for a family, category or the total).

    Args:
        cycle_id: when given, only events ending in the 12 months before the cycle's month or later.

    Returns:
        DataFrame[name, start, end, scope, uplift_pct] — uplift in percent [%], sorted by start.
    """
    with session_scope(engine) as s:
        events = demand_repo.events(s)
        products = master_repo.products(s)
        cyc = cycle_repo.cycle(s, cycle_id) if cycle_id is not None else None
        if cyc is not None:
            since = pd.Timestamp(cyc.month) - pd.DateOffset(months=EVENT_LOOKBACK_MONTHS)
            events = events[events["end"] >= since]
    if level == "total":
        return events.reset_index(drop=True)
    mine = products[key_frame(products, products, level) == str(item)]
    scopes = {"*", str(item), *mine["sku"].astype(str), *mine["family"].astype(str)}
    return events[events["scope"].astype(str).isin(scopes)].reset_index(drop=True)
