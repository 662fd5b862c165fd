"""Make a database ready: schema at head, and on first start the demo company with a baseline forecast."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import audit_repo, bulk_repo, cycle_repo, plan_repo, repo, user_repo
from sop_core.db import models as m
from sop_core.db.engine import make_engine, session_scope, unreachable
from sop_core.db.guards import RESET_ALL
from sop_core.db.migrate import upgrade
from sop_core.db.models_cycle import Decision
from sop_core.db.schema import ALL_MODELS
from sop_core.io import demo, demo_company
from sop_core.planning import levers as lev
from sop_core.planning import scenario as sc
from sop_core.planning.forecast.chunks import ChunkRunner, ProcessPoolRunner
from sop_core.services import forecasting, permissions, plan, reproduce, snapshot
from sop_core.services.forecasting import event_calendar
from sop_core.services.page_figures import store_page_figures
from sop_core.units import FORECAST_HORIZON, Progress

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Demo users: in single-user mode the session is signed in as ``demo`` with every role.
DEMO_USERS = (
    ("demo", "Demo user (all roles)", "admin"),
    ("dana", "Dana Demand", "demand_planner"),
    ("sam", "Sam Supply", "supply_planner"),
    ("fiona", "Fiona Finance", "finance"),
    ("eric", "Eric Executive", "executive"),
)


def app_engine(url: str | None = None) -> Engine:
    """The application's engine for ``url`` (default: the configured database), ready to use: schema at head,
    and the demo company seeded when the database holds no product yet (:func:`ensure_ready`)."""
    engine = make_engine(url)
    ensure_ready(engine)
    return engine


#: What a page shows while the database does not answer (a server restarting, a network down).
UNREACHABLE = ("The database does not answer right now (it may be restarting). Nothing was changed by this step; "
               "try again in a moment.")


def database_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` is the database not answering (a refused, dropped or reset connection), which the next
    action survives once the server is back: the engine checks a pooled connection before it uses it."""
    return unreachable(exc)


def ensure_ready(engine: Engine, *, seed_demo: bool = True, progress: Progress | None = None) -> bool:
    """Upgrade the schema; seed the demo company when the database holds no product yet.

    Returns True when the demo company was seeded now.
    """
    upgrade(engine)
    with session_scope(engine) as s:
        empty = repo.count_rows(s, m.Product) == 0
    if empty and seed_demo:
        seed_demo_company(engine, progress=progress)
        return True
    return False


#: From this many SKUs on the demo's forecasts run on every core (below, one process starts faster).
PARALLEL_FROM_SKUS = 500
#: From this many SKUs on the signed past cycles of the demo are planned per family × make/buy
#: (``ScenarioInputs.level = "family"``, stored with the snapshot); below, per SKU like the app's plans.
FAMILY_PLAN_FROM_SKUS = 5000


@dataclass(frozen=True)
class DemoSeeded:
    """What :func:`seed_demo_company` wrote: rows per input table and the headline counts
    (:func:`sop_core.io.demo.summary`) of the demo company."""

    written: dict[str, int]
    summary: dict[str, Any]


def demo_workers(n_skus: int) -> int:
    """Worker processes for the demo's forecasts of ``n_skus`` series: every core from
    :data:`PARALLEL_FROM_SKUS` on, else 1."""
    return max(1, os.cpu_count() or 1) if n_skus >= PARALLEL_FROM_SKUS else 1


class _Bar:
    """A progress callback shared by threads: its fraction never goes back (``fraction`` 0 repeats it)."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self.at = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        with self._lock:
            self.at = max(self.at, fraction)
            if self._progress is not None:
                self._progress(self.at, message)


def seed_demo_company(
    engine: Engine,
    *,
    seed: int = 7,
    scale: int = 1,
    reset: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    user: str | None = None,
) -> DemoSeeded:
    """Write the demo company (all input tables, users, the current cycle), its signed past cycles and a
    baseline forecast run of the open cycle, and store the figures its pages open with
    (:func:`sop_core.services.page_figures.store_page_figures`).

    With ``reset`` every table is emptied first, by ``user`` (an admin: the ``reset`` action of
    :mod:`sop_core.services.permissions`; anyone while the database has no user), and the audit log starts again
    with the row of the reset: who, when, and the rows each table held before. The input tables land in one
    transaction. ``workers``:
    processes of the forecasts (None: :func:`demo_workers`); the figures do not depend on it. With more than
    one, the processes are started first and kept for the whole seeding, and the past cycles' forecasts run
    on them while this process writes the tables and plans the cycles whose forecasts are done.
    """

    if reset:
        if user is None:
            raise ValueError("a reset needs the acting user")
        with session_scope(engine) as s:
            if user_repo.all_users(s):
                permissions.require(s, user, "reset")
    report = _Bar(progress)
    n_workers = workers or demo_workers(demo_company.n_skus(scale))
    with _forecast_pool(n_workers) as runner:
        report(0.0, "Generating the demo company…")
        frames = demo.generate(seed=seed, scale=scale)
        upgrade(engine)
        with session_scope(engine) as s:
            has_past = not reset and cycle_repo.has_cycle_before(s, demo_company.CURRENT_CYCLE)
        months = [] if has_past else [spec["month"] for spec in _PAST_CYCLES]
        with PastForecasts(frames, n_workers, runner, months, report) as ahead:
            report(0.01, "Writing master data and history…")
            written = _write_inputs(engine, frames, reset, user or "demo")
            report(WRITTEN_AT, "Master data and history written")
            with session_scope(engine) as s:
                current = cycle_repo.cycle_by_month(s, demo_company.CURRENT_CYCLE)
                cycle_id = current.id if current is not None else None
            base = WRITTEN_AT + len(_PAST_CYCLES) * FORECAST_SHARE

            def open_progress(f: float, msg: str) -> None:
                report(base + (FIGURES_AT - base) * f, f"Open cycle: {msg}")

            open_run = ahead.later(partial(forecasting.compute_forecast, engine, cycle_id=cycle_id, workers=n_workers,
                                           chunk_runner=runner, progress=open_progress))
            if not has_past:
                seed_signed_cycles(engine, frames, ahead, progress=report)
            computed = open_run()
        forecasting.store_forecast(engine, computed, progress=open_progress)
    store_page_figures(engine, cycle_id,
                       progress=lambda f, msg: report(FIGURES_AT + (1.0 - FIGURES_AT) * f, msg))
    report(1.0, "Demo company ready")
    log.info("demo company seeded: %s", written)
    return DemoSeeded(written=written, summary=demo.summary(frames))


def _forecast_pool(workers: int) -> contextlib.AbstractContextManager[ProcessPoolRunner | None]:
    """The demo's forecast processes for a ``with`` block (None: forecast in this process)."""
    return ProcessPoolRunner(workers) if workers > 1 else contextlib.nullcontext()


def _write_inputs(engine: Engine, frames: dict[str, pd.DataFrame], reset: bool, user: str) -> dict[str, int]:
    """The input tables (in bulk, in one transaction, after emptying every table with ``reset``: audited as
    ``user``'s), the demo users and the open cycle; returns the rows written per input table."""
    written: dict[str, int] = {}
    with session_scope(engine) as s:
        held: dict[str, int] = {}
        if reset:
            held = {t.__tablename__: n for t in ALL_MODELS if (n := repo.count_rows(s, t))}
            s.info[RESET_ALL] = True  # a full reset also deletes signed (frozen) plans
            repo.clear_tables(s, reversed(ALL_MODELS))
            s.info.pop(RESET_ALL)
        for table in m.INPUT_TABLES:
            written[table], _updated = bulk_repo.bulk_upsert(s, table, frames[table])
        user_repo.add_missing_users(s, DEMO_USERS)
        if reset:
            audit_repo.audit(s, user, "demo_reset", "database", "", {"tables_emptied": len(held)}, before=held,
                             after={"written": written})
        month = demo_company.CURRENT_CYCLE
        if cycle_repo.cycle_by_month(s, month) is None:
            _open_current_cycle(s, month)
    return written


#: Who moved the demo's open cycle out of draft, and how long after the cycle start.
OPEN_CYCLE_START = ("dana", dt.timedelta(days=1))


def _open_current_cycle(session: Any, month: dt.date) -> None:
    """The demo's open cycle, started on the first of the month at 9:00 and moved from draft to demand
    review by the demand planner a day later, recorded in the audit log like every later transition (and
    like the first step of the signed cycles)."""
    user, after = OPEN_CYCLE_START
    moved = dt.datetime.combine(month, dt.time(9, 0)) + after
    cyc = m.PlanCycle(month=month, status="demand_review", status_by=user, status_at=moved)
    session.add(cyc)
    session.flush()
    session.add(m.AuditLog(at=moved, username=user, action="cycle_state", entity="plan_cycle", entity_id=str(cyc.id),
                           detail={"from": "draft", "to": "demand_review", "plan_version": 1, "note": ""}))


#: The demo's signed-off past cycles: month → (status, scenario name, levers, overrides, decisions).
#: Overrides are (sku, months after the cycle start, change in %, reason); decisions are
#: (text, owner, days after the cycle start until due, family or *, status, outcome, linked scenario:
#: "proposed" or None). The company ran no cycle in July and August (summer break): the June
#: cycle's forecast is what the planners had for June to August, which gives the KPI monitor five months
#: of forecasts scored against actuals by the current cycle.
_PAST_CYCLES: tuple[dict[str, Any], ...] = (
    {
        "month": dt.date(2026, 6, 1),
        "status": "closed",
        "scenario": ("Summer garden push", {"family_changes": {"GRILLS": 8.0, "MOWERS": 5.0}, "demand_to": "2026-08"}),
        "draft": ("Early autumn stock", {"cover_months": 1.5}),
        "overrides": (("GR-1001", 1, 10.0, "event"),),
        "decisions": (
            ("Push grills and mowers through August: +8 % and +5 % demand", "dana", 14, "*", "done",
             "Retail campaign ran from June to August", "proposed"),
            ("Review the kettle and toaster range with the key accounts", "fiona", 45, "KETTLES", "open", "", None),
        ),
    },
    {
        "month": dt.date(2026, 9, 1),
        "status": "closed",
        "scenario": ("Autumn price +2 %", {"price_change_pct": 2.0, "price_elasticity": -1.2}),
        "draft": ("Volume push", {"demand_change_pct": 4.0}),
        "overrides": (("CF-1001", 1, 15.0, "promotion"), ("CF-1002", 2, -10.0, "customer intelligence")),
        "decisions": (
            ("Raise list prices 2 % from October", "fiona", 20, "*", "done", "Prices raised on 1 October",
             "proposed"),
            ("Add a Saturday shift on the sewing line in November", "sam", 45, "*", "open", "", "proposed"),
        ),
    },
    {
        "month": dt.date(2026, 10, 1),
        "status": "signed",
        "scenario": ("Black Friday push", {"price_change_pct": 2.0, "price_elasticity": -1.2,
                                           "demand_change_pct": 3.0, "cover_months": 1.2}),
        "draft": ("Cautious winter", {"demand_change_pct": -5.0}),
        "overrides": (("CF-1001", 1, 20.0, "promotion"), ("CF-1003", 1, 12.0, "event")),
        "decisions": (
            ("Pre-build Black Friday stock: cover 1.2 months", "sam", 30, "*", "open", "", "proposed"),
            ("Hold the 2 % price increase through December", "fiona", 60, "*", "open", "", "proposed"),
        ),
    },
)


#: Progress of the seeding: generating and writing the input tables up to WRITTEN_AT; then five forecasts of
#: about the same work share the rest: one per signed past cycle and the open cycle's run (its forecast and its
#: backtest, two shares).
WRITTEN_AT = 0.05
FORECAST_SHARE = (1.0 - WRITTEN_AT) / (len(_PAST_CYCLES) + 2)
#: Where the stored page figures start on the progress bar (the open cycle's forecast ends there).
FIGURES_AT = 0.97


def _apply_overrides(stat: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    """``sku, period, qty`` after SKU-level overrides (``value`` replaces, else ``pct`` scales) [units]."""
    out = stat.copy()
    for r in overrides.itertuples(index=False):
        hit = (out["sku"] == r.item) & (out["period"] == pd.Timestamp(r.period))
        if r.value is not None and not pd.isna(r.value):
            out.loc[hit, "qty"] = float(r.value)
        else:
            out.loc[hit, "qty"] = out.loc[hit, "qty"] * (1.0 + float(r.pct) / 100.0)
    return out


@dataclass(frozen=True)
class CycleForecast:
    """The statistical forecast of a signed past cycle: ``frame`` (``sku, period, yhat, yhat_lo_*, yhat_hi_*,
    model`` [units]) on the sales history up to ``cutoff`` (the month before the cycle), whose
    :func:`~sop_core.services.forecasting.data_hash` is ``digest``."""

    frame: pd.DataFrame
    cutoff: dt.date
    digest: str


class PastForecasts:
    """The forecasts of the demo's signed past cycles, each on the history available then.

    As a context manager with a pool of processes (``runner``) it computes them one after the other in a thread,
    on the pool, from the start of the block (the calling thread meanwhile writes and plans); otherwise each is
    computed when :meth:`get` asks for it. The figures are the same either way.
    """

    def __init__(self, frames: dict[str, pd.DataFrame], workers: int, runner: ChunkRunner | None,
                 months: Sequence[dt.date], progress: Progress | None = None) -> None:
        self.history = frames["sales_history"][["sku", "period", "quantity"]].assign(
            period=lambda f: pd.to_datetime(f["period"])
        )
        self.events, self.products = frames["event"], frames["product"]
        self.workers, self.runner, self.months = workers, runner, list(months)
        self.report = progress or (lambda _f, _m: None)
        self._thread: ThreadPoolExecutor | None = None
        self._pending: dict[dt.date, Future[CycleForecast]] = {}

    def __enter__(self) -> PastForecasts:
        if self.runner is not None and self.months:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-forecasts")
            self._pending = {month: self._thread.submit(self.compute, month) for month in self.months}
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._thread = None

    def later(self, work: Callable[[], T]) -> Callable[[], T]:
        """``work`` queued after the cycles' forecasts when they are computed ahead (it starts once they are done,
        on the same pool), else run when asked for: the returned callable gives its result."""
        if self._thread is None:
            return work
        return self._thread.submit(work).result

    def get(self, month: dt.date) -> CycleForecast:
        """The forecast of the cycle of ``month`` (waits for it when it is being computed ahead)."""
        pending = self._pending.pop(month, None)
        return pending.result() if pending is not None else self.compute(month)

    def compute(self, month: dt.date) -> CycleForecast:
        """The forecast of the cycle of ``month`` on the history up to the month before, computed now."""
        k, label = self.months.index(month), f"{month:%Y-%m}"
        cut = self.history[self.history["period"] < pd.Timestamp(month)]
        frame = reproduce.forecast_history(
            cut, FORECAST_HORIZON, events=self.events, products=self.products, workers=self.workers,
            chunk_runner=self.runner,
            progress=lambda f, msg: self.report(WRITTEN_AT + FORECAST_SHARE * (k + f), f"Cycle {label} forecast: {msg}"),
        )
        return CycleForecast(frame=frame, cutoff=cut["period"].max().date(), digest=forecasting.data_hash(cut))


def seed_signed_cycles(
    engine: Engine, frames: dict[str, pd.DataFrame], forecasts: PastForecasts, *, progress: Progress | None = None
) -> None:
    """The demo's signed-off past cycles (2026-06 and 2026-09 closed, 2026-10 signed): per cycle its forecast
    (``forecasts``: on the history available then), overrides, scenarios, the proposed plan (per family ×
    make/buy from :data:`FAMILY_PLAN_FROM_SKUS` SKUs on), sign-off by every role, the frozen version with its
    snapshot, state changes and decisions."""

    report = progress or (lambda _f, _m: None)
    plan_level: Literal["family", "sku"] = "family" if len(frames["product"]) >= FAMILY_PLAN_FROM_SKUS else "sku"
    horizon = FORECAST_HORIZON
    calendar = event_calendar(frames["event"])  # the events planned then are those of the demo calendar
    for k, spec in enumerate(_PAST_CYCLES):
        month: dt.date = spec["month"]
        label = f"{month:%Y-%m}"
        report(WRITTEN_AT + FORECAST_SHARE * k, f"Cycle {label}: forecast on the history up to the month before…")
        got = forecasts.get(month)
        frame, cutoff, digest = got.frame, got.cutoff, got.digest

        def step(msg: str, label: str = label, done: float = WRITTEN_AT + FORECAST_SHARE * (k + 1)) -> None:
            report(done, f"Cycle {label}: {msg}")

        step("overrides, scenarios and the proposed plan…")
        start = dt.datetime.combine(month, dt.time(9, 0))
        with session_scope(engine) as s:
            cyc = m.PlanCycle(month=month, status="draft", status_by="demo", status_at=start)
            s.add(cyc)
            s.flush()
            cycle_id = cyc.id
            run = m.ForecastRun(
                cycle_id=cycle_id, created_at=start + dt.timedelta(days=1), created_by="dana", engine="statistical",
                horizon=horizon, freq="MS",
                params={"freq": "MS", "level": [80, 95], "last_actual": f"{cutoff:%Y-%m-%d}",
                        "first_forecast": f"{frame['period'].min():%Y-%m-%d}", "workers": forecasts.workers,
                        "n_series": int(frame["sku"].nunique()), "event_calendar": calendar},
                versions=snapshot.package_versions(), data_hash=digest, backtest={}, status="done",
            )
            s.add(run)
            s.flush()
            run_id = run.id
            repo.insert_frame(s, m.Forecast, frame, run_id=run_id)
            ovr = []
            for sku, offset, pct, reason in spec["overrides"]:
                period = (pd.Timestamp(month) + pd.DateOffset(months=offset)).date()
                ovr.append(m.ForecastOverride(
                    cycle_id=cycle_id, level="sku", item=sku, period=period, value=None, pct=pct, reason=reason,
                    comment="", author="dana", created_at=start + dt.timedelta(days=2),
                ))
            s.add_all(ovr)
            name, levers = spec["scenario"]
            proposed = m.Scenario(cycle_id=cycle_id, name=name, levers=lev.Levers(**levers).to_dict(), results={},
                                  status="proposed", author="fiona", created_at=start + dt.timedelta(days=8),
                                  updated_at=start + dt.timedelta(days=8))
            dname, dlevers = spec["draft"]
            draft = m.Scenario(cycle_id=cycle_id, name=dname, levers=lev.Levers(**dlevers).to_dict(), results={},
                               status="draft", author="sam", created_at=start + dt.timedelta(days=7),
                               updated_at=start + dt.timedelta(days=7))
            s.add_all([proposed, draft])
            s.flush()
            scenario_id = proposed.id
            overrides = repo.read_frame(s, m.ForecastOverride, m.ForecastOverride.cycle_id == cycle_id)
            override_records = snapshot.override_records(s, cycle_id)
        stat = frame[["sku", "period", "yhat"]].rename(columns={"yhat": "qty"})
        inputs = plan.scenario_inputs(engine, cycle_id)  # the cycle's forecast run, stock, orders, capacity
        if plan.consensus_or_none(engine, cycle_id) is None:  # no consensus (no forecast run to build it on): apply the overrides here
            inputs = dataclasses.replace(inputs, demand=_apply_overrides(stat, overrides))
        if plan_level != inputs.level:
            inputs = dataclasses.replace(inputs, level=plan_level)
        lv = lev.Levers(**levers)
        snap = snapshot.build_snapshot(
            label=label, version=1, stat=stat, inputs=inputs, levers=lv,
            run={"id": run_id, "engine": "statistical", "horizon": horizon, "freq": "MS", "level": [80, 95],
                 "history_cutoff": f"{cutoff:%Y-%m-%d}", "events": calendar},
            data_hash=digest, scenario={"id": scenario_id, "name": name}, overrides=override_records,
        )
        step("sign-off and the frozen snapshot…")
        signed_at = start + dt.timedelta(days=12)
        with session_scope(engine) as s:
            row = plan_repo.scenario(s, scenario_id)
            d_row = plan_repo.scenario_by_name(s, cycle_id, dname)
            assert row is not None and d_row is not None  # written above in this function
            row.results = {**snap.kpis, "plan_version": 1}
            d_row.results = plan.kpis_json(sc.evaluate(inputs, lev.Levers(**dlevers)).kpis)
            repo.insert_frame(s, m.PlanLine, snap.lines, cycle_id=cycle_id, plan_version=1, scenario_id=scenario_id)
            states = ["demand_review", "supply_review", "reconciliation", "executive_review"]
            who = ["dana", "dana", "sam", "fiona"]
            prev = "draft"
            for i, (state, user) in enumerate(zip(states, who, strict=True)):
                s.add(m.AuditLog(at=start + dt.timedelta(days=2 * i + 1), username=user, action="cycle_state",
                                 entity="plan_cycle", entity_id=str(cycle_id),
                                 detail={"from": prev, "to": state, "plan_version": 1, "note": ""}))
                prev = state
            for i, (username, _display, role) in enumerate(DEMO_USERS[1:]):
                s.add(m.Signoff(cycle_id=cycle_id, plan_version=1, role=role, username=username,
                                comment="", signed_at=signed_at + dt.timedelta(hours=i)))
            s.flush()
            snapshot.store_frozen_version(s, cycle_id, 1, snap, "eric", signed_at + dt.timedelta(hours=4),
                                          write_lines=False)
            s.add(m.AuditLog(at=signed_at + dt.timedelta(hours=4), username="eric", action="cycle_state",
                             entity="plan_cycle", entity_id=str(cycle_id),
                             detail={"from": prev, "to": "signed", "plan_version": 1, "note": "every role signed off"}))
            final_at = signed_at + dt.timedelta(hours=4)
            if spec["status"] == "closed":
                final_at = dt.datetime.combine(month, dt.time(17, 0)) + dt.timedelta(days=31)
                s.add(m.AuditLog(at=final_at, username="eric", action="cycle_state", entity="plan_cycle",
                                 entity_id=str(cycle_id),
                                 detail={"from": "signed", "to": "closed", "plan_version": 1, "note": ""}))
            closing = cycle_repo.cycle(s, cycle_id)
            assert closing is not None  # written above in this function
            closing.status, closing.status_by, closing.status_at = spec["status"], "eric", final_at
            linked = {"proposed": scenario_id, None: None}
            for text_, owner, due_days, family, status, outcome, link in spec["decisions"]:
                s.add(Decision(cycle_id=cycle_id, decision=text_, owner=owner,
                               due_date=month + dt.timedelta(days=due_days), scenario_id=linked[link],
                               family=family, status=status, outcome=outcome, created_by="eric",
                               created_at=signed_at))
            audit_repo.audit(s, "eric", "plan_frozen", "plan_cycle", cycle_id, {"plan_version": 1})
    report(WRITTEN_AT + FORECAST_SHARE * len(_PAST_CYCLES), "Past cycles signed off")
