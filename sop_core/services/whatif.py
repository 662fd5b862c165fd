"""What-if on a cycle's plan: levers in, one evaluation out.

The Reconciliation page and ``python -m sop_core whatif`` set the levers of
:class:`sop_core.planning.levers.Levers` as plain values (:func:`levers_from`, the field names in
:data:`LEVER_FIELDS`); :func:`evaluate` plans them once on the cycle's inputs (:func:`sop_core.services.plan.scenario_inputs`,
read only: the inputs may be shared) and returns everything shown about them (:class:`WhatIf`): the KPIs, their
change against the baseline, the supply gap, where more capacity pays, the inventory profile and the breakdowns.
:func:`compare_saved` sets the cycle's saved scenarios side by side.

Money is in the company currency (:data:`sop_core.config.CURRENCY`), quantities in units, periods are month starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import plan_repo
from sop_core.db.engine import session_scope
from sop_core.formatting import CURRENCY_SYMBOL
from sop_core.planning import balance_solve
from sop_core.planning import levers as lev
from sop_core.planning import scenario_result as scr
from sop_core.planning.scenario_inputs import ScenarioInputs
from sop_core.services import plan, pricing
from sop_core.units import SKU_PLAN_MAX_SKUS

#: The names of the levers (the fields of :class:`sop_core.planning.levers.Levers`), in their order.
LEVER_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(lev.Levers))
#: The scenario's name next to the baseline in :attr:`WhatIf.comparison` and :meth:`WhatIf.inventory_profile`.
SCENARIO = "Scenario"


class LeverError(plan.PlanError):
    """A lever named that does not exist, or given a value it cannot take (the message says which)."""


def levers_from(values: Mapping[str, Any]) -> lev.Levers:
    """The levers of ``values`` (lever name → plain value, e.g. ``{"demand_change_pct": 10}``); every lever not
    named stays at the baseline.

    Raises:
        LeverError: an unknown lever name or a value out of the lever's range.
    """
    unknown = sorted(set(values) - set(LEVER_FIELDS))
    if unknown:
        raise LeverError(f"unknown lever(s) {', '.join(unknown)}; known: {', '.join(LEVER_FIELDS)}")
    try:
        return lev.Levers(**values)
    except lev.ScenarioInputError as err:
        raise LeverError(str(err)) from None


def lever_values(levers: lev.Levers | None) -> dict[str, Any]:
    """Lever name → plain value of ``levers`` (None: the baseline's), the inverse of :func:`levers_from`."""
    return (levers or lev.Levers()).to_dict()


@dataclass(frozen=True)
class LeverChoices:
    """What the levers of a cycle can name: its months (``YYYY-MM``, in order), resources, SKUs, suppliers and
    product families (sorted)."""

    months: list[str]
    resources: list[str]
    skus: list[str]
    suppliers: list[str]
    families: list[str]


def lever_choices(inputs: ScenarioInputs) -> LeverChoices:
    """The months, resources, SKUs, suppliers and families of a cycle's inputs (:class:`LeverChoices`)."""
    return LeverChoices(
        months=[p.strftime("%Y-%m") for p in inputs.periods],
        resources=sorted(inputs.resources["resource"].astype(str)) if not inputs.resources.empty else [],
        skus=sorted(inputs.products["sku"].astype(str)) if not inputs.products.empty else [],
        suppliers=sorted(set(inputs.supplier_items["supplier"].astype(str))) if not inputs.supplier_items.empty else [],
        families=inputs.families,
    )


def load_inputs(engine: Engine, cycle_id: int) -> ScenarioInputs:
    """The cycle's what-if inputs (:func:`sop_core.services.plan.scenario_inputs`), to hand to :func:`evaluate`.

    Raises:
        PlanError: the cycle has no forecast, or a forecast SKU has no product row.
    """
    return plan.scenario_inputs(engine, cycle_id)


def plan_basis(inputs: ScenarioInputs) -> str | None:
    """What the constrained plan is solved per, in words, when it is not per SKU (plans of more than
    :data:`sop_core.units.SKU_PLAN_MAX_SKUS` SKUs, :mod:`sop_core.planning.scenario_family`); None when per SKU."""
    if not inputs.constrained or inputs.level != "family":
        return None
    return (f"Constrained plan solved per family × make/buy ({len(inputs.grid.skus):,} SKUs, more than "
            f"{SKU_PLAN_MAX_SKUS:,}); split to SKUs by need.")


@dataclass(frozen=True, eq=False)
class WhatIf:
    """One set of levers evaluated on a cycle's inputs, with the baseline next to it.

    Attributes:
        levers: the levers evaluated.
        result: their plan lines and KPIs; ``baseline``: the same with every lever at its default.
        kpis: the scenario's headline KPIs (:data:`sop_core.planning.scenario_result.KPI_LABELS`).
        delta: scenario − baseline per KPI; None when every lever is at the baseline.
        gap: unconstrained demand vs constrained supply per family and month, with the binding constraint
            (:func:`sop_core.planning.scenario_result.supply_gap`).
        capacity_notes: the most valuable binding capacities and suppliers as sentences ("One more hour on
            ULM-ESP in 2027-03 is worth €41.20"); empty without capacity data.
    """

    levers: lev.Levers
    result: scr.ScenarioResult
    baseline: scr.ScenarioResult
    kpis: dict[str, float]
    delta: dict[str, float] | None
    gap: pd.DataFrame
    capacity_notes: list[str]

    def inventory_profile(self, by: Literal["total", "family"] = "total") -> pd.DataFrame:
        """Projected end-of-month inventory of the baseline and the scenario (:data:`SCENARIO`), per month or per
        family and month (:func:`sop_core.planning.scenario_result.inventory_profile`)."""
        return scr.inventory_profile({plan.BASELINE: self.baseline, SCENARIO: self.result}, by=by)

    def breakdown(self, by: Literal["sku", "family", "total"] = "family") -> pd.DataFrame:
        """The scenario's figures per SKU, per family or in total over the horizon
        (:func:`sop_core.planning.scenario_result.breakdown`, :data:`~sop_core.planning.scenario_result.BREAKDOWN_COLUMNS`)."""
        return scr.breakdown(self.result, by)

    @property
    def described(self) -> str:
        """What the levers change against the baseline, in one line."""
        return lev.describe_levers(self.levers)


def evaluate(inputs: ScenarioInputs, levers: lev.Levers, top_notes: int = 5) -> WhatIf:
    """``levers`` planned once on ``inputs`` (read only), with the baseline, the supply gap and the
    ``top_notes`` most valuable capacity sentences (:class:`WhatIf`).

    Raises:
        PlanError: the inputs or levers cannot be evaluated (the message says why).
    """
    baseline = plan.evaluate(inputs, lev.Levers())
    result = plan.evaluate(inputs, levers)
    delta = None
    if levers != lev.Levers():
        table = scr.compare({plan.BASELINE: baseline, SCENARIO: result})
        delta = {str(k): float(v) for k, v in table[f"Δ {SCENARIO}"].items()}
    notes = (balance_solve.shadow_price_notes(result.balance, currency=CURRENCY_SYMBOL, top=top_notes)
             if result.balance else [])
    return WhatIf(
        levers=levers,
        result=result,
        baseline=baseline,
        kpis=result.kpis,
        delta=delta,
        gap=scr.supply_gap(result),
        capacity_notes=notes,
    )


@dataclass(frozen=True, eq=False)
class SavedComparison:
    """The baseline and saved scenarios side by side.

    Attributes:
        results: name → plan of the baseline (first) and each chosen scenario, in the order they are stored.
        table: one row per KPI, a ``label`` column, one column per scenario and ``Δ <name>`` against the
            baseline (:func:`sop_core.planning.scenario_result.compare`).
        kinds: KPI → how to show it: ``money``, ``qty``, ``share`` or ``num`` (a plain number: days of cover).
    """

    results: dict[str, scr.ScenarioResult]
    table: pd.DataFrame
    kinds: dict[str, str]

    def inventory_profile(self) -> pd.DataFrame:
        """Projected end-of-month inventory per scenario and month
        (:func:`sop_core.planning.scenario_result.inventory_profile`)."""
        return scr.inventory_profile(self.results, by="total")


def compare_saved(engine: Engine, cycle_id: int, scenario_ids: list[int], inputs: ScenarioInputs) -> SavedComparison:
    """The baseline and the chosen saved scenarios of the cycle evaluated on ``inputs`` (:class:`SavedComparison`)."""
    results = {plan.BASELINE: plan.evaluate(inputs, lev.Levers())}
    with session_scope(engine) as s:
        chosen = [(r.name, r.levers) for r in plan_repo.scenarios(s, cycle_id) if r.id in scenario_ids]
    for name, levers in chosen:
        results[name] = plan.evaluate(inputs, lev.Levers.from_dict(levers))
    table = scr.compare(results)
    kinds = {str(k): "num" if k == "days_of_cover" else scr.KPI_KIND.get(str(k), "qty") for k in table.index}
    return SavedComparison(results=results, table=table, kinds=kinds)


def family_elasticities(engine: Engine) -> pd.DataFrame:
    """The own-price elasticity learned per family, shown next to the price-elasticity lever
    (:func:`sop_core.services.pricing.family_elasticities`)."""
    return pricing.family_elasticities(engine)
