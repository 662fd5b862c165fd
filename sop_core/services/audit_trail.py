"""The audit trail for the page and the command line: every write with its actor, time, object and the values
before and after, filtered by who, what and when, and as CSV.

Reading it is the ``audit`` action of :mod:`sop_core.services.permissions` (executives and admins).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import audit_repo
from sop_core.db.engine import session_scope
from sop_core.services import permissions

#: The columns of :func:`trail`.
TRAIL_COLUMNS = ["at", "user", "action", "entity", "entity_id", "detail", "before", "after"]
#: Most rows :func:`trail` returns [rows].
MAX_ROWS = 5_000


@dataclass(frozen=True)
class TrailChoices:
    """What the filters offer: the users and the actions the trail holds."""

    users: list[str]
    actions: list[str]


def _json(value: Any) -> str:  # noqa: ANN401 - a stored JSON value
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def choices(engine: Engine, actor: str) -> TrailChoices:
    """The users and actions of the trail, for the filters.

    Raises:
        NotAllowed: ``actor`` may not read the audit trail.
    """
    with session_scope(engine) as s:
        permissions.require(s, actor, "audit")
        users, actions = audit_repo.names(s)
    return TrailChoices(users, actions)


def trail(
    engine: Engine,
    actor: str,
    *,
    users: list[str] | None = None,
    actions: list[str] | None = None,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    limit: int = MAX_ROWS,
) -> pd.DataFrame:
    """The audit rows of ``users`` and ``actions`` (None or empty: any) from ``first_day`` to ``last_day``
    (both included), newest first, at most ``limit``: :data:`TRAIL_COLUMNS`, the JSON values as text.

    Raises:
        NotAllowed: ``actor`` may not read the audit trail.
    """
    since = dt.datetime.combine(first_day, dt.time()) if first_day else None
    until = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time()) if last_day else None
    with session_scope(engine) as s:
        permissions.require(s, actor, "audit")
        rows = audit_repo.trail(s, users=users or None, actions=actions or None, since=since, until=until,
                                limit=limit)
        records = [
            {"at": r.at, "user": r.username, "action": r.action, "entity": r.entity, "entity_id": r.entity_id,
             "detail": _json(r.detail), "before": _json(r.before), "after": _json(r.after)}
            for r in rows
        ]
    return pd.DataFrame(records, columns=TRAIL_COLUMNS)


def trail_csv(frame: pd.DataFrame) -> bytes:
    """The trail as CSV (UTF-8, a header row, the time as ``YYYY-MM-DD HH:MM:SS``)."""
    out = frame.assign(at=pd.to_datetime(frame["at"]).dt.strftime("%Y-%m-%d %H:%M:%S"))
    text: str = out.to_csv(index=False)
    return text.encode("utf-8")
