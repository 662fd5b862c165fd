"""KPI definitions and targets: each KPI's label, unit, default target, amber tolerance and direction
(:data:`KPI_DEFINITIONS`), and the targets stored per segment (``kpi_target``), read with where they come
from and saved all or nothing with optimistic locking. A target stored for the segment wins, then one
stored for ``all``, then the default.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from sop_core.db import locking, monitor_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.db.models_monitor import KpiTarget
from sop_core.errors import Change, EditConflict, SopError
from sop_core.formatting import is_missing
from sop_core.services import permissions

log = logging.getLogger(__name__)


class KpiError(SopError):
    """A KPI request that cannot be served (one line for the user)."""


class _Stale(Exception):
    """Inside :func:`save_kpi_targets`: a target was saved by someone else since it was read."""


def _conflict(engine: Engine, segment: str, changes: list[tuple[str, float, int]]) -> EditConflict:
    """What the others saved of the edited targets since the user read them (``changes``: key, mine, version)."""
    with session_scope(engine) as s:
        stored = {key: monitor_repo.target_row(s, key, segment) for key, _, _ in changes}
        now = {key: (row.version, row.target, row.updated_by, row.updated_at) if row else None
               for key, row in stored.items()}
    found, seen = [], {}
    for key, mine, version in changes:
        row = now[key]
        seen[key] = row[0] if row else 0
        if seen[key] == version:
            continue
        label = KPI_DEFINITIONS[key].label
        found.append(Change(label, row[2] if row else "someone", row[3] if row else None,
                            f"{row[1]:g}" if row else "removed", f"{mine:g}"))
    names = ", ".join(f"{c.what} (now {c.theirs}{f' by {c.who}' if c.who else ''})" for c in found)
    return EditConflict(f"targets of {segment_label(segment)} changed meanwhile, nothing saved: {names}; "
                        "keep theirs or save yours over them", found, seen)


@dataclass(frozen=True)
class KpiDefinition:
    """A KPI's label, display unit, default target, amber tolerance and which direction is better."""

    key: str
    label: str
    unit: str  # "%", "turns/year", "days", "SKUs"
    target: float
    tolerance: float  # width of the amber band beyond the target, in ``unit``
    direction: str  # higher | lower | abs_lower
    help: str
    #: The key of the KPI whose target this one is measured against (moving that target moves this KPI).
    depends_on: str = ""


#: The KPIs of the summary, in display order, with the company's default targets.
KPI_DEFINITIONS: dict[str, KpiDefinition] = {
    d.key: d
    for d in (
        KpiDefinition("fill_rate", "Fill rate (projected)", "%", 95.0, 5.0, "higher",
                      "Fill rate projected for next month: the share of its forecast demand that stock on hand and "
                      "open orders can serve (units served ÷ units forecast; not a cycle service level)."),
        KpiDefinition("otif", "OTIF", "%", 90.0, 10.0, "higher",
                      "Supplier deliveries of the last 12 months received on or before the promised date and in full."),
        KpiDefinition("inventory_turns", "Inventory turns", "turns/year", 6.0, 2.0, "higher",
                      "Cost of goods sold of the last 12 months / average inventory value at cost."),
        KpiDefinition("days_of_supply", "Days of supply", "days", 60.0, 30.0, "lower",
                      "Inventory value at cost / average daily cost of goods sold of the last 3 months."),
        KpiDefinition("forecast_wmape", "Forecast error (WMAPE)", "%", 30.0, 10.0, "lower",
                      "Σ|actual − forecast| / Σ actual over the last 12 months (earlier runs, else the backtest)."),
        KpiDefinition("forecast_bias", "Forecast bias", "%", 5.0, 5.0, "abs_lower",
                      "Σ(forecast − actual) / Σ actual; > 0 over-forecast. Target on the size of the bias."),
        KpiDefinition("supplier_reliability", "Supplier reliability", "%", 80.0, 15.0, "higher",
                      "Share of the quantity ordered in 12 months placed with suppliers meeting the OTIF target.",
                      depends_on="otif"),
        KpiDefinition("supplier_fill_rate", "Supplier fill rate", "%", 98.0, 3.0, "higher",
                      "Quantity received / quantity ordered on supplier deliveries of the last 12 months."),
        KpiDefinition("stockouts", "Stockouts", "SKUs", 0.0, 5.0, "lower",
                      "Stocked SKUs sold in the last 3 months with nothing on hand."),
        KpiDefinition("excess", "Excess stock", "SKUs", 10.0, 15.0, "lower",
                      "SKUs with more than 180 days of supply on hand."),
    )
}  # fmt: skip

def segment_label(segment: str) -> str:
    """``all`` → "All SKUs", ``family:BL`` → "Family BL", ``abc:A`` → "ABC class A"."""
    if segment == "all":
        return "All SKUs"
    kind, _, code = segment.partition(":")
    return f"Family {code}" if kind == "family" else f"ABC class {code}"


def kpi_targets(engine: Engine, segment: str = "all") -> pd.DataFrame:
    """The effective target of every KPI for a segment, with where it comes from.

    Returns:
        One row per KPI (index = key): ``kpi`` (label), ``unit``, ``target``, ``direction``,
        ``tolerance``, ``source`` (``segment``, ``all`` or ``default``), ``version`` (of the stored row of
        this segment; 0 when none is stored), ``updated_by``, ``updated_at``.
    """
    with session_scope(engine) as s:
        stored = monitor_repo.targets(s)
    own = stored[stored["segment"] == segment].set_index("kpi")
    overall = stored[stored["segment"] == "all"].set_index("kpi")
    rows = []
    for key, d in KPI_DEFINITIONS.items():
        if key in own.index:
            hit, source = own.loc[key], "segment" if segment != "all" else "all"
        elif key in overall.index:
            hit, source = overall.loc[key], "all"
        else:
            hit, source = None, "default"
        mine = key in own.index
        rows.append(
            {
                "key": key,
                "kpi": d.label,
                "unit": d.unit,
                "target": float(hit["target"]) if hit is not None else d.target,
                "direction": str(hit["direction"]) if hit is not None else d.direction,
                "tolerance": d.tolerance,
                "source": source,
                "version": int(own.loc[key, "version"]) if mine else 0,
                "updated_by": str(own.loc[key, "updated_by"]) if mine else "",
                "updated_at": own.loc[key, "updated_at"] if mine else pd.NaT,
            }
        )
    return pd.DataFrame(rows).set_index("key")


def save_kpi_targets(engine: Engine, segment: str, edits: pd.DataFrame, user: str) -> int:
    """Store edited targets of a segment, all or nothing, with optimistic locking.

    Args:
        engine: the database.
        segment: ``all``, ``family:<code>`` or ``abc:<class>``.
        edits: rows indexed by KPI key (or with a ``key`` column) holding the new ``target`` (display
            unit), the ``version`` read with it (0 when no row was stored for this segment) and,
            optionally, ``seen_target``, the target as it was read; rows whose target equals
            ``seen_target`` (without it: the effective target now) are not changes and are skipped.
        user: who saves; the ``targets`` action of :mod:`sop_core.services.permissions` is required.

    Returns:
        The number of targets written.

    Raises:
        NotAllowed: ``user`` may not change KPI targets.
        KpiError: unknown KPI or segment, a target that is not a finite number.
        EditConflict: another person changed one of the targets since ``version`` was read; nothing is
            written, the conflict carries their targets and ``seen`` ({KPI key: version now}) to save over them.
    """
    permissions.require(engine, user, "targets")
    if segment != "all":
        kind, _, code = segment.partition(":")
        if kind not in ("family", "abc") or not code:
            raise KpiError(f"unknown segment {segment!r}: use all, family:<code> or abc:A|B|C")
    frame = edits.set_index("key") if "key" in edits.columns else edits
    current = kpi_targets(engine, segment)
    changes = []
    for key, row in frame.iterrows():
        if key not in KPI_DEFINITIONS:
            raise KpiError(f"unknown KPI {key!r}")
        target = pd.to_numeric(row["target"], errors="coerce")
        if is_missing(target) or not np.isfinite(target):
            raise KpiError(f"{KPI_DEFINITIONS[key].label}: the target must be a number, got {row['target']!r}")
        if target < 0:  # every target is a level or a size (the bias target bounds |bias|)
            raise KpiError(f"{KPI_DEFINITIONS[key].label}: the target must be ≥ 0, got {target}")
        unchanged = float(row["seen_target"]) if "seen_target" in frame.columns else float(current.loc[key, "target"])
        if float(target) == unchanged:
            continue
        changes.append((str(key), float(target), int(row["version"])))
    if not changes:
        return 0
    before: dict[str, float | None] = {}
    try:
        with session_scope(engine) as s:
            for key, target, seen in changes:
                stored = monitor_repo.target_row(s, key, segment)
                before[key] = stored.target if stored is not None else None
                if (stored.version if stored else 0) != seen:
                    raise _Stale
                if stored is None:
                    s.add(KpiTarget(kpi=key, segment=segment, target=target, direction=KPI_DEFINITIONS[key].direction,
                                    updated_by=user, updated_at=dt.datetime.now()))
                else:
                    stored.target, stored.updated_by, stored.updated_at = target, user, dt.datetime.now()
            s.add(
                m.AuditLog(
                    username=user, action="kpi_target", entity="kpi_target", entity_id=segment,
                    detail={key: target for key, target, _ in changes}, before=before,
                    after={key: target for key, target, _ in changes},
                )
            )  # fmt: skip
            s.flush()  # UPDATE … WHERE version = read; INSERT under the unique (kpi, segment)
    except (_Stale, *locking.LOST_RACE):
        raise _conflict(engine, segment, changes) from None
    log.info("%s saved %d KPI target(s) of %s", user, len(changes), segment)
    return len(changes)
