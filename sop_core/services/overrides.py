"""Forecast overrides of a cycle: the override grid of an item, validation and saving with optimistic locking.

Overrides (``forecast_override``) carry a reason code, who and when; they can change only while the cycle is in
draft or demand review (:data:`EDITABLE_STATES`), and saving them uses optimistic locking on the row version.
Quantities are in units, periods are month starts.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sop_core.db import audit_repo, cycle_repo, forecast_repo, locking, master_repo, override_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.errors import Change, EditConflict
from sop_core.planning import consensus as cons
from sop_core.planning import forecast as fc
from sop_core.planning.forecast.hierarchy import Level
from sop_core.services import figures, permissions
from sop_core.services.demand import CONSENSUS_INPUTS, consensus_sums
from sop_core.services.forecasting import DemandError
from sop_core.text_checks import checked

log = logging.getLogger(__name__)
#: The reason codes an override may carry.
REASON_CODES = cons.REASON_CODES
#: Cycle states in which overrides may still change (later states lock them).
EDITABLE_STATES = ("draft", "demand_review")


class OverridesLocked(DemandError):
    """The cycle has moved past the demand review: its overrides can no longer change."""


def _cycle_row(session: Session, cycle_id: int) -> m.PlanCycle:
    cyc = cycle_repo.cycle(session, cycle_id)
    if cyc is None:
        raise DemandError(f"no plan cycle with id {cycle_id}")
    return cyc


def _lock_reason(cyc: m.PlanCycle) -> str | None:
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
        return override_repo.overrides(s, cycle_id, level, item)


GRID_COLUMNS = ["period", "statistical", "value", "pct", "reason", "comment", "consensus", "author", "created_at",
                "version"]


def override_grid(engine: Engine, cycle_id: int, level: Level, item: str) -> pd.DataFrame:
    """The override grid of one item: one row per forecast month of the cycle's run.

    Returns:
        DataFrame[period, statistical, value, pct, reason, comment, consensus, author, created_at, version]:
        statistical and consensus forecast of the item [units]; the item's own override (value [units] or
        pct [%], reason, comment, who and when, row version for optimistic locking; empty when none). Computed
        once per data version (:mod:`sop_core.services.figures`).
    """
    return figures.once(engine, "override_grid", (cycle_id, level, item), figures.data_stamp(engine, *CONSENSUS_INPUTS),
                        lambda: _override_grid(engine, cycle_id, level, item), tables=figures.ONE_TABLE)


def _override_grid(engine: Engine, cycle_id: int, level: Level, item: str) -> pd.DataFrame:
    sums = consensus_sums(engine, cycle_id, level, item)[["period", "statistical", "qty"]]
    sums = sums.rename(columns={"qty": "consensus"})
    with session_scope(engine) as s:
        ovr = override_repo.overrides(s, cycle_id, level, item)
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


def _shown(value: float | None, pct: float | None) -> str:
    """An override as the grid shows it: ``120``, ``+10 %`` or ``none``."""
    if value is not None:
        return f"{value:g}"
    return f"{pct:+g} %" if pct is not None else "none"


class _Stale(Exception):
    """Inside :func:`save_overrides`: a month was saved by someone else (the transaction is rolled back)."""


def _conflict(engine: Engine, cycle_id: int, level: Level, item: str, edits: pd.DataFrame,
              seen: dict[pd.Timestamp, int | None]) -> EditConflict:
    """What the others changed of the edited months since the user read ``seen``, read now."""
    with session_scope(engine) as s:
        rows = sorted(override_repo.override_rows(s, cycle_id, level, _aliases(level, item)),
                      key=lambda r: (r.created_at, r.id))
    now = {pd.Timestamp(r.period): r for r in rows}
    changes, fresh = [], dict(seen)
    for e in edits.itertuples(index=False):
        p = pd.Timestamp(e.period)
        cur = now.get(p)
        fresh[p] = cur.version if cur is not None else None
        if fresh[p] == seen.get(p):
            continue
        changes.append(Change(f"{p:%Y-%m}", cur.author if cur is not None else "someone",
                              cur.created_at if cur is not None else None,
                              _shown(_num(cur.value), _num(cur.pct)) if cur is not None else "none (removed)",
                              _shown(_num(e.value), _num(e.pct))))
    whom = "; ".join(f"{c.what} by {c.who}" + (f" at {c.when:%Y-%m-%d %H:%M}" if c.when else "") for c in changes)
    return EditConflict(
        f"Someone changed these months since you opened them: {whom or 'a month you edited'}. Nothing was saved: "
        "keep their numbers, or save yours over them.", changes, fresh)


def save_overrides(
    engine: Engine,
    cycle_id: int,
    level: Level,
    item: str,
    edits: pd.DataFrame,
    user: str,
    seen: dict[Any, int | None],
) -> pd.DataFrame:
    """Store the overrides of one item by period, all or nothing, unless someone else saved one of them first.

    A row with ``value`` [units] or ``pct`` [% of the statistical forecast] sets the item's override of that
    month (who = ``user``, when = now); a row with neither removes it. Every override needs a reason code of
    :data:`REASON_CODES`. Optimistic locking: ``seen`` maps each edited period to the row version the user saw
    in the grid (:func:`grid_edits`; a month missing from it, or None: the user saw no override). A month saved by
    someone else since then (its first override included: the database holds one override per cycle, level,
    item and month) refuses the whole save.

    Args:
        engine: the database.
        cycle_id: ``plan_cycle.id``.
        level: "sku", "family", "category" or "total".
        item: the item code ("Total" or "*" for the total).
        edits: DataFrame[period, value, pct, reason, comment] (value or pct may be missing).
        user: the username stored as author and in the audit log.
        seen: {period: version or None} as the user read them.

    Returns:
        The item's overrides after saving (:func:`list_overrides`).

    Raises:
        OverridesLocked: the cycle has moved past demand review.
        EditConflict: an edited month was saved by someone else since it was read; it carries their change and
            the ``seen`` to pass back to save over it.
        DemandError: unknown level / item, month outside the forecast, missing or unknown reason, bad number.
        TextRejected: a comment too long, with a control character or not valid Unicode.
    """
    if level not in fc.LEVELS:
        raise DemandError(f"unknown level {level!r}; expected one of {', '.join(fc.LEVELS)}")
    edits = edits.copy()
    for c in ("value", "pct", "reason", "comment"):
        if c not in edits:
            edits[c] = None
    edits["period"] = pd.to_datetime(edits["period"])
    for comment in edits["comment"]:
        if isinstance(comment, str):
            checked("comment", comment)
    problems = cons.validate_edits(edits)
    if problems:
        raise DemandError("; ".join(problems))
    expected = {pd.Timestamp(k): (None if v is None or pd.isna(v) else int(v)) for k, v in seen.items()}
    now = dt.datetime.now().replace(microsecond=0)
    stored_item = "*" if level == "total" else str(item)
    try:
        with session_scope(engine) as s:
            log_rows, before, after = _write_overrides(s, cycle_id, level, item, stored_item, edits, expected, user,
                                                       now)
            if log_rows:
                audit_repo.audit(s, user, "override_save", "forecast_override", cycle_id,
                                 {"level": level, "item": stored_item, "changes": log_rows}, before=before,
                                 after=after)
    except (_Stale, *locking.LOST_RACE):
        conflict = _conflict(engine, cycle_id, level, item, edits, expected)
        log.info("override save of %s %s by %s refused: %s", level, item, user, conflict)
        raise conflict from None
    if log_rows:
        log.info("%s saved %d override change(s) of %s %s in cycle %s", user, len(log_rows), level, item, cycle_id)
    return list_overrides(engine, cycle_id, level, item)


def _write_overrides(s: Session, cycle_id: int, level: Level, item: str, stored_item: str, edits: pd.DataFrame,
                     expected: dict[pd.Timestamp, int | None], user: str, now: dt.datetime
                     ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The writes of :func:`save_overrides` in its transaction: the changes, and each changed month's override
    before and after (None: none), for the audit trail; raises :class:`_Stale` on a conflict."""
    permissions.require(s, user, "override")
    cyc = _cycle_row(s, cycle_id)
    lock = _lock_reason(cyc)
    if lock:
        raise OverridesLocked(lock)
    if level != "total" and str(item) not in set(master_repo.products(s)[level].astype(str)):
        raise DemandError(f"no {level} {item!r}")
    run = forecast_repo.latest_run(s, cycle_id)
    months = set(forecast_repo.forecast_rows(s, run.id)["period"]) if run is not None else set()
    outside = [f"{p:%Y-%m}" for p in edits["period"] if p not in months]
    if outside:
        raise DemandError(f"no forecast month {', '.join(outside)} in cycle {cyc.month:%Y-%m}")
    rows = sorted(override_repo.override_rows(s, cycle_id, level, _aliases(level, item)),
                  key=lambda r: (r.created_at, r.id))
    current: dict[pd.Timestamp, list[Any]] = {}
    for r in rows:
        current.setdefault(pd.Timestamp(r.period), []).append(r)
    if any((current[p][-1].version if p in current else None) != expected.get(p) for p in edits["period"]):
        raise _Stale
    log_rows: list[dict[str, Any]] = []
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for e in edits.itertuples(index=False):
        p = pd.Timestamp(e.period)
        value, pct, reason, comment = _num(e.value), _num(e.pct), _text(e.reason), _text(e.comment)
        olds = current.get(p, [])
        for dup in olds[:-1]:  # the total stored as "Total" and as "*"
            override_repo.delete_override(s, dup)
        cur = olds[-1] if olds else None
        month = f"{p:%Y-%m-%d}"
        old = None if cur is None else {"value": _num(cur.value), "pct": _num(cur.pct), "reason": cur.reason,
                                        "comment": cur.comment or "", "author": cur.author}
        if value is None and pct is None:
            if cur is not None:
                override_repo.delete_override(s, cur)
                log_rows.append({"period": month, "action": "removed"})
                before[month], after[month] = old, None
            continue
        if cur is None:
            row = m.ForecastOverride(cycle_id=cycle_id, level=level, item=stored_item, period=p.date(), value=value,
                                     pct=pct, reason=reason, comment=comment, author=user, created_at=now)
            s.add(row)  # the unique key refuses it when someone saved the first override of this month meanwhile
            action = "added"
        elif (_num(cur.value), _num(cur.pct), cur.reason, cur.comment or "") == (value, pct, reason, comment):
            continue
        else:
            cur.value, cur.pct, cur.reason, cur.comment = value, pct, reason, comment
            cur.author, cur.created_at = user, now
            action = "changed"
        log_rows.append({"period": month, "action": action, "value": value, "pct": pct, "reason": reason})
        before[month] = old
        after[month] = {"value": value, "pct": pct, "reason": reason, "comment": comment, "author": user}
    s.flush()  # UPDATE / DELETE … WHERE version = the version read: a save meanwhile matches no row
    return log_rows, before, after
