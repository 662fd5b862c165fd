"""The audit log (``audit_log``): who changed what, and when. Functions take a session and never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sop_core.db import models as m


def audit(session: Session, username: str, action: str, entity: str, entity_id: Any, detail: dict[str, Any]) -> None:
    """Add an ``audit_log`` row: ``username`` did ``action`` to ``entity`` ``entity_id`` (``detail``: what)."""
    session.add(m.AuditLog(username=username, action=action, entity=entity, entity_id=str(entity_id), detail=detail))


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
