"""The audit log (``audit_log``): who changed what, when, and the values before and after. Functions take a
session and never commit."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sop_core.db import models as m


def plain(value: Any) -> Any:  # noqa: ANN401 - any value a change holds
    """``value`` as JSON can hold it: dates and times as ISO text, numpy numbers as Python numbers, NaN as None,
    mappings and sequences element by element."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # a numpy scalar, a pandas Timestamp
        return plain(value.isoformat() if hasattr(value, "isoformat") else value.item())
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def audit(
    session: Session,
    username: str,
    action: str,
    entity: str,
    entity_id: Any,  # noqa: ANN401 - an id of any type, stored as text
    detail: dict[str, Any],
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an ``audit_log`` row: ``username`` did ``action`` to ``entity`` ``entity_id`` (``detail``: what);
    ``before`` and ``after``: the values the change replaced and wrote (None: there were none)."""
    session.add(m.AuditLog(username=username, action=action, entity=entity, entity_id=str(entity_id),
                           detail=plain(detail), before=plain(before), after=plain(after)))


def trail(
    session: Session,
    *,
    users: list[str] | None = None,
    actions: list[str] | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 5000,
) -> list[m.AuditLog]:
    """The newest ``limit`` audit rows, newest first, of ``users`` and ``actions`` (None: any) from ``since``
    (inclusive) to ``until`` (exclusive)."""
    query = select(m.AuditLog)
    if users:
        query = query.where(m.AuditLog.username.in_(users))
    if actions:
        query = query.where(m.AuditLog.action.in_(actions))
    if since is not None:
        query = query.where(m.AuditLog.at >= since)
    if until is not None:
        query = query.where(m.AuditLog.at < until)
    return list(session.scalars(query.order_by(m.AuditLog.at.desc(), m.AuditLog.id.desc()).limit(limit)))


def names(session: Session) -> tuple[list[str], list[str]]:
    """The user names and the actions the audit log holds, each sorted."""
    users = session.scalars(select(m.AuditLog.username).distinct().order_by(m.AuditLog.username))
    actions = session.scalars(select(m.AuditLog.action).distinct().order_by(m.AuditLog.action))
    return list(users), list(actions)


def last_entry(session: Session, action: str, entity: str, entity_id: Any) -> m.AuditLog | None:
    """The latest ``audit_log`` row of ``action`` on one entity (who did it last, and when), or None."""
    return session.scalars(
        select(m.AuditLog).where(m.AuditLog.action == action, m.AuditLog.entity == entity,
                                 m.AuditLog.entity_id == str(entity_id))
        .order_by(m.AuditLog.at.desc(), m.AuditLog.id.desc()).limit(1)
    ).first()


def entries(session: Session, entity: str, limit: int = 200) -> list[m.AuditLog]:
    """The newest ``limit`` audit rows about ``entity`` (e.g. ``app_user``), newest first."""
    return list(
        session.scalars(
            select(m.AuditLog).where(m.AuditLog.entity == entity).order_by(m.AuditLog.at.desc(), m.AuditLog.id.desc())
            .limit(limit)
        )
    )


def state_changes(session: Session, cycle_id: int) -> list[m.AuditLog]:
    """The audited state changes of a plan cycle, oldest first."""
    return list(
        session.scalars(
            select(m.AuditLog)
            .where(m.AuditLog.entity == "plan_cycle", m.AuditLog.entity_id == str(cycle_id),
                   m.AuditLog.action == "cycle_state")
            .order_by(m.AuditLog.at, m.AuditLog.id)
        )
    )


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
