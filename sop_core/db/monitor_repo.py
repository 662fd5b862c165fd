"""Queries of the KPI monitor: targets, exceptions and forecasts scored against actuals.

Functions take a session and never commit; they return DataFrames (dates as ``datetime64``), plain
values or ORM rows the calling service changes inside its own transaction.

Column vocabulary (the same in every ``*_repo`` module, the schema's own names): ``quantity`` [units] a
quantity of a SKU in a period (sales, forecast demand, open orders), ``on_hand`` [units] the stock of a
SKU at a date, ``period`` the month start (``datetime64``), ``as_of`` the date of a stock count. Scored side by side, actual sales are ``y`` and the
forecast ``yhat`` (the accuracy formulas' names).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from sop_core.db import models as m
from sop_core.db import repo, stock_repo
from sop_core.db.models_monitor import KpiException, KpiTarget

TARGET_COLUMNS = ["kpi", "segment", "target", "direction", "updated_by", "updated_at", "version"]
EXCEPTION_FRAME_COLUMNS = [
    "id", "run_at", "kind", "sku", "supplier", "kpi", "value", "threshold", "message", "proposal", "status", "resolved_at",
]  # fmt: skip


def targets(session: Session) -> pd.DataFrame:
    """Every stored KPI target: ``kpi, segment, target, direction, updated_by, updated_at, version``."""
    frame = repo.read_frame(session, KpiTarget, order_by=[KpiTarget.kpi, KpiTarget.segment])
    return frame.reindex(columns=TARGET_COLUMNS)


def target_row(session: Session, kpi: str, segment: str) -> KpiTarget | None:
    """The stored target of one KPI and segment (an ORM row to update in the same session)."""
    return session.scalar(select(KpiTarget).where(KpiTarget.kpi == kpi, KpiTarget.segment == segment))


def open_exceptions(session: Session) -> list[KpiException]:
    """The open exceptions (ORM rows, to resolve in the same session)."""
    return list(session.scalars(select(KpiException).where(KpiException.status == "open")).all())


def exceptions(session: Session, status: str | None = "open") -> pd.DataFrame:
    """Stored exceptions (all when ``status`` is None), newest run first, then kind and SKU."""
    where = [KpiException.status == status] if status else []
    frame = repo.read_frame(
        session,
        KpiException,
        *where,
        order_by=[KpiException.run_at.desc(), KpiException.kind, KpiException.sku, KpiException.supplier],
    )
    return frame.reindex(columns=EXCEPTION_FRAME_COLUMNS)


def scored_forecasts(session: Session, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Forecasts made before their month, next to the actual sales of that month.

    For each SKU and month in [first, last] with a sale on record, the forecast of the newest finished
    run of the newest cycle whose month is not after the forecast month (the forecast the planners
    had when the month began).

    Returns:
        ``sku, period, y, yhat, run_id, cycle_month``; empty when no earlier run covers an actual month.
    """
    stmt = (
        select(m.Forecast.sku, m.Forecast.period, m.Forecast.yhat, m.ForecastRun.id, m.PlanCycle.month)
        .join(m.ForecastRun, m.ForecastRun.id == m.Forecast.run_id)
        .join(m.PlanCycle, m.PlanCycle.id == m.ForecastRun.cycle_id)
        .where(
            m.ForecastRun.status == "done",
            m.Forecast.period >= first,
            m.Forecast.period <= last,
            m.PlanCycle.month <= m.Forecast.period,
        )
    )
    columns = ["sku", "period", "yhat", "run_id", "cycle_month"]
    fc = pd.DataFrame(session.execute(stmt).all(), columns=columns)
    if fc.empty:
        return pd.DataFrame(columns=["sku", "period", "y", "yhat", "run_id", "cycle_month"])
    fc["period"] = pd.to_datetime(fc["period"])
    fc["cycle_month"] = pd.to_datetime(fc["cycle_month"])
    fc = fc.sort_values(["sku", "period", "cycle_month", "run_id"]).drop_duplicates(["sku", "period"], keep="last")
    sales = stock_repo.sales(session, first, last).rename(columns={"quantity": "y"})
    out = fc.merge(sales, on=["sku", "period"], how="inner")
    out[["y", "yhat"]] = out[["y", "yhat"]].astype(float)
    return out[["sku", "period", "y", "yhat", "run_id", "cycle_month"]].reset_index(drop=True)
