"""Queries of forecast runs and their rows. Functions take a session and never commit.

Column vocabulary (the same in every ``*_repo`` module, the schema's own names): ``quantity`` [units] a
quantity of a SKU in a period (sales, forecast demand, open orders), ``on_hand`` [units] the stock of a
SKU at a date, ``period`` the month start (``datetime64``), ``as_of`` the date of a stock count. A forecast
row keeps the schema's ``yhat`` (and its interval bounds); read as demand it is ``quantity``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from sop_core.db import master_repo
from sop_core.db import models as m
from sop_core.db.models_cycle import PlanVersion

RUN_FIELDS = ("id", "cycle_id", "created_at", "created_by", "engine", "horizon", "freq", "params", "versions",
              "data_hash", "backtest", "status")
ROW_FIELDS = ("sku", "period", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95", "model")


def run_as_dict(run: m.ForecastRun) -> dict[str, Any]:
    """The fields :data:`RUN_FIELDS` of a run."""
    return {f: getattr(run, f) for f in RUN_FIELDS}


def latest_run(session: Session, cycle_id: int | None = None) -> m.ForecastRun | None:
    """The newest finished run of a cycle (of any cycle when ``cycle_id`` is None), or None."""
    stmt = select(m.ForecastRun).where(m.ForecastRun.status == "done")
    if cycle_id is not None:
        stmt = stmt.where(m.ForecastRun.cycle_id == cycle_id)
    return session.scalar(stmt.order_by(m.ForecastRun.id.desc()).limit(1))


def run_by_id(session: Session, run_id: int) -> m.ForecastRun | None:
    """The run row of ``run_id``, or None."""
    return session.get(m.ForecastRun, run_id)


def add_run(session: Session, **fields: Any) -> int:
    """Insert a forecast_run row and return its id (flushed, not committed)."""
    run = m.ForecastRun(**fields)
    session.add(run)
    session.flush()
    return int(run.id)


def frozen_run(session: Session, cycle_id: int) -> m.ForecastRun | None:
    """The forecast run a cycle's plan was frozen on (its newest frozen plan version), else its newest run."""
    run_id = session.scalar(
        select(PlanVersion.forecast_run_id)
        .where(PlanVersion.cycle_id == cycle_id, PlanVersion.status == "frozen",
               PlanVersion.forecast_run_id.is_not(None))
        .order_by(PlanVersion.version.desc())
        .limit(1)
    )
    run = session.get(m.ForecastRun, run_id) if run_id is not None else None
    return run if run is not None else latest_run(session, cycle_id)


def latest_cycle_with_forecast(session: Session, month_at_most: dt.date | None = None) -> tuple[int, int] | None:
    """``(cycle_id, run_id)`` of the newest cycle (by month, up to ``month_at_most`` when given) that has a
    finished forecast run, with its newest such run; None when there is none."""
    where = [m.ForecastRun.status == "done"]
    if month_at_most is not None:
        where.append(m.PlanCycle.month <= month_at_most)
    row = session.execute(
        select(m.PlanCycle.id, func.max(m.ForecastRun.id))
        .join(m.ForecastRun, m.ForecastRun.cycle_id == m.PlanCycle.id)
        .where(*where)
        .group_by(m.PlanCycle.id, m.PlanCycle.month)
        .order_by(m.PlanCycle.month.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def forecast_rows(session: Session, run_id: int, sku: str | None = None) -> pd.DataFrame:
    """``sku, period, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95`` [units], ``model`` of one run (of one
    SKU when given), sorted by sku and period (bounds NaN where not stored)."""
    cols = list(ROW_FIELDS)
    stmt = select(*(getattr(m.Forecast, c) for c in cols)).where(m.Forecast.run_id == run_id)
    if sku is not None:
        stmt = stmt.where(m.Forecast.sku == sku)
    result = session.execute(stmt.order_by(m.Forecast.sku, m.Forecast.period))
    frame = pd.DataFrame(result.all(), columns=cols)
    frame["period"] = pd.to_datetime(frame["period"])
    for c in cols[2:-1]:
        frame[c] = frame[c].astype(float)
    return frame


def forecast_demand(
    session: Session, run_id: int, first_period: dt.date | None = None, last_period: dt.date | None = None
) -> pd.DataFrame:
    """``sku, period, quantity`` [units] (= yhat, as stored: not clipped) of one run, from ``first_period``
    on and up to ``last_period`` (open ends when None), sorted by sku and period."""
    stmt = select(m.Forecast.sku, m.Forecast.period, m.Forecast.yhat).where(m.Forecast.run_id == run_id)
    if first_period is not None:
        stmt = stmt.where(m.Forecast.period >= first_period)
    if last_period is not None:
        stmt = stmt.where(m.Forecast.period <= last_period)
    frame = pd.DataFrame(session.execute(stmt.order_by(m.Forecast.sku, m.Forecast.period)).all(),
                         columns=["sku", "period", "quantity"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["quantity"] = frame["quantity"].astype(float)
    return frame


def skus_without_forecast(session: Session, run_id: int) -> int:
    """How many SKUs with sales history run ``run_id`` does not forecast."""
    sold = select(m.SalesHistory.sku).distinct().subquery()
    forecast = select(m.Forecast.sku).where(m.Forecast.run_id == run_id, m.Forecast.sku == sold.c.sku)
    return int(session.scalar(select(func.count()).select_from(sold).where(~forecast.exists())) or 0)


def run_periods(session: Session, run_id: int) -> list[pd.Timestamp]:
    """The months one run forecasts, in order."""
    stmt = select(m.Forecast.period).where(m.Forecast.run_id == run_id).distinct().order_by(m.Forecast.period)
    return [pd.Timestamp(p) for p in session.scalars(stmt)]


def forecast_sums(
    session: Session,
    run_id: int,
    group: str | None = None,
    item: str | None = None,
    *,
    bounds: tuple[str, ...] = (),
    first_period: dt.date | None = None,
    last_period: dt.date | None = None,
    monthly: bool = True,
) -> pd.DataFrame:
    """One run's forecast summed per month and item: ``[item,] period, yhat`` [units], and per bound column ``b``
    of ``bounds`` (e.g. ``yhat_lo_80``) the sum of squared half-widths ``sq_b`` = Σ (yhat − b)² [units²]
    (NaN where no SKU stores the bound).

    Args:
        group: the product column the items are (``sku``, ``family``, ``category``; None: one sum of every SKU,
            without an ``item`` column).
        item: that column's value to keep (every item when None).
        first_period, last_period: the months kept (open ends when None).
        monthly: False sums the months too (no ``period`` column).

    Returns:
        Sorted by item and period.
    """
    f = m.Forecast
    key = master_repo.product_column(group, f.sku)
    cols: list[Any] = [*([f.period] if monthly else []), func.sum(f.yhat)]
    cols += [func.sum((f.yhat - getattr(f, b)) * (f.yhat - getattr(f, b))) for b in bounds]
    stmt = select(*([key] if key is not None else []), *cols).where(f.run_id == run_id)
    if group in ("family", "category"):
        stmt = stmt.join(m.Product, m.Product.sku == f.sku)
    if key is not None and item is not None:
        stmt = stmt.where(key == item)
    if first_period is not None:
        stmt = stmt.where(f.period >= first_period)
    if last_period is not None:
        stmt = stmt.where(f.period <= last_period)
    grouping = [*([key] if key is not None else []), *([f.period] if monthly else [])]
    names = [*(["item"] if key is not None else []), *(["period"] if monthly else []), "yhat",
             *(f"sq_{b}" for b in bounds)]
    frame = pd.DataFrame(session.execute(stmt.group_by(*grouping).order_by(*grouping)).all(), columns=names)
    if monthly:
        frame["period"] = pd.to_datetime(frame["period"])
    for c in names[names.index("yhat"):]:
        frame[c] = frame[c].astype(float)
    return frame


def forecast_rows_of(
    session: Session, run_id: int, periods: list[dt.date], products: dict[str, list[str]] | None
) -> pd.DataFrame:
    """``sku, period, yhat`` [units] of one run in the months ``periods`` for the SKUs whose product columns
    hold one of the given values (``{"family": ["F1"], "sku": ["A"]}``: the SKUs of family F1 and SKU A; None:
    every SKU), sorted by sku and period."""
    f = m.Forecast
    stmt = select(f.sku, f.period, f.yhat).where(f.run_id == run_id, f.period.in_(periods))
    if products is not None:
        stmt = stmt.join(m.Product, m.Product.sku == f.sku).where(
            or_(false(), *(getattr(m.Product, col).in_(values) for col, values in products.items() if values))
        )
    frame = pd.DataFrame(session.execute(stmt.order_by(f.sku, f.period)).all(), columns=["sku", "period", "yhat"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["yhat"] = frame["yhat"].astype(float)
    return frame
