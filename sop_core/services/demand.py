"""Demand review services: the stored forecast per level and item, overrides and consensus, accuracy.

Forecast runs are made by :mod:`.forecasting`. Overrides (``forecast_override``) carry a reason code, who and
when; they can change only while the cycle is in draft or demand review, and saving them uses optimistic
locking on the row version. Consensus = statistical forecast + overrides (rules in :mod:`sop_core.planning.consensus`).
Accuracy compares earlier cycles' stored forecasts (seasonal naive, statistical, consensus) with the actuals
that arrived since (formulas in :mod:`sop_core.planning.accuracy`).

Loads through :mod:`sop_core.db.demand_repo`, computes with :mod:`sop_core.planning.forecast` and
:mod:`sop_core.planning.accuracy`, stores in one transaction. Quantities are in units, periods are month starts.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm.exc import StaleDataError

from sop_core.db import demand_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.db.guards import cycle_frozen
from sop_core.planning import accuracy as metrics
from sop_core.planning import consensus as cons
from sop_core.planning import forecast as fc
from sop_core.services.demand_common import (
    BACKTEST_HORIZON,
    EDITABLE_STATES,
    FREQ,
    LEVEL,
    RUN_ROLES,
    SEASON,
    SUMMARY_MONTHS,
    TRACKING_LIMIT,
    VIEW_COLUMNS,
    DemandError,
    OverrideConflict,
    OverridesLocked,
)
from sop_core.services.forecasting import _long, data_hash, event_calendar, run_forecast, stored_run

__all__ = [
    "BACKTEST_HORIZON",
    "FREQ",
    "LEVEL",
    "RUN_ROLES",
    "SUMMARY_MONTHS",
    "EDITABLE_STATES",
    "REASON_CODES",
    "TRACKING_LIMIT",
    "VIEW_COLUMNS",
    "DemandError",
    "OverrideConflict",
    "OverridesLocked",
    "accuracy_vs_actuals",
    "backtest_accuracy",
    "changes_vs_last_cycle",
    "chart_view",
    "events_in_scope",
    "frozen_pairs",
    "forecast_freshness",
    "Freshness",
    "fva_table",
    "grid_edits",
    "item_accuracy",
    "list_overrides",
    "override_grid",
    "overrides_locked",
    "save_overrides",
    "tracking_flags",
    "consensus_demand",
    "consensus_detail",
    "data_hash",
    "run_forecast",
]

REASON_CODES = cons.REASON_CODES
log = logging.getLogger(__name__)
Level = Literal["sku", "family", "category", "total"]


# ---------------------------------------------------------------------------- helpers
def latest_run(engine: Engine, cycle_id: int | None = None) -> dict[str, Any] | None:
    """The newest finished run of ``cycle_id`` (of any cycle when None) as a dict of its fields, or None."""
    with session_scope(engine) as s:
        run = demand_repo.latest_run(s, cycle_id)
        return demand_repo.run_as_dict(run) if run is not None else None


def review_stamp(engine: Engine, cycle_id: int) -> str:
    """A short text that changes whenever a cycle's demand review data does (runs, overrides, sales,
    events), for every user: pages key their shared caches on it, so one planner's save shows at
    once to the others."""
    with session_scope(engine) as s:
        parts = demand_repo.review_stamp(s, cycle_id)
    return "-".join("" if p is None else f"{float(p):.6g}" for p in parts)


def _load(engine: Engine, run_id: int | None) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any] | None, pd.DataFrame]:
    with session_scope(engine) as s:
        run = demand_repo.run_by_id(s, run_id) if run_id is not None else demand_repo.latest_run(s)
        if run_id is not None and run is None:
            raise ValueError(f"no forecast run with id {run_id}")
        info = demand_repo.run_as_dict(run) if run is not None else None
        rows = demand_repo.forecast_rows(s, run.id) if run is not None else None
        history = demand_repo.sales_history(s)
        products = demand_repo.products(s)
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
            since.append(f"{n} SKU{'s' if n != 1 else ''} with sales {'have' if n != 1 else 'has'} no forecast "
                         "in it")
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
            first = demand_repo.forecast_rows(s, run_id)["period"].min()
            last = first - pd.DateOffset(months=1) if pd.notna(first) else None
        imports = demand_repo.sales_imports_since(s, run.created_at)
        calendar = (run.params or {}).get("event_calendar")
        events_changed = calendar is not None and event_calendar(demand_repo.events(s)) != calendar
        cyc = demand_repo.cycle(s, run.cycle_id) if run.cycle_id is not None else None
        return Freshness(
            run_id=run.id, made_at=run.created_at,
            data_until=pd.Timestamp(last) if last is not None else None,
            sales_until=demand_repo.newest_sales_period(s),
            imported_at=imports[-1] if imports else None,
            skus_without_forecast=demand_repo.skus_without_forecast(s, run.id),
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
        products = demand_repo.products(s)
    return sorted(products[level].astype(str).unique().tolist())


def item_names(engine: Engine, level: Level) -> dict[str, str]:
    """Display names of the items of a level: "CF-1001 · Doppio Bean-to-Cup Machine" for SKUs, the code
    itself for families, categories and the total."""
    if level != "sku":
        return {i: i for i in items(engine, level)}
    with session_scope(engine) as s:
        products = demand_repo.products(s)
    return {str(k): f"{k} · {v}" for k, v in zip(products["sku"], products["name"], strict=True)}


def _series(history: pd.DataFrame, rows: pd.DataFrame, products: pd.DataFrame, level: Level
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History (gap-filled) and forecast summed to ``level``: ``unique_id, ds, y`` and ``unique_id, ds, yhat, …``."""
    hist = fc.prepare_history(_long(history), FREQ) if not history.empty else pd.DataFrame(columns=["unique_id", "ds", "y"])
    fcst = rows.drop(columns=["model"], errors="ignore").rename(columns={"sku": "unique_id", "period": "ds"})
    return fc.aggregate(hist, products, level), fc.aggregate(fcst, products, level)


def _covered(history: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The sales history of the SKUs a run forecasts (``rows``: its forecast rows)."""
    return history[history["sku"].astype(str).isin(set(rows["sku"].astype(str)))]


def _check_item(engine_items: list[str], level: str, item: str) -> None:
    if item not in engine_items:
        raise ValueError(f"no {level} {item!r}")


def demand_view(engine: Engine, level: Level, item: str, run_id: int | None = None) -> pd.DataFrame:
    """History and forecast of one item at one level, for the demand chart and table.

    Args:
        engine: the database.
        level: "sku", "family", "category" or "total".
        item: the SKU / family / category code, or "Total".
        run_id: forecast run (default: the newest run of any cycle).

    Returns:
        DataFrame[period, actual, forecast, lo_80, hi_80, lo_95, hi_95] [units], one row per month: actuals
        (forecast columns NaN) then the forecast months (actual NaN). Aggregates are bottom-up sums.

    Raises:
        ValueError: unknown level, item or run.
    """
    _check_item(items(engine, level), level, item)
    history, products, _info, rows = _load(engine, run_id)
    hist, fcst = _series(history, rows, products, level)
    hist = hist[hist["unique_id"] == item]
    fcst = fcst[fcst["unique_id"] == item]
    past = pd.DataFrame({"period": hist["ds"].to_numpy(), "actual": hist["y"].to_numpy(dtype=float)})
    future = pd.DataFrame({
        "period": fcst["ds"].to_numpy(),
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
    stale, see :func:`forecast_freshness`).

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
    history, products, info, rows = _load(engine, run_id)
    info = info or {}
    hist, fcst = _series(_covered(history, rows), rows, products, level)
    fcst = fcst[fcst["unique_id"] == item].sort_values("ds")
    future = fcst.head(12)
    months = pd.DatetimeIndex(future["ds"])
    fc12 = float(future["yhat"].sum())
    ly12, first, last = 0.0, None, None
    if len(months):
        first = months[0] - pd.DateOffset(months=12)
        last = months[0] - pd.DateOffset(months=1)
        mine = hist[(hist["unique_id"] == item) & (hist["ds"] >= first) & (hist["ds"] <= last)]
        ly12 = float(mine["y"].sum())
    wmape = ((info.get("backtest") or {}).get("wmape_by_level") or {}).get(level, {}).get(item)
    cons12 = None
    if cycle_id is not None:
        cons_item = _item_sum(consensus_detail(engine, cycle_id), products, level, item, ["qty"])
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
def _cycle_frames(session: Any, cycle_id: int, frozen: bool = False
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any] | None]:
    """Statistical forecast rows of the cycle's newest run (``frozen``: the run its signed-off plan was frozen
    on, else the newest), products and the cycle's overrides."""
    run = demand_repo.frozen_run(session, cycle_id) if frozen else demand_repo.latest_run(session, cycle_id)
    info = demand_repo.run_as_dict(run) if run is not None else None
    rows = demand_repo.forecast_rows(session, run.id) if run is not None else None
    if rows is None:
        rows = pd.DataFrame(columns=["sku", "period", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95",
                                     "yhat_hi_95", "model"])
    return rows, demand_repo.products(session), demand_repo.overrides(session, cycle_id), info


def consensus_detail(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Statistical forecast and consensus of a cycle per SKU and period.

    Returns:
        DataFrame[sku, period, statistical, qty, level]: ``statistical`` = yhat of the cycle's newest finished
        forecast run, ``qty`` = consensus [units] after the overrides (rules in :mod:`sop_core.planning.consensus`),
        ``level`` = the level of the override that set the SKU-period ("" when none). Empty when the cycle
        has no forecast run.
    """
    with session_scope(engine) as s:
        rows, products, overrides, _info = _cycle_frames(s, cycle_id)
    stat = rows[["sku", "period", "yhat"]].rename(columns={"yhat": "qty"})
    return cons.apply_overrides(stat, products, overrides)


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


def _key_frame(frame: pd.DataFrame, products: pd.DataFrame, level: str) -> pd.Series:
    """The ``level`` item of each SKU row of ``frame`` ("Total" at the total level)."""
    if level == "sku":
        return frame["sku"].astype(str)
    if level == "total":
        return pd.Series(fc.TOTAL_ITEM, index=frame.index)
    return frame["sku"].map(products.set_index("sku")[level]).astype(str)


def _item_sum(frame: pd.DataFrame, products: pd.DataFrame, level: str, item: str, cols: list[str]) -> pd.DataFrame:
    """``period, *cols`` of one item: SKU rows summed by period."""
    if frame.empty:
        return pd.DataFrame(columns=["period", *cols])
    keep = frame[_key_frame(frame, products, level) == cons.normalise_item(level, item)]
    return keep.groupby("period", as_index=False)[cols].sum()


def chart_view(engine: Engine, cycle_id: int, level: Level, item: str) -> pd.DataFrame:
    """History, statistical forecast with intervals and consensus of one item in one cycle.

    Returns:
        DataFrame[period, actual, forecast, lo_80, hi_80, lo_95, hi_95, consensus] [units]: the columns of
        :func:`demand_view` for the cycle's newest run, plus the consensus (statistical + overrides) on the
        forecast months.
    """
    with session_scope(engine) as s:
        run = demand_repo.latest_run(s, cycle_id)
        run_id = run.id if run is not None else None
    if run_id is None:
        raise DemandError("this cycle has no forecast run yet")
    view = demand_view(engine, level, item, run_id)
    with session_scope(engine) as s:
        products = demand_repo.products(s)
    cons_item = _item_sum(consensus_detail(engine, cycle_id), products, level, item, ["qty"])
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
        products = demand_repo.products(s)
        cyc = demand_repo.cycle(s, cycle_id) if cycle_id is not None else None
        if cyc is not None:
            since = pd.Timestamp(cyc.month) - pd.DateOffset(months=EVENT_LOOKBACK_MONTHS)
            events = events[events["end"] >= since]
    if level == "total":
        return events.reset_index(drop=True)
    mine = products[_key_frame(products, products, level) == str(item)]
    scopes = {"*", str(item), *mine["sku"].astype(str), *mine["family"].astype(str)}
    return events[events["scope"].astype(str).isin(scopes)].reset_index(drop=True)


# ---------------------------------------------------------------------------- overrides
def _cycle_row(session: Any, cycle_id: int) -> Any:
    cyc = demand_repo.cycle(session, cycle_id)
    if cyc is None:
        raise DemandError(f"no plan cycle with id {cycle_id}")
    return cyc


def _lock_reason(cyc: Any) -> str | None:
    if cyc.status in EDITABLE_STATES:
        return None
    return (f"Cycle {cyc.month:%Y-%m} is in {cyc.status.replace('_', ' ')}: its overrides are locked "
            "(they change only in draft or demand review).")


def overrides_locked(engine: Engine, cycle_id: int) -> str | None:
    """None while the cycle's overrides may change, else the one-line reason they are locked."""
    with session_scope(engine) as s:
        return _lock_reason(_cycle_row(s, cycle_id))


def _aliases(level: str, item: str) -> list[str]:
    return ["*", fc.TOTAL_ITEM] if level == "total" else [str(item)]


def list_overrides(engine: Engine, cycle_id: int, level: Level | None = None, item: str | None = None
                   ) -> pd.DataFrame:
    """Stored overrides of a cycle (optionally one level / item), with who and when.

    Returns:
        DataFrame[id, cycle_id, level, item, period, value, pct, reason, comment, author, created_at, version]:
        value [units], pct [% of the statistical forecast].
    """
    with session_scope(engine) as s:
        return demand_repo.overrides(s, cycle_id, level, item)


GRID_COLUMNS = ["period", "statistical", "value", "pct", "reason", "comment", "consensus", "author", "created_at",
                "version"]


def override_grid(engine: Engine, cycle_id: int, level: Level, item: str) -> pd.DataFrame:
    """The override grid of one item: one row per forecast month of the cycle's run.

    Returns:
        DataFrame[period, statistical, value, pct, reason, comment, consensus, author, created_at, version]:
        statistical and consensus forecast of the item [units]; the item's own override (value [units] or
        pct [%], reason, comment, who and when, row version for optimistic locking; empty when none).
    """
    detail = consensus_detail(engine, cycle_id)
    with session_scope(engine) as s:
        products = demand_repo.products(s)
        ovr = demand_repo.overrides(s, cycle_id, level, item)
    sums = _item_sum(detail, products, level, item, ["statistical", "qty"]).rename(columns={"qty": "consensus"})
    latest = ovr.sort_values(["created_at", "id"], kind="stable").drop_duplicates("period", keep="last")
    grid = sums.merge(latest[["period", "value", "pct", "reason", "comment", "author", "created_at", "version"]],
                      on="period", how="left")
    grid["version"] = grid["version"].astype("Int64")
    for c in ("reason", "comment", "author"):
        grid[c] = grid[c].astype(object).where(grid[c].notna(), None)
    return grid.reindex(columns=GRID_COLUMNS).sort_values("period").reset_index(drop=True)


def _num(x: Any) -> float | None:
    return None if x is None or pd.isna(x) else float(x)


def _text(x: Any) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x)


def grid_edits(original: pd.DataFrame, edited: pd.DataFrame) -> tuple[pd.DataFrame, dict[pd.Timestamp, int | None]]:
    """The rows of an edited override grid that changed, and the row versions the user saw.

    Args:
        original: the grid as returned by :func:`override_grid`.
        edited: the same rows after editing (value, pct, reason, comment changed).

    Returns:
        (edits DataFrame[period, value, pct, reason, comment] of changed rows, {period: version or None}).
    """
    cols = ["value", "pct", "reason", "comment"]
    a = original.set_index("period")
    b = edited.set_index("period")
    changed = []
    for p in b.index:
        old = [_num(a.at[p, "value"]), _num(a.at[p, "pct"]), _text(a.at[p, "reason"]), _text(a.at[p, "comment"])]
        new = [_num(b.at[p, "value"]), _num(b.at[p, "pct"]), _text(b.at[p, "reason"]), _text(b.at[p, "comment"])]
        if old != new:
            changed.append({"period": pd.Timestamp(p), **dict(zip(cols, new, strict=True))})
    versions = {pd.Timestamp(p): (None if pd.isna(v) else int(v)) for p, v in a["version"].items()}
    return pd.DataFrame(changed, columns=["period", *cols]), versions


def save_overrides(
    engine: Engine,
    cycle_id: int,
    level: Level,
    item: str,
    edits: pd.DataFrame,
    user: str,
    expected_versions: dict[Any, int | None] | None = None,
) -> pd.DataFrame:
    """Store the overrides of one item by period, all or nothing.

    A row with ``value`` [units] or ``pct`` [% of the statistical forecast] sets the item's override of that
    month (who = ``user``, when = now); a row with neither removes it. Every override needs a reason code of
    :data:`REASON_CODES`. Optimistic locking: ``expected_versions`` maps each edited period to the row version
    the user saw (None: no override); when the stored version differs, nothing is saved.

    Args:
        engine: the database.
        cycle_id: ``plan_cycle.id``.
        level: "sku", "family", "category" or "total".
        item: the item code ("Total" or "*" for the total).
        edits: DataFrame[period, value, pct, reason, comment] (value or pct may be missing).
        user: the username stored as author and in the audit log.
        expected_versions: {period: version or None} as read; None skips the check.

    Returns:
        The item's overrides after saving (:func:`list_overrides`).

    Raises:
        OverridesLocked: the cycle has moved past demand review.
        OverrideConflict: an edited month was changed by someone else since it was read.
        DemandError: unknown level / item, month outside the forecast, missing or unknown reason, bad number.
    """
    if level not in fc.LEVELS:
        raise DemandError(f"unknown level {level!r}; expected one of {', '.join(fc.LEVELS)}")
    edits = edits.copy()
    for c in ("value", "pct", "reason", "comment"):
        if c not in edits:
            edits[c] = None
    edits["period"] = pd.to_datetime(edits["period"])
    problems = cons.validate_edits(edits)
    if problems:
        raise DemandError("; ".join(problems))
    expected = None if expected_versions is None else {
        pd.Timestamp(k): (None if v is None or pd.isna(v) else int(v)) for k, v in expected_versions.items()}
    now = dt.datetime.now().replace(microsecond=0)
    stored_item = "*" if level == "total" else str(item)
    with session_scope(engine) as s:
        cyc = _cycle_row(s, cycle_id)
        lock = _lock_reason(cyc)
        if lock:
            raise OverridesLocked(lock)
        if level != "total" and str(item) not in set(demand_repo.products(s)[level].astype(str)):
            raise DemandError(f"no {level} {item!r}")
        run = demand_repo.latest_run(s, cycle_id)
        months = set(demand_repo.forecast_rows(s, run.id)["period"]) if run is not None else set()
        outside = [f"{p:%Y-%m}" for p in edits["period"] if p not in months]
        if outside:
            raise DemandError(f"no forecast month {', '.join(outside)} in cycle {cyc.month:%Y-%m}")
        rows = sorted(demand_repo.override_rows(s, cycle_id, level, _aliases(level, item)),
                      key=lambda r: (r.created_at, r.id))
        current: dict[pd.Timestamp, list[Any]] = {}
        for r in rows:
            current.setdefault(pd.Timestamp(r.period), []).append(r)
        if expected is not None:
            stale = []
            for p in edits["period"]:
                cur = current.get(p, [None])[-1]
                if (cur.version if cur is not None else None) != expected.get(p):
                    who = f"by {cur.author} at {cur.created_at:%Y-%m-%d %H:%M}" if cur is not None else "(removed)"
                    stale.append(f"{p:%Y-%m} {who}")
            if stale:
                raise OverrideConflict(
                    f"Someone changed these months since you opened them: {'; '.join(stale)}. Nothing was saved; "
                    "reload to see their numbers and apply your edits again.")
        log_rows = []
        for e in edits.itertuples(index=False):
            p = pd.Timestamp(e.period)
            value, pct, reason, comment = _num(e.value), _num(e.pct), _text(e.reason), _text(e.comment)
            olds = current.get(p, [])
            for dup in olds[:-1]:
                s.delete(dup)
            cur = olds[-1] if olds else None
            if value is None and pct is None:
                if cur is not None:
                    s.delete(cur)
                    log_rows.append({"period": f"{p:%Y-%m-%d}", "action": "removed"})
                continue
            if cur is None:
                s.add(m.ForecastOverride(cycle_id=cycle_id, level=level, item=stored_item, period=p.date(),
                                         value=value, pct=pct, reason=reason, comment=comment, author=user,
                                         created_at=now))
                action = "added"
            elif (_num(cur.value), _num(cur.pct), cur.reason, cur.comment or "") == (value, pct, reason, comment):
                continue
            else:
                cur.value, cur.pct, cur.reason, cur.comment = value, pct, reason, comment
                cur.author, cur.created_at = user, now
                action = "changed"
            log_rows.append({"period": f"{p:%Y-%m-%d}", "action": action, "value": value, "pct": pct,
                             "reason": reason})
        try:
            s.flush()
        except StaleDataError as err:
            raise OverrideConflict("Someone changed these overrides while you were saving: nothing was saved; "
                                   "reload and apply your edits again.") from err
        if log_rows:
            demand_repo.audit(s, user, "override_save", "forecast_override", cycle_id,
                              {"level": level, "item": stored_item, "changes": log_rows})
            log.info("%s saved %d override change(s) of %s %s in cycle %s", user, len(log_rows), level, item,
                     cycle_id)
    return list_overrides(engine, cycle_id, level, item)


def changes_vs_last_cycle(engine: Engine, cycle_id: int, by: Literal["sku", "family", "category"] = "family",
                          top: int = 10) -> pd.DataFrame:
    """The biggest changes of this cycle's consensus against the previous cycle's consensus.

    Sums over the months both cycles forecast (the overlap of their horizons).

    Returns:
        DataFrame[item, last_cycle, this_cycle, change, change_pct] [units; change_pct a fraction, NaN when
        last cycle was 0], the ``top`` largest |change| first; empty without an earlier cycle. ``attrs``
        carries ``previous`` ("YYYY-MM") and ``months`` (the number of overlapping months).
    """
    cols = ["item", "last_cycle", "this_cycle", "change", "change_pct"]
    with session_scope(engine) as s:
        prev = demand_repo.previous_cycle(s, cycle_id)
        prev_id, prev_label = (prev.id, f"{prev.month:%Y-%m}") if prev is not None else (None, None)
        products = demand_repo.products(s)
    if prev_id is None:
        return pd.DataFrame(columns=cols)
    cur, last = consensus_detail(engine, cycle_id), consensus_detail(engine, prev_id)
    months = sorted(set(cur["period"]) & set(last["period"]))
    sums = []
    for frame in (last, cur):
        f = frame[frame["period"].isin(months)]
        sums.append(f.groupby(_key_frame(f, products, by))["qty"].sum())
    out = pd.concat(sums, axis=1, keys=["last_cycle", "this_cycle"]).fillna(0.0).rename_axis("item").reset_index()
    out["change"] = out["this_cycle"] - out["last_cycle"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change_pct"] = np.where(out["last_cycle"] > 0, out["change"] / out["last_cycle"], np.nan)
    out = out.reindex(out["change"].abs().sort_values(ascending=False, kind="stable").index).head(top)
    out = out[cols].reset_index(drop=True)
    out.attrs.update(previous=prev_label, months=len(months))
    return out


# ---------------------------------------------------------------------------- accuracy
PAIR_COLUMNS = ["cycle", "sku", "period", "y", "naive", "statistical", "consensus", "level", "author"]


def frozen_pairs(engine: Engine, cycle_id: int | None = None) -> pd.DataFrame:
    """Earlier cycles' forecasts against the actuals that arrived since (one row per cycle, SKU and month).

    For every plan cycle of a month before ``cycle_id``'s month (every cycle when None): the statistical
    forecast as stored then (the run its plan was frozen on, else its newest finished run), its consensus (overrides applied) and the seasonal
    naive forecast made at the same cutoff (the month before the cycle), joined to ``sales_history``.

    Returns:
        DataFrame[cycle, sku, period, y, naive, statistical, consensus, level, author] [units]; ``cycle``
        "YYYY-MM", ``level`` / ``author`` of the override that set the consensus ("" when none).
    """
    frames = []
    with session_scope(engine) as s:
        cycles = [(c.id, c.month) for c in demand_repo.cycles_before(s, cycle_id)]
        history = demand_repo.sales_history(s)
        products = demand_repo.products(s)
        inputs = [(cid, month, *_cycle_frames(s, cid, frozen=True)[:3:2]) for cid, month in cycles]
    hist = history.rename(columns={"sku": "unique_id", "period": "ds", "quantity": "y"})
    for _cid, month, rows, overrides in inputs:
        if rows.empty:
            continue
        cutoff = pd.Timestamp(month) - pd.DateOffset(months=1)
        detail = cons.apply_overrides(rows[["sku", "period", "yhat"]].rename(columns={"yhat": "qty"}), products,
                                      overrides).rename(columns={"qty": "consensus"})
        detail = detail[detail["period"] > cutoff]
        actual = history.rename(columns={"quantity": "y"})
        pairs = detail.merge(actual, on=["sku", "period"], how="inner")
        if pairs.empty:
            continue
        pairs["naive"] = metrics.seasonal_naive_at(
            hist[hist["ds"] <= cutoff], pairs.rename(columns={"sku": "unique_id", "period": "ds"}), cutoff, SEASON)
        pairs["cycle"] = f"{month:%Y-%m}"
        frames.append(pairs[PAIR_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def _mase_by_item(pairs: pd.DataFrame, covered: pd.DataFrame, engine: Engine) -> pd.Series:
    """MASE of the consensus per level item (Hyndman & Koehler 2006, season m = 12):

        MASE = mean_t |y_t − ŷ_t| / mean_t |Y_s − Y_{s−12}|

    The numerator runs over the item's evaluated months (``pairs``: ``cycle, item, period, y, consensus``, the
    SKU pairs summed to the item); the scale over the history before the earliest evaluated cycle of the
    item's *covered* SKUs only — Y_s is the sum of ``covered`` (``item, sku``: the SKUs whose forecasts were
    evaluated) in month s, gaps being 0 — so sales of SKUs the forecasts did not cover (imported later, other
    businesses) change neither part."""
    with session_scope(engine) as s:
        history = demand_repo.sales_history(s)
    first = pd.Timestamp(f"{pairs['cycle'].min()}-01")
    train = history[(history["period"] < first) & history["sku"].isin(covered["sku"])]
    mae = (pairs["y"] - pairs["consensus"]).abs().groupby(pairs["item"]).mean()
    if train.empty:
        return pd.Series(np.nan, index=mae.index)
    full = fc.prepare_history(_long(train), FREQ).rename(columns={"unique_id": "sku"})
    full = full.merge(covered[["item", "sku"]].drop_duplicates(), on="sku")
    agg = full.groupby(["item", "ds"], as_index=False)["y"].sum().rename(columns={"item": "unique_id"})
    scale = metrics.mase_scale(agg, SEASON)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (mae / scale.reindex(mae.index)).where(lambda x: np.isfinite(x))


def accuracy_vs_actuals(engine: Engine, cycle_id: int | None, level: Level = "sku") -> pd.DataFrame:
    """Accuracy of earlier cycles' forecasts on the actuals since, per item of ``level``.

    Pairs of :func:`frozen_pairs` are summed to the level per cycle and month, then pooled over cycles.

    Returns:
        DataFrame[item, n, actual, wmape_naive, wmape_statistical, wmape_consensus, mape, mase, bias,
        tracking_signal, flagged]: WMAPE of the three forecasts; MAPE, MASE, bias and tracking signal of the
        consensus (formulas in :mod:`sop_core.planning.accuracy`); ``flagged`` when |tracking signal| > 4. Sorted by
        |tracking signal| descending.
    """
    cols = ["item", "n", "actual", "wmape_naive", "wmape_statistical", "wmape_consensus", "mape", "mase", "bias",
            "tracking_signal", "flagged"]
    pairs = frozen_pairs(engine, cycle_id)
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    with session_scope(engine) as s:
        products = demand_repo.products(s)
    pairs = pairs.assign(item=_key_frame(pairs, products, level))
    agg = pairs.groupby(["cycle", "item", "period"], as_index=False)[["y", "naive", "statistical", "consensus"]].sum(
        min_count=1)
    fva = metrics.value_added(agg, by=["item"])
    acc = metrics.accuracy_table(agg, by=["item"], forecast_col="consensus").set_index("item")
    out = fva.set_index("item")[["n", "actual", "wmape_naive", "wmape_statistical", "wmape_consensus"]]
    out = out.join(acc[["mape", "bias", "tracking_signal"]])
    out["mase"] = _mase_by_item(agg, pairs[["item", "sku"]], engine)
    out["flagged"] = out["tracking_signal"].abs() > TRACKING_LIMIT
    out = out.reset_index().reindex(columns=cols)
    return out.reindex(out["tracking_signal"].abs().sort_values(ascending=False, kind="stable").index).reset_index(
        drop=True)


def tracking_flags(engine: Engine, cycle_id: int | None, level: Level = "sku") -> pd.DataFrame:
    """Items whose consensus tracking signal on earlier cycles lies beyond ±4 MADs (review them)."""
    acc = accuracy_vs_actuals(engine, cycle_id, level)
    return acc[acc["flagged"].astype(bool)].reset_index(drop=True)


def fva_table(engine: Engine, cycle_id: int | None) -> pd.DataFrame:
    """Forecast value added on earlier cycles: naive → statistical → consensus.

    Rows: ``All`` (every SKU-month), per hierarchy ``Level`` (forecasts summed to that level first), per
    ``Override level`` and per ``Author`` (the SKU-months whose consensus that level's / author's overrides
    set).

    Returns:
        DataFrame[group, name, n, actual, wmape_naive, wmape_statistical, wmape_consensus, fva_statistical,
        fva_consensus]: FVA = WMAPE(previous step) − WMAPE(step), fractions (> 0: the step added value).
    """
    cols = ["group", "name", "n", "actual", "wmape_naive", "wmape_statistical", "wmape_consensus",
            "fva_statistical", "fva_consensus"]
    pairs = frozen_pairs(engine, cycle_id)
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    with session_scope(engine) as s:
        products = demand_repo.products(s)
    parts = [metrics.value_added(pairs).assign(group="All", name="all SKU-months")]
    for level in fc.LEVELS[1:]:
        agg = pairs.assign(item=_key_frame(pairs, products, level)).groupby(
            ["cycle", "item", "period"], as_index=False)[["y", "naive", "statistical", "consensus"]].sum(min_count=1)
        parts.append(metrics.value_added(agg).assign(group="Level", name=level))
    touched = pairs[pairs["level"] != ""]
    if not touched.empty:
        parts.append(metrics.value_added(touched, by=["level"]).rename(columns={"level": "name"})
                     .assign(group="Override level"))
        parts.append(metrics.value_added(touched, by=["author"]).rename(columns={"author": "name"})
                     .assign(group="Author"))
    return pd.concat(parts, ignore_index=True)[cols]


def backtest_accuracy(engine: Engine, cycle_id: int, level: Level, item: str) -> dict[str, Any]:
    """Accuracy of the backtest stored with the cycle's newest run for one item.

    Returns:
        dict: ``method`` (text) and, when the run stored them, ``wmape``, ``mape``, ``mase``, ``bias``,
        ``tracking_signal`` of the item (from ``<metric>_by_level``) and ``coverage_80`` / ``coverage_95``
        (fractions); missing metrics are None.
    """
    run = latest_run(engine, cycle_id)
    bt = (run or {}).get("backtest") or {}
    out: dict[str, Any] = {"method": bt.get("method", "no backtest stored")}
    key = cons.normalise_item(level, item)
    for name in ("wmape", "mape", "mase", "bias", "tracking_signal"):
        out[name] = ((bt.get(f"{name}_by_level") or {}).get(level) or {}).get(key)
    for lv in LEVEL:
        cov = bt.get("coverage") or {}
        out[f"coverage_{lv}"] = cov.get(str(lv), cov.get(lv)) if isinstance(cov, dict) else None
    return out


def item_accuracy(engine: Engine, cycle_id: int, level: Level, item: str) -> pd.DataFrame:
    """Accuracy of one item: the stored backtest of the statistical forecast, and naive / statistical /
    consensus forecasts of earlier cycles against the actuals since.

    Returns:
        DataFrame[forecast, n, wmape, mape, mase, bias, tracking_signal] — ratios as fractions, the tracking
        signal in MADs; rows "Backtest (statistical)", "Seasonal naive", "Statistical", "Consensus".
    """
    cols = ["forecast", "n", "wmape", "mape", "mase", "bias", "tracking_signal"]
    bt = backtest_accuracy(engine, cycle_id, level, item)
    rows = [{"forecast": "Backtest (statistical)", "n": None, **{c: bt.get(c) for c in cols[2:]}}]
    pairs = frozen_pairs(engine, cycle_id)
    if not pairs.empty:
        with session_scope(engine) as s:
            products = demand_repo.products(s)
        key = cons.normalise_item(level, item)
        mine = pairs[_key_frame(pairs, products, level) == key]
        agg = mine.groupby(["cycle", "period"], as_index=False)[["y", "naive", "statistical", "consensus"]].sum()
        agg["item"] = key
        for label, col in (("Seasonal naive", "naive"), ("Statistical", "statistical"), ("Consensus", "consensus")):
            if agg.empty:
                break
            t = metrics.accuracy_table(agg, by=[], forecast_col=col).iloc[0]
            mase = _mase_by_item(agg.assign(consensus=agg[col]), mine[["sku"]].assign(item=key), engine).get(key)
            rows.append({"forecast": label, "n": int(t["n"]), "wmape": t["wmape"], "mape": t["mape"],
                         "mase": mase, "bias": t["bias"], "tracking_signal": t["tracking_signal"]})
    return pd.DataFrame(rows, columns=cols)
