"""No lost or doubled edits: N people save the same object at the same moment, for every object two people can edit.

For each object, ``writers`` threads (default 20) all read the object first (the same ``seen``: the grid, the
scenario, the proposed plan, the decision, the KPI targets, the user as each page showed it), wait for each other,
then save their own value at once through the services the pages call. Each writer is either told "saved" or gets
an :class:`~sop_core.errors.EditConflict`; anything else is counted under ``errors``.

Objects: the first override of a month (an insert race), a change of that override, a scenario's levers, the
promotion of one scenario per writer (a different one each), a decision's outcome, the first KPI target of a segment
(an insert race), a user's role.

Per object :func:`run` reports ``writers``, ``saved``, ``conflicts``, ``reported`` (conflicts that name the
other person's change), ``errors`` and ``lost``: the writers told "saved" whose value is not what the database
holds at the end (every writer saw the same state, so at most one save may land; a second one overwrites the first
unseen). ``rows`` counts the stored rows of the object (one override row for the month, one proposed scenario,
one set of plan lines), which must be 1.

Every writer is a user of the company whose role allows what it saves (:mod:`sop_core.services.permissions`):
demand planners change the override and the scenario, supply planners promote, executives record the decision's
outcome and the KPI target, admins change the role.

The company it writes (two SKUs, a cycle after every existing one, its scenarios, a decision, its admin, a viewer
whose role the admins change, the writers, a KPI target segment) is named after that cycle (``RW<yyyymm>``): run it
on a scratch database.

    .venv/bin/python bench/reliability_writers.py [URL] [--writers 20]

URL: any SQLAlchemy URL (default: a fresh SQLite file in a temporary folder, with write-ahead logging as the app).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from sqlalchemy import Engine, func, select  # noqa: E402

from sop_core.db import models as m  # noqa: E402
from sop_core.db.engine import make_engine, session_scope  # noqa: E402
from sop_core.db.migrate import upgrade  # noqa: E402
from sop_core.db.models_cycle import Decision  # noqa: E402
from sop_core.db.models_monitor import KpiTarget  # noqa: E402
from sop_core.errors import EditConflict  # noqa: E402
from sop_core.planning import levers as lev  # noqa: E402
from sop_core.services import decisions, kpi_targets, overrides, plan, scenarios, users  # noqa: E402

ROLES = ("viewer", "demand_planner", "supply_planner", "finance", "executive")
#: The writers of each kind (:meth:`Company.writer`) and their role: the one that allows what they save.
WRITER_ROLES = {"planner": "demand_planner", "supply": "supply_planner", "exec": "executive", "admin": "admin"}


class Company:
    """The rows the writers share, named ``RW<yyyymm>`` after its cycle."""

    def __init__(self, engine: Engine, writers: int) -> None:
        with session_scope(engine) as s:
            last = s.scalar(select(func.max(m.PlanCycle.month)))
            month = (pd.Timestamp(last) + pd.DateOffset(years=1)).date() if last else dt.date(2030, 1, 1)
            self.tag = f"RW{month:%Y%m}"
            self.sku, self.family = f"{self.tag}-A", self.tag
            self.periods = [(pd.Timestamp(month) + pd.DateOffset(months=k)).date() for k in (1, 2, 3)]
            for sku in (self.sku, f"{self.tag}-B"):
                s.add(m.Product(sku=sku, name=f"Item {sku}", family=self.family, category=self.tag, unit_price=10.0,
                                unit_cost=6.0, holding_rate=0.2, order_cost=50.0, service_target=0.95))
            cycle = m.PlanCycle(month=month, status="demand_review", status_by="bench", status_at=dt.datetime.now())
            s.add(cycle)
            s.flush()
            run = m.ForecastRun(cycle_id=cycle.id, engine="statistical", horizon=3, created_by="bench")
            s.add(run)
            s.flush()
            s.add_all([m.Forecast(run_id=run.id, sku=sku, period=p, yhat=q, model="bench")
                       for sku, q in ((self.sku, 100.0), (f"{self.tag}-B", 50.0)) for p in self.periods])
            self.admin, self.user = f"{self.tag.lower()}_admin", f"{self.tag.lower()}_user"
            s.add_all([m.AppUser(username=self.admin, display_name="Admin", role="admin"),
                       m.AppUser(username=self.user, display_name="User", role="viewer")])
            s.add_all([m.AppUser(username=self.writer(kind, i), display_name=f"Writer {kind} {i}", role=role)
                       for kind, role in WRITER_ROLES.items() for i in range(writers)])
            self.cycle_id = int(cycle.id)
        self.scenario_ids = [scenarios.save_scenario(engine, self.cycle_id, f"{self.tag} writer {i}",
                                                     lev.Levers(demand_change_pct=i + 1), self.admin, None)[0]
                             for i in range(writers)]
        self.decision_id = decisions.add_decision(engine, self.cycle_id, "Push the spring range", "bench", None,
                                                  self.admin)

    def writer(self, kind: str, i: int) -> str:
        """The user name of writer ``i`` of a kind of :data:`WRITER_ROLES` (``rw203001_planner0``)."""
        return f"{self.tag.lower()}_{kind}{i}"


def _race(writers: int, save: Callable[[int], object]) -> tuple[list[str], list[EditConflict], list[str]]:
    """Start ``writers`` threads that call ``save(i)`` at the same moment; (saved, conflicts, errors) as
    the writers' outcomes: "saved" writers by index, conflicts, other errors as text."""
    barrier = threading.Barrier(writers)
    saved: list[str] = []
    conflicts: list[EditConflict] = []
    errors: list[str] = []
    lock = threading.Lock()

    def writer(i: int) -> None:
        barrier.wait()
        try:
            save(i)
        except EditConflict as err:
            with lock:
                conflicts.append(err)
        except Exception as err:  # noqa: BLE001 - every other outcome is counted, not raised
            with lock:
                errors.append(f"{type(err).__name__}: {err}"[:200])
        else:
            with lock:
                saved.append(str(i))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return saved, conflicts, errors


def _result(name: str, writers: int, outcome: tuple[list[str], list[EditConflict], list[str]],
            value_of: Callable[[int], Any], final: Any, rows: int, seconds: float) -> dict[str, Any]:
    saved, conflicts, errors = outcome
    landed = sum(1 for i in saved if value_of(int(i)) == final)
    return {
        "object": name, "writers": writers, "saved": len(saved), "conflicts": len(conflicts),
        "reported": sum(1 for c in conflicts if c.changes and c.changes[0].who), "errors": errors,
        "lost": len(saved) - min(landed, 1), "rows": rows, "final": final, "seconds": round(seconds, 2),
    }


def _override_rows(engine: Engine, co: Company) -> tuple[int, float | None, int | None]:
    with session_scope(engine) as s:
        rows = list(s.scalars(select(m.ForecastOverride).where(
            m.ForecastOverride.cycle_id == co.cycle_id, m.ForecastOverride.item == co.sku,
            m.ForecastOverride.period == co.periods[0])))
        return len(rows), (rows[-1].value if rows else None), (rows[-1].version if rows else None)


def _timed(writers: int, save: Callable[[int], object]) -> tuple[tuple[list[str], list[EditConflict], list[str]], float]:
    start = time.perf_counter()
    outcome = _race(writers, save)
    return outcome, time.perf_counter() - start


def run(url: str, writers: int = 20) -> list[dict[str, Any]]:
    """Race ``writers`` concurrent writers on every editable object of the database at ``url`` (migrated to the
    schema head first); one dict per object: ``object, writers, saved, conflicts, reported, errors, lost, rows,
    final, seconds``."""
    engine = make_engine(url, pool_size=writers + 2, max_overflow=4)
    try:
        upgrade(engine)
        return _run(engine, writers)
    finally:
        engine.dispose()


def _run(engine: Engine, writers: int) -> list[dict[str, Any]]:
    co = Company(engine, writers)
    out = []
    first = co.periods[0]

    def edit(value: float) -> pd.DataFrame:
        return pd.DataFrame({"period": [pd.Timestamp(first)], "value": [value], "reason": ["promotion"]})

    # the first override of a month: every writer saw no override
    outcome, secs = _timed(writers, lambda i: overrides.save_overrides(
        engine, co.cycle_id, "sku", co.sku, edit(100.0 + i), co.writer("planner", i), {}))
    rows, value, version = _override_rows(engine, co)
    out.append(_result("override (first of a month)", writers, outcome, lambda i: 100.0 + i, value, rows, secs))
    # a change of that override: every writer saw the stored one
    outcome, secs = _timed(writers, lambda i: overrides.save_overrides(
        engine, co.cycle_id, "sku", co.sku, edit(200.0 + i), co.writer("planner", i),
        {pd.Timestamp(first): version}))
    rows, value, _ = _override_rows(engine, co)
    out.append(_result("override (change)", writers, outcome, lambda i: 200.0 + i, value, rows, secs))

    # a scenario's levers: every writer loaded version 1 of the first scenario
    name = f"{co.tag} writer 0"
    outcome, secs = _timed(writers, lambda i: scenarios.save_scenario(
        engine, co.cycle_id, name, lev.Levers(demand_change_pct=50.0 + i), co.writer("planner", i), 1))
    stored = scenarios.find_scenario(engine, co.cycle_id, name)
    final = stored.levers.demand_change_pct if stored else None
    out.append(_result("scenario", writers, outcome, lambda i: 50.0 + i, final, 1, secs))

    # promotion: every writer saw no proposed plan and promotes its own scenario
    seen = plan.promotion_seen(engine, co.cycle_id)
    outcome, secs = _timed(writers, lambda i: plan.promote(engine, co.scenario_ids[i], co.writer("supply", i), seen))
    with session_scope(engine) as s:
        proposed = list(s.scalars(select(m.Scenario.id).where(m.Scenario.cycle_id == co.cycle_id,
                                                               m.Scenario.status == "proposed")))
        line_sets = s.scalar(select(func.count(func.distinct(m.PlanLine.scenario_id))).where(
            m.PlanLine.cycle_id == co.cycle_id))
        lines = s.scalar(select(func.count()).select_from(m.PlanLine).where(m.PlanLine.cycle_id == co.cycle_id))
    result = _result("promotion", writers, outcome, lambda i: co.scenario_ids[i],
                     proposed[0] if len(proposed) == 1 else tuple(proposed), max(len(proposed), line_sets or 0), secs)
    result["plan_lines"] = lines
    out.append(result)

    # a decision's outcome: every writer read version 1
    outcome, secs = _timed(writers, lambda i: decisions.update_decision(
        engine, co.decision_id, "done", f"outcome {i}", co.writer("exec", i), 1))
    with session_scope(engine) as s:
        text = s.scalar(select(Decision.outcome).where(Decision.id == co.decision_id))
    out.append(_result("decision outcome", writers, outcome, lambda i: f"outcome {i}", text, 1, secs))

    # the first KPI target of a segment: every writer saw the default (no stored row, version 0)
    segment = f"family:{co.family}"
    outcome, secs = _timed(writers, lambda i: kpi_targets.save_kpi_targets(
        engine, segment, pd.DataFrame({"key": ["fill_rate"], "target": [10.0 + i], "version": [0]}),
        co.writer("exec", i)))
    with session_scope(engine) as s:
        targets = list(s.scalars(select(KpiTarget.target).where(KpiTarget.segment == segment)))
    out.append(_result("KPI target (first of a segment)", writers, outcome, lambda i: 10.0 + i,
                       targets[0] if len(targets) == 1 else tuple(targets), len(targets), secs))

    # a user's role: every admin saw version 1 (viewer)
    outcome, secs = _timed(writers, lambda i: users.set_role(
        engine, co.writer("admin", i), co.user, ROLES[1 + i % 4], 1))
    with session_scope(engine) as s:
        role = s.scalar(select(m.AppUser.role).where(m.AppUser.username == co.user))
    out.append(_result("user role", writers, outcome, lambda i: ROLES[1 + i % 4], role, 1, secs))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="SQLAlchemy URL (default: a fresh SQLite file)")
    parser.add_argument("--writers", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'writers.db'}"
        results = run(url, args.writers)
    print(f"{'object':34} {'writers':>7} {'saved':>5} {'conflicts':>9} {'reported':>8} {'lost':>4} {'rows':>4} "
          f"{'errors':>6} {'s':>6}")
    for r in results:
        print(f"{r['object']:34} {r['writers']:>7} {r['saved']:>5} {r['conflicts']:>9} {r['reported']:>8} "
              f"{r['lost']:>4} {r['rows']:>4} {len(r['errors']):>6} {r['seconds']:>6}")
        for e in r["errors"][:3]:
            print(f"    {e}")
    return 0 if all(r["lost"] == 0 and not r["errors"] and r["rows"] == 1 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
