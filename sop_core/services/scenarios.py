"""Saved scenarios of the reconciliation: save (with optimistic locking), find by name and list a cycle's
scenarios; loading one by id, evaluating it and promoting it to the proposed plan: :mod:`.plan`.

A save names the version the user loaded, and a save over a newer version is refused with
:class:`sop_core.errors.EditConflict` (nothing is overwritten; the user's levers stay on screen). Every save is
one transaction that also writes an ``audit_log`` row.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import audit_repo, locking, plan_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.errors import Change, EditConflict
from sop_core.planning import levers as lev
from sop_core.services import permissions, plan
from sop_core.text_checks import checked

log = logging.getLogger(__name__)


def find_scenario(engine: Engine, cycle_id: int, name: str) -> plan.ScenarioRecord | None:
    """The cycle's scenario named ``name`` (surrounding spaces ignored); None when there is none."""
    with session_scope(engine) as s:
        row = plan_repo.scenario_by_name(s, cycle_id, name.strip())
        return plan.scenario_record(row) if row is not None else None


def _levers_text(levers: lev.Levers) -> str:
    """The levers that differ from the unchanged plan, as ``demand_change_pct=7, …`` (``no change``)."""
    base = lev.Levers().to_dict()
    diff = [f"{k}={v}" for k, v in levers.to_dict().items() if base.get(k) != v]
    return ", ".join(diff) or "no change"


def _conflict(engine: Engine, cycle_id: int, name: str, mine: lev.Levers) -> EditConflict:
    current = find_scenario(engine, cycle_id, name)
    if current is None:
        return EditConflict(f"scenario '{name}' was deleted meanwhile; save it again to create it",
                            [Change(f"scenario '{name}'", "someone", None, "deleted", _levers_text(mine))], None)
    change = Change(f"scenario '{name}'", current.author, current.updated_at, _levers_text(current.levers),
                    _levers_text(mine))
    return EditConflict(
        f"scenario '{name}' was changed by {current.author or 'someone'} at {plan.when_text(current.updated_at)} "
        f"(now version {current.version}); keep theirs or save yours over it", [change], current.version)


def save_scenario(
    engine: Engine,
    cycle_id: int,
    name: str,
    levers: lev.Levers,
    user: str,
    seen: int | None,
    *,
    load_inputs: plan.InputsLoader | None = None,
) -> tuple[int, int]:
    """Create or update a scenario, refusing to overwrite someone else's newer save.

    Args:
        engine: the database.
        cycle_id: the plan cycle the scenario belongs to.
        name: the scenario's name (unique per cycle).
        levers: the what-if levers to store.
        user: the user name saving (stored as the author).
        seen: the version the user loaded; None to create a new scenario.
        load_inputs: the cycle's plan inputs the stored KPIs are evaluated on
            (:data:`~sop_core.services.plan.InputsLoader`; default: read now).

    Returns:
        ``(scenario id, new version)``.

    Raises:
        EditConflict: the stored version differs from ``seen`` (or the name exists when creating); the stored
            scenario is left as it was, the conflict carries its author, time, levers and version.
        TextRejected: a name too long, with a control character or not valid Unicode.
        PlanError (:class:`sop_core.services.plan.PlanError`): an empty name, an unknown cycle, no forecast, or
            a scenario that is the proposed plan (its levers stay as promoted, so the plan lines and its KPIs
            always agree).
    """
    permissions.require(engine, user, "scenario_save")
    name = checked("scenario name", name.strip(), single_line=True)
    if not name:
        raise plan.PlanError("scenario name is empty: type a name")
    if name.lower() == plan.BASELINE.lower():
        raise plan.PlanError(f"'{plan.BASELINE}' is reserved for the unchanged plan: choose another name")
    kpis = plan.kpis_json(plan.evaluate(plan.cycle_inputs(engine, cycle_id, load_inputs), levers).kpis)
    try:
        with session_scope(engine) as s:
            plan.get_cycle(s, cycle_id)
            row = plan_repo.scenario_by_name(s, cycle_id, name)
            if row is None:
                if seen is not None:
                    raise _conflict(engine, cycle_id, name, levers)
                previous = None
                row = m.Scenario(
                    cycle_id=cycle_id,
                    name=name,
                    levers=levers.to_dict(),
                    results=kpis,
                    status="draft",
                    author=user,
                    created_at=plan.timestamp(),
                    updated_at=plan.timestamp(),
                )
                s.add(row)
                s.flush()
                action = "scenario_created"
            else:
                if seen is None:
                    raise EditConflict(
                        f"scenario '{name}' already exists (saved by {row.author or 'someone'} at "
                        f"{plan.when_text(row.updated_at)}); load it or choose another name",
                        [Change(f"scenario '{name}'", row.author, row.updated_at, _levers_text(lev.Levers.from_dict(
                            row.levers)), _levers_text(levers))], row.version)
                if row.status == "proposed":
                    raise plan.PlanError(
                        f"scenario '{name}' is the proposed plan of this cycle and stays as promoted: "
                        "save your changes under a new name"
                    )
                if row.version != seen:
                    raise _conflict(engine, cycle_id, name, levers)
                previous = {"levers": row.levers, "version": row.version, "author": row.author}
                row.levers = levers.to_dict()
                row.results = kpis
                row.author = user
                row.updated_at = plan.timestamp()
                s.flush()  # UPDATE … WHERE version = loaded version: a concurrent save makes it match nothing
                action = "scenario_saved"
            audit_repo.audit(
                s, user, action, "scenario", row.id, {"name": name, "levers": levers.to_dict(), "version": row.version},
                before=previous, after={"levers": levers.to_dict(), "version": row.version, "author": user},
            )
            result = (row.id, row.version)
    except locking.LOST_RACE as exc:
        log.info("scenario save conflict on %r: %s", name, type(exc).__name__)
        raise _conflict(engine, cycle_id, name, levers) from None
    log.info("scenario %r saved by %s (id %s, version %s)", name, user, *result)
    return result


def list_scenarios(engine: Engine, cycle_id: int) -> pd.DataFrame:
    """Saved scenarios of a cycle: ``id, name, status, author, updated_at, version``, the main levers
    and the KPIs stored when each was saved (revenue, margin, margin_rate, inventory_value_end, fill_rate)."""
    kpi_cols = ["revenue", "margin", "margin_rate", "inventory_value_end", "fill_rate"]
    cols = [
        "id",
        "name",
        "status",
        "author",
        "updated_at",
        "version",
        "demand_change_pct",
        "price_change_pct",
        *kpi_cols,
    ]
    with session_scope(engine) as s:
        rows = [plan.scenario_record(r) for r in plan_repo.scenarios(s, cycle_id)]
    records = [
        {
            "id": r.id,
            "name": r.name,
            "status": r.status,
            "author": r.author,
            "updated_at": r.updated_at,
            "version": r.version,
            "demand_change_pct": r.levers.demand_change_pct,
            "price_change_pct": r.levers.price_change_pct,
            **{k: r.results.get(k) for k in kpi_cols},
        }
        for r in rows
    ]
    return pd.DataFrame(records, columns=cols)
