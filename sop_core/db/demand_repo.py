"""Queries of the demand review: sales history, products, forecast runs and their rows.

Functions take a session and never commit (see :func:`sop_core.db.engine.session_scope`).

Column vocabulary (the same in every ``*_repo`` module, the schema's own names): ``quantity`` [units] a
quantity of a SKU in a period (sales, forecast demand, open orders), ``on_hand`` [units] the stock of a
SKU at a date, ``period`` the month start (``datetime64``), ``as_of`` the date of a stock count.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sop_core.db import models as m

RUN_FIELDS = ("id", "cycle_id", "created_at", "created_by", "engine", "horizon", "freq", "params", "versions",
              "data_hash", "backtest", "status")


def sales_history(session: Session) -> pd.DataFrame:
    """``sku, period, quantity`` of all sales history, sorted by sku and period (period as datetime64)."""
    result = session.execute(
        select(m.SalesHistory.sku, m.SalesHistory.period, m.SalesHistory.quantity).order_by(
            m.SalesHistory.sku, m.SalesHistory.period
        )
    )
    frame = pd.DataFrame(result.all(), columns=["sku", "period", "quantity"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["quantity"] = frame["quantity"].astype(float)
    return frame


def price_history(session: Session) -> pd.DataFrame:
    """``sku, family, period, quantity, net_price, promo`` of all sales history, sorted by sku and period
    (period as datetime64; net_price NaN where not given)."""
    h = m.SalesHistory
    result = session.execute(
        select(h.sku, m.Product.family, h.period, h.quantity, h.net_price, h.promo)
        .join(m.Product, m.Product.sku == h.sku)
        .order_by(h.sku, h.period)
    )
    frame = pd.DataFrame(result.all(), columns=["sku", "family", "period", "quantity", "net_price", "promo"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["quantity"] = frame["quantity"].astype(float)
    frame["net_price"] = pd.to_numeric(frame["net_price"], errors="coerce").astype(float)
    frame["promo"] = pd.to_numeric(frame["promo"], errors="coerce").fillna(0).astype(int)
    return frame


def price_history_stamp(session: Session) -> tuple[Any, ...]:
    """Aggregates that change whenever :func:`price_history` does: the sales rows (count, newest id, sums of
    quantity, net price and promo) and the SKU → family pairs of the product table."""
    h = m.SalesHistory
    sales = session.execute(
        select(func.count(h.id), func.max(h.id), func.sum(h.quantity), func.sum(h.net_price), func.sum(h.promo))
    ).one()
    families = tuple(session.execute(select(m.Product.sku, m.Product.family).order_by(m.Product.sku)).all())
    return (*sales, families)


def products(session: Session) -> pd.DataFrame:
    """``sku, name, family, category`` of every product, sorted by sku."""
    result = session.execute(
        select(m.Product.sku, m.Product.name, m.Product.family, m.Product.category).order_by(m.Product.sku)
    )
    return pd.DataFrame(result.all(), columns=["sku", "name", "family", "category"])


def run_as_dict(run: m.ForecastRun) -> dict[str, Any]:
    return {f: getattr(run, f) for f in RUN_FIELDS}


def latest_run(session: Session, cycle_id: int | None = None) -> m.ForecastRun | None:
    """The newest finished run of a cycle (any cycle when ``cycle_id`` is None)."""
    stmt = select(m.ForecastRun).where(m.ForecastRun.status == "done")
    if cycle_id is not None:
        stmt = stmt.where(m.ForecastRun.cycle_id == cycle_id)
    return session.scalar(stmt.order_by(m.ForecastRun.id.desc()).limit(1))


def run_by_id(session: Session, run_id: int) -> m.ForecastRun | None:
    return session.get(m.ForecastRun, run_id)


def add_run(session: Session, **fields: Any) -> int:
    """Insert a forecast_run row and return its id (flushed, not committed)."""
    run = m.ForecastRun(**fields)
    session.add(run)
    session.flush()
    return int(run.id)


def forecast_rows(session: Session, run_id: int) -> pd.DataFrame:
    """``sku, period, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95, model`` of one run."""
    cols = ["sku", "period", "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95", "model"]
    result = session.execute(
        select(*(getattr(m.Forecast, c) for c in cols))
        .where(m.Forecast.run_id == run_id)
        .order_by(m.Forecast.sku, m.Forecast.period)
    )
    frame = pd.DataFrame(result.all(), columns=cols)
    frame["period"] = pd.to_datetime(frame["period"])
    for c in cols[2:-1]:
        frame[c] = frame[c].astype(float)
    return frame


def audit(session: Session, username: str, action: str, entity: str, entity_id: Any, detail: dict[str, Any]) -> None:
    session.add(m.AuditLog(username=username, action=action, entity=entity, entity_id=str(entity_id), detail=detail))


OVERRIDE_FIELDS = ("id", "cycle_id", "level", "item", "period", "value", "pct", "reason", "comment", "author",
                   "created_at", "version")


def overrides(session: Session, cycle_id: int, level: str | None = None, item: str | None = None) -> pd.DataFrame:
    """``id, cycle_id, level, item, period, value, pct, reason, comment, author, created_at, version`` of
    the overrides of a cycle (optionally of one level / item), sorted by level, item, period, id."""
    stmt = select(*(getattr(m.ForecastOverride, c) for c in OVERRIDE_FIELDS)).where(
        m.ForecastOverride.cycle_id == cycle_id
    )
    if level is not None:
        stmt = stmt.where(m.ForecastOverride.level == level)
    if item is not None:
        items = ["*", "Total"] if level == "total" else [item]
        stmt = stmt.where(m.ForecastOverride.item.in_(items))
    stmt = stmt.order_by(m.ForecastOverride.level, m.ForecastOverride.item, m.ForecastOverride.period,
                         m.ForecastOverride.id)
    frame = pd.DataFrame(session.execute(stmt).all(), columns=list(OVERRIDE_FIELDS))
    frame["period"] = pd.to_datetime(frame["period"])
    for c in ("value", "pct"):
        frame[c] = frame[c].astype(float)
    return frame


def override_rows(session: Session, cycle_id: int, level: str, items: list[str]) -> list[m.ForecastOverride]:
    """The ORM rows of one cycle, level and item (item aliases given by the caller)."""
    return list(session.scalars(
        select(m.ForecastOverride).where(
            m.ForecastOverride.cycle_id == cycle_id,
            m.ForecastOverride.level == level,
            m.ForecastOverride.item.in_(items),
        )
    ))


def add_override(session: Session, **fields: Any) -> None:
    """Add a ``forecast_override`` row (written at the next flush)."""
    session.add(m.ForecastOverride(**fields))


def delete_override(session: Session, row: m.ForecastOverride) -> None:
    """Delete an override row read by :func:`override_rows` (at the next flush)."""
    session.delete(row)


def cycle(session: Session, cycle_id: int) -> m.PlanCycle | None:
    return session.get(m.PlanCycle, cycle_id)


def previous_cycle(session: Session, cycle_id: int) -> m.PlanCycle | None:
    """The plan cycle of the latest month before this cycle's month."""
    cur = session.get(m.PlanCycle, cycle_id)
    if cur is None:
        return None
    return session.scalar(
        select(m.PlanCycle).where(m.PlanCycle.month < cur.month).order_by(m.PlanCycle.month.desc()).limit(1)
    )


def cycles_before(session: Session, cycle_id: int | None) -> list[m.PlanCycle]:
    """Plan cycles of months before this cycle's month, oldest first (all cycles when cycle_id is None)."""
    cur = session.get(m.PlanCycle, cycle_id) if cycle_id is not None else None
    stmt = select(m.PlanCycle).order_by(m.PlanCycle.month)
    if cur is not None:
        stmt = stmt.where(m.PlanCycle.month < cur.month)
    return list(session.scalars(stmt))


def events(session: Session) -> pd.DataFrame:
    """``name, start, end, scope, uplift_pct`` of every event (uplift in percent), sorted by start."""
    result = session.execute(
        select(m.Event.name, m.Event.start, m.Event.end, m.Event.scope, m.Event.uplift_pct).order_by(m.Event.start)
    )
    frame = pd.DataFrame(result.all(), columns=["name", "start", "end", "scope", "uplift_pct"])
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


def frozen_run(session: Session, cycle_id: int) -> m.ForecastRun | None:
    """The forecast run a cycle's plan was frozen on (its newest frozen plan version), else its newest run."""
    from sop_core.db.models_cycle import PlanVersion

    run_id = session.scalar(
        select(PlanVersion.forecast_run_id)
        .where(PlanVersion.cycle_id == cycle_id, PlanVersion.status == "frozen",
               PlanVersion.forecast_run_id.is_not(None))
        .order_by(PlanVersion.version.desc())
        .limit(1)
    )
    run = session.get(m.ForecastRun, run_id) if run_id is not None else None
    return run if run is not None else latest_run(session, cycle_id)


def review_stamp(session: Session, cycle_id: int) -> tuple[Any, ...]:
    """Aggregates that change whenever what the demand review shows does: the cycle's forecast runs,
    its overrides (added, edited — the version grows — or removed), the sales history and the events."""
    runs = session.execute(
        select(func.count(m.ForecastRun.id), func.max(m.ForecastRun.id)).where(m.ForecastRun.cycle_id == cycle_id)
    ).one()
    o = m.ForecastOverride
    overrides = session.execute(
        select(func.count(o.id), func.max(o.id), func.sum(o.version)).where(o.cycle_id == cycle_id)
    ).one()
    sales = session.execute(
        select(func.count(m.SalesHistory.id), func.max(m.SalesHistory.id), func.sum(m.SalesHistory.quantity))
    ).one()
    events = session.execute(select(func.count(m.Event.id), func.max(m.Event.id))).one()
    return (*runs, *overrides, *sales, *events)


def newest_sales_period(session: Session) -> pd.Timestamp | None:
    """The newest month of the sales history (None without history)."""
    newest = session.scalar(select(func.max(m.SalesHistory.period)))
    return pd.Timestamp(newest) if newest is not None else None


def sales_imports_since(session: Session, since: Any) -> list[Any]:
    """The times of the imports (``audit_log`` action "import") after ``since`` that wrote sales history,
    oldest first."""
    rows = session.execute(
        select(m.AuditLog.at, m.AuditLog.entity, m.AuditLog.detail)
        .where(m.AuditLog.action == "import", m.AuditLog.at > since)
        .order_by(m.AuditLog.at, m.AuditLog.id)
    ).all()
    return [at for at, entity, detail in rows
            if "sales_history" in str(entity).split(",")
            or any(f.get("table") == "sales_history" for f in (detail or {}).get("files", []))]


def skus_without_forecast(session: Session, run_id: int) -> int:
    """How many SKUs with sales history run ``run_id`` does not forecast."""
    forecast = select(m.Forecast.sku).where(m.Forecast.run_id == run_id).distinct()
    return int(session.scalar(
        select(func.count(func.distinct(m.SalesHistory.sku))).where(m.SalesHistory.sku.not_in(forecast))
    ) or 0)
