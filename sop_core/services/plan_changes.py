"""What changed between two plan versions (the plan diff, split by cause) and the one "vs last plan"
comparison of the executive review, the meeting pack and the ``diff`` command.

Money is in the company currency, quantities in units, periods are month starts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import cycle_repo, forecast_repo, master_repo, plan_repo, stock_repo, version_repo
from sop_core.db.engine import session_scope
from sop_core.planning import levers as lev
from sop_core.planning import plan_diff as plan_diff_math
from sop_core.services import figures, plan
from sop_core.services.cycle import STATE_LABELS, WorkflowError, cycle_by_month, cycle_info, cycle_row, month_label
from sop_core.services.snapshot import plan_components

#: What the plan margin of a plan line is (the margin vs last plan and vs budget, the plan table's margin).
LINE_MARGIN_BASIS = (
    "revenue − cost of goods − holding cost − overtime − alternate-supplier premium (each SKU's share of the plan's)"
)
#: Columns of :func:`diff_choices`.
DIFF_CHOICE_COLUMNS = ["key", "cycle_id", "month", "version", "state", "frozen", "current", "proposed", "label"]


def version_frame(
    engine: Engine, cycle_id: int, version: int | None = None, *, load_inputs: plan.InputsLoader | None = None
) -> pd.DataFrame:
    """A plan version as :data:`sop_core.planning.plan_diff.VERSION_COLUMNS` (frozen: as stored; open: evaluated now
    from the cycle's inputs, those of ``load_inputs`` when given, and the proposed scenario, or the baseline when
    nothing was promoted).

    Raises:
        WorkflowError: an open version of a cycle without a forecast.
    """
    with session_scope(engine) as s:
        cyc = cycle_row(s, cycle_id)
        version = cyc.plan_version if version is None else version
        stored = version_repo.version_lines(s, cycle_id, version)
        families = master_repo.products(s)[["sku", "family"]]
        if stored.empty:
            run = forecast_repo.latest_run(s, cycle_id)
            stat = forecast_repo.forecast_demand(s, run.id).rename(columns={"quantity": "qty"}) if run is not None else None
            scenario_id = plan_repo.plan_scenario_id(s, cycle_id, version)
            row = plan_repo.scenario(s, scenario_id) if scenario_id is not None else None
            levers = lev.Levers.from_dict(row.levers) if row is not None else lev.Levers()
    if not stored.empty:
        return stored.merge(families, on="sku", how="left")[plan_diff_math.VERSION_COLUMNS]
    if stat is None:
        raise WorkflowError(f"cycle {cycle_id} has no forecast yet")
    components = plan_components(stat, plan.cycle_inputs(engine, cycle_id, load_inputs), levers)
    return components[plan_diff_math.VERSION_COLUMNS]


def actual_sales(engine: Engine, first: dt.date, last: dt.date) -> pd.DataFrame:
    """``sku, period, quantity`` [units], ``revenue`` [currency] of the sales history in ``[first, last]``
    (revenue = quantity × net price, the product's unit price where the net price is missing)."""
    with session_scope(engine) as s:
        hist = stock_repo.price_history(s, first, last)
        prices = master_repo.products(s)[["sku", "unit_price"]]
    if hist.empty:
        return pd.DataFrame(columns=["sku", "period", "quantity", "revenue"])
    hist = hist.merge(prices, on="sku", how="left")
    price = hist["net_price"].where(hist["net_price"].notna(), hist["unit_price"]).astype(float)
    hist["revenue"] = hist["quantity"].astype(float) * price
    return hist[["sku", "period", "quantity", "revenue"]]


def months_text(first: Any, last: Any) -> str:
    """``2026-10`` for one month, ``2026-10 – 2028-03`` for a range (month starts or dates)."""
    a, b = f"{pd.Timestamp(first):%Y-%m}", f"{pd.Timestamp(last):%Y-%m}"
    return a if a == b else f"{a} – {b}"


@dataclass
class DiffResult:
    """A plan diff: the labels of both sides, the lines (:func:`sop_core.planning.plan_diff.decompose`) and the waterfall.

    ``after_first`` is the first planned month of the plan after: the months of the comparison window
    before it are history now, and their whole change is new actuals.
    """

    before_label: str
    after_label: str
    lines: pd.DataFrame
    waterfall: pd.DataFrame
    measure: str
    after_first: dt.date | None = None

    def by(self, level: str | list[str] | None) -> pd.DataFrame:
        """The change per ``level`` (family, sku, period) and cause (:func:`sop_core.planning.plan_diff.summarize`)."""
        return plan_diff_math.summarize(self.lines, level)

    def labelled(self, level: str) -> pd.DataFrame:
        """:meth:`by` with the causes' names as column headers and months as ``YYYY-MM``."""
        table = self.by(level).rename(columns=plan_diff_math.CAUSES)
        if level == "period":
            table["period"] = table["period"].dt.strftime("%Y-%m")
        return table

    @property
    def total_change(self) -> float:
        """After − before over the comparison window [currency, or units for the measure ``units``]."""
        return float(self.lines["change"].sum()) if not self.lines.empty else 0.0

    @property
    def new_actuals(self) -> float:
        """The part of :attr:`total_change` from the months that are history now (actual − plan before)."""
        return float(self.lines["new_actuals"].sum()) if not self.lines.empty else 0.0

    @property
    def actual_months(self) -> list[pd.Timestamp]:
        """The months of the window that are history now (before the plan after's first month)."""
        if self.lines.empty or self.after_first is None:
            return []
        periods = pd.to_datetime(self.lines["period"])
        return sorted(periods[periods < pd.Timestamp(self.after_first)].unique())

    @property
    def window(self) -> str:
        """The comparison window as text, ``2026-10 – 2028-03`` (empty without lines)."""
        if self.lines.empty:
            return ""
        return months_text(self.lines["period"].min(), self.lines["period"].max())

    @property
    def forecast_window(self) -> str:
        """The months of the window that both plans forecast (from the plan after's first month on)."""
        periods = pd.to_datetime(self.lines["period"]) if not self.lines.empty else pd.Series(dtype="datetime64[ns]")
        if self.after_first is not None:
            periods = periods[periods >= pd.Timestamp(self.after_first)]
        return months_text(periods.min(), periods.max()) if len(periods) else ""

    @property
    def basis(self) -> str:
        """What the total change covers, in words: the window, and the months counted at actual sales.

        Example: ``2026-10 – 2028-03, the months of 2026-10 v1 up to the last month of 2026-11 v1; 2026-10 at
        actual sales (new actuals)``.
        """
        if self.lines.empty:
            return "no month in both plans"
        text = f"{self.window}, the months of {self.before_label} up to the last month of {self.after_label}"
        actual = self.actual_months
        if actual:
            text += f"; {months_text(actual[0], actual[-1])} at actual sales (new actuals)"
        return text


def last_signed_version(engine: Engine, cycle_id: int) -> tuple[int, int] | None:
    """``(cycle id, version)`` of the newest frozen version of an earlier cycle (None when there is none)."""
    with session_scope(engine) as s:
        return version_repo.last_frozen_before(s, cycle_row(s, cycle_id).month)


def _version_label(engine: Engine, cycle_id: int, version: int | None) -> str:
    with session_scope(engine) as s:
        cyc = cycle_row(s, cycle_id)
        return f"{month_label(cyc.month)} v{version if version is not None else cyc.plan_version}"


def plan_diff(
    engine: Engine,
    after: tuple[int, int | None],
    before: tuple[int, int | None] | None = None,
    measure: str = "revenue",
    *,
    load_inputs: plan.InputsLoader | None = None,
) -> DiffResult:
    """The change from ``before`` to ``after`` (each ``(cycle id, version or None = current)``) per
    SKU × month, split by cause (:mod:`sop_core.planning.plan_diff`). ``before`` defaults to the last signed plan of
    an earlier cycle. ``load_inputs`` gives the inputs of ``after``'s cycle (:data:`sop_core.services.plan.InputsLoader`).

    Raises:
        WorkflowError: no earlier signed plan to compare with.
    """
    if before is None:
        before = last_signed_version(engine, after[0])
        if before is None:
            raise WorkflowError("no earlier signed plan to compare with")
    a = version_frame(engine, *before)
    b = version_frame(engine, *after, load_inputs=load_inputs)
    first = pd.Timestamp(a["period"].min()).date() if not a.empty else dt.date.min
    last = pd.Timestamp(b["period"].min()).date() if not b.empty else dt.date.max
    actuals = actual_sales(engine, first, last)
    lines = plan_diff_math.decompose(a, b, actuals, measure=measure)
    return DiffResult(
        before_label=_version_label(engine, *before),
        after_label=_version_label(engine, *after),
        lines=lines,
        waterfall=plan_diff_math.waterfall(lines),
        measure=measure,
        after_first=pd.Timestamp(b["period"].min()).date() if not b.empty else None,
    )


@dataclass(frozen=True)
class LastPlanChange:
    """The cycle's current plan against the last signed plan of an earlier cycle: the one "vs last plan"
    comparison that the Executive review page, the meeting pack (workbook and deck) and the ``diff`` command
    show (:func:`last_plan_change`).

    Revenue vs last plan is the plan diff's total change (:attr:`DiffResult.total_change`): over the last
    plan's months up to this plan's last month, the months that are history now at actual sales (their
    change is *new actuals*). Margin vs last plan is over the months both plans forecast only (there is
    no actual margin), with the line margin of :data:`LINE_MARGIN_BASIS`. Money in the company currency.
    """

    label: str | None  # the last signed plan, "2026-10 v1"; None: there is none
    diff: DiffResult | None
    margin_change: float | None

    @property
    def revenue_change(self) -> float | None:
        """Revenue vs last plan: this plan − the last signed plan over :attr:`revenue_basis` [currency]."""
        return self.diff.total_change if self.diff is not None else None

    @property
    def new_actuals(self) -> float | None:
        """The part of :attr:`revenue_change` from the months that are history now [currency]."""
        return self.diff.new_actuals if self.diff is not None else None

    @property
    def forecast_change(self) -> float | None:
        """The part of :attr:`revenue_change` over the months both plans forecast [currency]."""
        return self.diff.total_change - self.diff.new_actuals if self.diff is not None else None

    @property
    def revenue_basis(self) -> str | None:
        """``2026-10 – 2028-03 (2026-10 at actual sales)``: the months the revenue change covers."""
        if self.diff is None:
            return None
        actual = self.diff.actual_months
        return self.diff.window + (f" ({months_text(actual[0], actual[-1])} at actual sales)" if actual else "")

    @property
    def margin_basis(self) -> str | None:
        """``2026-11 – 2028-03, the months both plans forecast``: the months the margin change covers."""
        return f"{self.diff.forecast_window}, the months both plans forecast" if self.diff is not None else None

    def figures(self) -> dict[str, Any]:
        """The comparison as plain values (the keys :func:`sop_core.services.executive.headline` adds)."""
        return {
            "last_plan_label": self.label,
            "revenue_vs_last_plan": self.revenue_change,
            "revenue_vs_last_plan_new_actuals": self.new_actuals,
            "revenue_vs_last_plan_forecast_months": self.forecast_change,
            "margin_vs_last_plan": self.margin_change,
            "last_plan_revenue_basis": self.revenue_basis,
            "last_plan_margin_basis": self.margin_basis,
        }


def _last_plan_tables(change: LastPlanChange) -> dict[str, pd.DataFrame]:
    diff = change.diff
    meta = pd.DataFrame([{
        "label": change.label, "margin_change": change.margin_change,
        "before_label": diff.before_label if diff else None, "after_label": diff.after_label if diff else None,
        "measure": diff.measure if diff else None,
        "after_first": diff.after_first.isoformat() if diff and diff.after_first else None,
    }])
    if diff is None:
        return {"meta": meta}
    return {"meta": meta, "lines": diff.lines, "waterfall": diff.waterfall}


def _last_plan_from(tables: dict[str, pd.DataFrame]) -> LastPlanChange:
    meta = tables["meta"].iloc[0]

    def value(name: str) -> Any:  # noqa: ANN401 - a stored text or number
        v = meta[name]
        return None if v is None or (isinstance(v, float) and pd.isna(v)) else v

    if "lines" not in tables:
        return LastPlanChange(label=value("label"), diff=None, margin_change=value("margin_change"))
    first = value("after_first")
    diff = DiffResult(before_label=str(value("before_label")), after_label=str(value("after_label")),
                      lines=tables["lines"], waterfall=tables["waterfall"], measure=str(value("measure")),
                      after_first=dt.date.fromisoformat(first) if first else None)
    margin = value("margin_change")
    return LastPlanChange(label=value("label"), diff=diff, margin_change=float(margin) if margin is not None else None)


#: How :func:`last_plan_change` is stored: its plan diff's lines and waterfall, and one row of labels and figures.
LAST_PLAN_TABLES: figures.Tables[LastPlanChange] = figures.Tables(_last_plan_tables, _last_plan_from)


def last_plan_change(
    engine: Engine,
    cycle_id: int,
    *,
    current: plan.CurrentPlan | None = None,
    load_inputs: plan.InputsLoader | None = None,
    stamp: str | None = None,
) -> LastPlanChange:
    """The cycle's current plan version against the last signed plan of an earlier cycle (:class:`LastPlanChange`;
    every field None when there is no earlier signed plan).

    The revenue change is :func:`plan_diff` of the default pair (:func:`default_diff_pair`), the figure the
    ``diff`` command prints as its total change; the margin change compares the plan lines (``current``: the
    cycle's :func:`sop_core.services.plan.current_plan`, when the caller has it already) with the signed
    version's over the months both forecast. ``load_inputs``: the cycle's inputs
    (:data:`sop_core.services.plan.InputsLoader`). Computed once per version of the data the executive review
    reads (``stamp``: :func:`review_stamp`, read when not given) and stored ahead with the pages' figures.
    """
    stamp = stamp or review_stamp(engine, cycle_id)
    return figures.once(engine, "last_plan_change", (cycle_id,), stamp,
                        lambda: _last_plan_change(engine, cycle_id, current, load_inputs), tables=LAST_PLAN_TABLES)


def review_stamp(engine: Engine, cycle_id: int) -> str:
    """A short text that changes whenever what the executive review of the cycle reads does (its plan inputs,
    scenarios, plan lines, sign-offs, decisions, versions, budget, for every cycle): the key of its figures."""
    return figures.cycle_stamp(engine, plan_repo.REVIEW_TABLES, cycle_id)


def _last_plan_change(engine: Engine, cycle_id: int, current: plan.CurrentPlan | None,
                      load_inputs: plan.InputsLoader | None) -> LastPlanChange:
    last = last_signed_version(engine, cycle_id)
    if last is None:
        return LastPlanChange(label=None, diff=None, margin_change=None)
    diff = plan_diff(engine, (cycle_id, cycle_info(engine, cycle_id).plan_version), last, load_inputs=load_inputs)
    _info, lines = current if current is not None else plan.current_plan(engine, cycle_id, load_inputs=load_inputs)
    with session_scope(engine) as s:
        prev = plan_repo.plan_lines(s, *last, columns=["period", "revenue", "cost"])
    lines = lines.assign(period=pd.to_datetime(lines["period"]))
    prev = prev.assign(period=pd.to_datetime(prev["period"]))
    common = set(lines["period"]) & set(prev["period"])
    now = lines[lines["period"].isin(common)]
    was = prev[prev["period"].isin(common)]
    margin = float((now["revenue"].sum() - now["cost"].sum()) - (was["revenue"].sum() - was["cost"].sum()))
    return LastPlanChange(label=diff.before_label, diff=diff, margin_change=margin)


def plan_key(month: str | dt.date, version: int) -> str:
    """The text that names a plan version: ``YYYY-MM:vN`` (as :func:`plan_ref` reads it)."""
    return f"{month if isinstance(month, str) else month_label(month)}:v{int(version)}"


def diff_choices(engine: Engine) -> pd.DataFrame:
    """The plan versions a plan diff can compare, newest cycle and version first.

    Per cycle: every frozen (signed) version, every version with plan lines and the current version.
    Columns :data:`DIFF_CHOICE_COLUMNS`: ``key`` (``YYYY-MM:vN``), ``cycle_id``, ``month``
    (``YYYY-MM``), ``version``, ``state`` (the cycle's state), ``frozen`` (signed off), ``current``
    (the cycle's current version), ``proposed`` (has plan lines; an open version without them is the
    baseline) and ``label`` — e.g. ``2026-10 v1 (signed)``, ``2026-11 v1 (demand review, baseline)``,
    ``2026-12 v1 (superseded)`` for an earlier version that was never signed.
    """
    records = []
    with session_scope(engine) as s:
        for cyc in cycle_repo.cycles_newest_first(s):
            stored = version_repo.version_numbers(s, cyc.id)
            with_lines = plan_repo.plan_line_versions(s, cyc.id)
            for version in sorted(stored | with_lines | {cyc.plan_version}, reverse=True):
                frozen = version_repo.is_frozen(s, cyc.id, version)
                current = version == cyc.plan_version
                proposed = version in with_lines
                if frozen:
                    note = "signed"
                elif current:
                    note = STATE_LABELS.get(cyc.status, cyc.status).lower() + ("" if proposed else ", baseline")
                else:
                    note = "superseded"
                month = month_label(cyc.month)
                records.append(
                    {
                        "key": plan_key(month, version),
                        "cycle_id": cyc.id,
                        "month": month,
                        "version": int(version),
                        "state": cyc.status,
                        "frozen": frozen,
                        "current": current,
                        "proposed": proposed,
                        "label": f"{month} v{version} ({note})",
                    }
                )
    return pd.DataFrame(records, columns=DIFF_CHOICE_COLUMNS)


def plan_ref(engine: Engine, text: str) -> tuple[int, int]:
    """``YYYY-MM`` (the cycle's current version) or ``YYYY-MM:vN`` → ``(cycle id, version)``.

    Raises:
        WorkflowError: not a month, no cycle for it, or a version the cycle does not have.
    """
    month, _, version_text = str(text).strip().partition(":")
    cyc = cycle_by_month(engine, month)
    if not version_text:
        return cyc.id, cyc.plan_version
    digits = version_text.strip().lower().removeprefix("v")
    if not digits.isdigit():
        raise WorkflowError(f"{text!r}: the version is vN, e.g. {cyc.label}:v1")
    choices = diff_choices(engine)
    versions = choices.loc[choices["cycle_id"] == cyc.id, "version"].tolist()
    if int(digits) not in versions:
        known = ", ".join(f"v{v}" for v in sorted(versions))
        raise WorkflowError(f"cycle {cyc.label} has no plan version {int(digits)}; versions: {known}")
    return cyc.id, int(digits)


def default_diff_pair(engine: Engine, cycle_id: int) -> tuple[str | None, str]:
    """Keys (:func:`plan_key`) of the default plan diff of a cycle: the last signed plan of an earlier
    cycle (None when there is none) → the cycle's current version."""
    cyc = cycle_info(engine, cycle_id)
    before = last_signed_version(engine, cycle_id)
    before_key = plan_key(cycle_info(engine, before[0]).month, before[1]) if before is not None else None
    return before_key, plan_key(cyc.month, cyc.plan_version)


def compare_keys(engine: Engine, after_key: str, before_key: str) -> DiffResult:
    """The revenue plan diff between two plan keys (:func:`plan_key`, as :func:`plan_ref` reads them).

    Raises:
        WorkflowError: a key that names no plan version, or a version without a forecast.
    """
    return plan_diff(engine, plan_ref(engine, after_key), plan_ref(engine, before_key))
