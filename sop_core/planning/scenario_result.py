"""The result of a scenario: plan lines and headline KPIs (:class:`ScenarioResult`, built by :func:`plan_result`),
and the tables made from results: :func:`supply_gap`, :func:`breakdown`, :func:`compare`,
:func:`inventory_profile`, :func:`by_family_period`. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from sop_core.planning.balance_solve import BalanceResult
from sop_core.planning.inventory import normal_loss
from sop_core.planning.levers import Levers
from sop_core.planning.scenario_inputs import InputGrid, ScenarioInputs
from sop_core.planning.scenario_rule import SafetyStock
from sop_core.units import DAYS_PER_MONTH

#: Headline KPIs in display order, with their labels and kind (money, qty, share).
KPI_LABELS: dict[str, str] = {
    "revenue": "Revenue",
    "cogs": "Cost of goods sold",
    "holding_cost": "Holding cost",
    "overtime_cost": "Overtime cost",
    "sourcing_premium": "Alternate-supplier premium",
    "margin": "Margin",
    "margin_rate": "Margin %",
    "inventory_value_end": "Inventory value (end)",
    "inventory_value_avg": "Inventory value (average)",
    "days_of_cover": "Days of cover (end)",
    "fill_rate": "Fill rate (plan)",
    "expected_fill_rate": "Expected fill rate (with forecast error)",
    "stockout_units": "Stockout units",
    "shortage_cost": "Shortage cost (lost margin)",
    "safety_stock_units": "Safety stock (units)",
    "safety_stock_value": "Safety stock value",
    "demand_units": "Demand units",
    "served_units": "Served units",
    "supply_units": "Supply units",
}
KPI_KIND: dict[str, Literal["money", "qty", "share"]] = {
    "revenue": "money",
    "cogs": "money",
    "holding_cost": "money",
    "overtime_cost": "money",
    "sourcing_premium": "money",
    "margin": "money",
    "margin_rate": "share",
    "inventory_value_end": "money",
    "inventory_value_avg": "money",
    "days_of_cover": "qty",
    "fill_rate": "share",
    "expected_fill_rate": "share",
    "stockout_units": "qty",
    "shortage_cost": "money",
    "safety_stock_units": "qty",
    "safety_stock_value": "money",
    "demand_units": "qty",
    "served_units": "qty",
    "supply_units": "qty",
}

#: Columns of :attr:`ScenarioResult.lines`.
LINE_COLUMNS = [
    "sku",
    "family",
    "period",
    "demand_qty",
    "receipt_qty",
    "production_qty",
    "supply_qty",
    "served_qty",
    "shortage_qty",
    "inventory_qty",
    "inventory_value",
    "safety_stock_qty",
    "expected_shortage_qty",
    "revenue",
    "cogs",
    "holding_cost",
    "overtime_cost",
    "sourcing_premium",
    "cost",
]


@dataclass(frozen=True, eq=False)
class PlanArrays:
    """A planned scenario per SKU × month as dense arrays (rows: the SKUs of ``grid``, columns: its months), what
    :attr:`ScenarioResult.lines` is made from. Quantities in units, money in the company currency."""

    grid: InputGrid
    demand: np.ndarray  # lever-adjusted demand
    production: np.ndarray  # planned new supply, made or bought
    served: np.ndarray
    stock: np.ndarray  # end of month
    price: np.ndarray  # per SKU [currency/unit]
    unit_cost: np.ndarray  # per SKU [currency/unit]
    safety: np.ndarray  # safety-stock target per SKU
    expected_short: np.ndarray  # expected shortage from forecast error
    overtime: np.ndarray  # overtime cost
    sourcing: np.ndarray  # alternate-supplier premium

    @property
    def inventory_value(self) -> np.ndarray:
        """End-of-month stock at the lever-adjusted unit cost [currency]."""
        value: np.ndarray = self.stock * self.unit_cost[:, None]
        return value

    def summed(self, values: np.ndarray, by: Literal["total", "family"]) -> tuple[np.ndarray, np.ndarray]:
        """``values`` (SKUs × months) summed per month over all SKUs (``total``: one row) or per family (one row
        per family, sorted); returns the families (empty for ``total``) and the sums. The SKUs are added in their
        order with pandas' group sum, so each sum is the one a group-by of :attr:`ScenarioResult.lines` gives,
        to the last bit, without building the lines."""
        if by == "total":
            names, codes = np.array([], dtype=object), np.zeros(len(values), dtype=np.intp)
        else:
            names, codes = self.grid.family_codes
        return names, pd.DataFrame(values).groupby(codes, sort=True).sum().to_numpy()


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """Plan lines (:data:`LINE_COLUMNS`, one per SKU × period) and headline KPIs (:data:`KPI_LABELS`).

    The lines are made from :attr:`plan` when first read (a what-if step reads only the KPIs and totals)."""

    levers: Levers
    plan: PlanArrays
    kpis: dict[str, float]
    balance: BalanceResult | None = None  # the constrained plan's LP result, None for the rule
    #: new buys per SKU, supplier and month of the constrained plan: ``sku, supplier, period, qty`` [units]
    purchases: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["sku", "supplier", "period", "qty"]))

    @property
    def n_lines(self) -> int:
        """The number of plan lines (SKUs × months), without making them."""
        return int(self.plan.demand.size)

    @cached_property
    def lines(self) -> pd.DataFrame:
        """One line per SKU × period (:data:`LINE_COLUMNS`)."""
        return _lines(self.plan)

    @property
    def supplier_units(self) -> pd.Series:
        """Units bought from each supplier over the horizon (new buys of the constrained plan)."""
        return self.purchases.groupby("supplier")["qty"].sum() if not self.purchases.empty else pd.Series(dtype=float)


def _lines(p: PlanArrays) -> pd.DataFrame:
    g = p.grid
    n, n_t = p.demand.shape
    cogs = p.served * p.unit_cost[:, None]
    holding = p.stock * (p.unit_cost * g.holding_rate / 12.0)[:, None]
    return pd.DataFrame(
        {
            "sku": np.repeat(g.skus, n_t),
            "family": np.repeat(g.families, n_t),
            "period": np.tile(g.periods.to_numpy(), n),
            "demand_qty": p.demand.ravel(),
            "receipt_qty": g.receipts.ravel(),
            "production_qty": p.production.ravel(),
            "supply_qty": (g.receipts + p.production).ravel(),
            "served_qty": p.served.ravel(),
            "shortage_qty": (p.demand - p.served).ravel(),
            "inventory_qty": p.stock.ravel(),
            "inventory_value": p.inventory_value.ravel(),
            "safety_stock_qty": np.broadcast_to(p.safety[:, None], p.demand.shape).ravel(),
            "expected_shortage_qty": p.expected_short.ravel(),
            "revenue": (p.served * p.price[:, None]).ravel(),
            "cogs": cogs.ravel(),
            "holding_cost": holding.ravel(),
            "overtime_cost": p.overtime.ravel(),
            "sourcing_premium": p.sourcing.ravel(),
            "cost": (cogs + holding + p.overtime + p.sourcing).ravel(),
        }
    )


def plan_result(
    base: ScenarioInputs,
    levers: Levers,
    demand: np.ndarray,
    price: np.ndarray,
    unit_cost: np.ndarray,
    safety_stock: SafetyStock,
    production: np.ndarray,
    served: np.ndarray,
    stock: np.ndarray,
    extra: dict[str, Any],
    balance: BalanceResult | None,
) -> ScenarioResult:
    """Headline KPIs of a planned scenario, with its plan per SKU × month (the lines are made when read).

    ``extra``: ``overtime`` [currency] and ``overtime_by_sku`` (SKU × month), ``sourcing`` [currency] and
    ``purchases`` (``sku, supplier, period, qty``) of the constrained plan.
    """
    g = base.grid
    n, n_t = demand.shape
    supply = g.receipts + production
    revenue = served * price[:, None]
    cogs = served * unit_cost[:, None]
    holding = stock * (unit_cost * g.holding_rate / 12.0)[:, None]
    inventory_value = stock * unit_cost[:, None]
    safety, sigma = safety_stock.level, safety_stock.sigma
    overtime_by_sku = extra.get("overtime_by_sku", np.zeros_like(demand))
    sourcing_by_sku = extra.get("sourcing_by_sku", np.zeros_like(demand))
    # expected shortage from forecast error at the stock the plan holds: σ_(L+R) · G(I / σ_(L+R))
    # per SKU and month (Chopra & Meindl §12.3, "expected shortage per replenishment cycle")
    has_sigma = sigma > 0
    expected_short = np.zeros_like(demand)
    if has_sigma.any():
        k = stock[has_sigma] / sigma[has_sigma, None]
        expected_short[has_sigma] = sigma[has_sigma, None] * np.asarray(normal_loss(k), dtype=float)
    expected_short = np.minimum(expected_short, served)

    plan = PlanArrays(grid=g, demand=demand, production=production, served=served, stock=stock, price=price,
                      unit_cost=unit_cost, safety=safety, expected_short=expected_short, overtime=overtime_by_sku,
                      sourcing=sourcing_by_sku)
    total_revenue = float(revenue.sum())
    total_cogs = float(cogs.sum())
    total_holding = float(holding.sum())
    overtime = float(extra.get("overtime", 0.0))
    sourcing = float(extra.get("sourcing", 0.0))
    margin = total_revenue - total_cogs - total_holding - overtime - sourcing
    total_demand = float(demand.sum())
    total_served = float(served.sum())
    lost_margin = float(((demand - served) * (price - unit_cost)[:, None]).sum())
    daily_demand = total_demand / max(n_t, 1) / DAYS_PER_MONTH
    end_value = float(inventory_value[:, -1].sum())
    expected_served = total_served - float(expected_short.sum())
    kpis = {
        "revenue": total_revenue,
        "cogs": total_cogs,
        "holding_cost": total_holding,
        "overtime_cost": overtime,
        "sourcing_premium": sourcing,
        "margin": margin,
        "margin_rate": margin / total_revenue if total_revenue else float("nan"),
        "inventory_value_end": end_value,
        "inventory_value_avg": float(inventory_value.sum(axis=0).mean()),
        "days_of_cover": float(stock[:, -1].sum()) / daily_demand if daily_demand else float("nan"),
        "fill_rate": total_served / total_demand if total_demand else 1.0,
        "expected_fill_rate": expected_served / total_demand if total_demand else 1.0,
        "stockout_units": total_demand - total_served,
        "shortage_cost": lost_margin,
        "safety_stock_units": float(safety.sum()),
        "safety_stock_value": float((safety * unit_cost).sum()),
        "demand_units": total_demand,
        "served_units": total_served,
        "supply_units": float(supply.sum()),
    }
    purchases = extra.get("purchases")
    if purchases is None:
        purchases = pd.DataFrame(columns=["sku", "supplier", "period", "qty"])
    return ScenarioResult(levers=levers, plan=plan, kpis=kpis, balance=balance, purchases=purchases)


#: Why SKUs run short before any new supply can reach them.
LEAD_TIME = "lead time (no new supply can arrive yet)"
#: Why SKUs run short while their family as a whole has enough.
MIX = "SKU mix (the family's stock sits in other SKUs)"


def supply_gap(result: ScenarioResult) -> pd.DataFrame:
    """Unconstrained demand against constrained supply per family and month.

    Returns:
        ``family, period, demand_qty, served_qty, shortage_qty, overtime_hours, constraint`` where
        ``constraint`` names the binding resource or supplier (from the constrained plan) behind the
        family's largest shortage in that month, :data:`MIX` when the family as a whole has enough
        but single SKUs run short, "" when nothing is short or without capacity data.
    """
    p = result.plan
    periods = p.grid.periods
    families, demand = p.summed(p.demand, "family")
    frame = pd.DataFrame({
        "family": np.repeat(families, len(periods)),
        "period": np.tile(periods.to_numpy(), len(families)),
        "demand_qty": demand.ravel(),
        "served_qty": p.summed(p.served, "family")[1].ravel(),
        "shortage_qty": p.summed(p.demand - p.served, "family")[1].ravel(),
    })
    frame["constraint"] = ""
    bal = result.balance
    if bal is not None:
        plan = bal.plan.assign(family=bal.plan["item"].str.split("|").str[0])
        plan = plan[plan["constraint"] != ""].sort_values("lost", ascending=False)
        why = plan.drop_duplicates(["family", "period"]).set_index(["family", "period"])["constraint"]
        key = pd.MultiIndex.from_frame(frame[["family", "period"]])
        frame["constraint"] = why.reindex(key).fillna(MIX).to_numpy()
        # SKUs short before any new supply can reach them: the lead time, not the mix
        month = pd.DatetimeIndex(frame["period"])
        position = periods.get_indexer(month)
        first = pd.Series(bal.first_supply)
        fam_first = first.groupby(first.index.str.split("|").str[0]).max()
        early = position < fam_first.reindex(frame["family"]).fillna(0).to_numpy()
        frame.loc[early & (frame["constraint"] == MIX), "constraint"] = LEAD_TIME
    frame.loc[frame["shortage_qty"] <= 1e-6, "constraint"] = ""
    return frame


#: The figures of :func:`breakdown`, per SKU, family or in total, over the plan horizon.
BREAKDOWN_COLUMNS = [
    "demand_units",
    "supplied_units",
    "served_units",
    "lost_units",
    "fill_rate",
    "expected_fill_rate",
    "revenue",
    "margin",
    "inventory_value",
    "safety_stock_units",
    "overtime_cost",
]


def breakdown(result: ScenarioResult, by: Literal["sku", "family", "total"] = "family") -> pd.DataFrame:
    """A scenario's figures per SKU, per family or in total, over the plan horizon (pure).

    ``demand_units`` Σ demand; ``supplied_units`` Σ supply (open orders + planned production and buys);
    ``served_units`` Σ served; ``lost_units`` = demand − served; ``fill_rate`` = served ÷ demand (the plan);
    ``expected_fill_rate`` = (served − expected shortage from forecast error) ÷ demand; ``revenue``;
    ``margin`` = Σ (revenue − cost), cost = COGS + holding + overtime + alternate-supplier premium (the lines'
    shares, so the total equals the headline margin); ``inventory_value`` at the end of the horizon;
    ``safety_stock_units`` the safety-stock target (a stock level: Σ over SKUs, not over months);
    ``overtime_cost``. A group without demand has fill rates of 1.

    Returns:
        One row per group (index ``sku``/``family``; ``total`` for the whole plan), :data:`BREAKDOWN_COLUMNS`.
    """
    lines = result.lines
    key = "sku" if by == "sku" else "family"
    group = lines[key] if by != "total" else pd.Series("total", index=lines.index)
    last = lines["period"] == lines["period"].max()
    first = lines["period"] == lines["period"].min()
    frame = pd.DataFrame(
        {
            "demand_units": lines["demand_qty"].groupby(group).sum(),
            "supplied_units": lines["supply_qty"].groupby(group).sum(),
            "served_units": lines["served_qty"].groupby(group).sum(),
            "expected_served": (lines["served_qty"] - lines["expected_shortage_qty"]).groupby(group).sum(),
            "revenue": lines["revenue"].groupby(group).sum(),
            "margin": (lines["revenue"] - lines["cost"]).groupby(group).sum(),
            "inventory_value": lines["inventory_value"].where(last, 0.0).groupby(group).sum(),
            "safety_stock_units": lines["safety_stock_qty"].where(first, 0.0).groupby(group).sum(),
            "overtime_cost": lines["overtime_cost"].groupby(group).sum(),
        }
    )
    frame["lost_units"] = frame["demand_units"] - frame["served_units"]
    has = frame["demand_units"] > 0
    frame["fill_rate"] = np.where(has, frame["served_units"] / frame["demand_units"].where(has, 1.0), 1.0)
    frame["expected_fill_rate"] = np.where(has, frame["expected_served"] / frame["demand_units"].where(has, 1.0), 1.0)
    frame.index.name = key if by != "total" else "total"
    return frame[BREAKDOWN_COLUMNS]


def compare(results: dict[str, ScenarioResult]) -> pd.DataFrame:
    """Headline KPIs side by side, with the difference of each scenario to the first.

    Args:
        results: scenario name → result; the first entry is the reference (usually the baseline).

    Returns:
        One row per KPI (index ``kpi``), a ``label`` column, one column per scenario and, for every
        scenario after the first, a column ``Δ <name>`` = value − value of the first scenario.
    """
    if not results:
        return pd.DataFrame(columns=["label"])
    names = list(results)
    first = names[0]
    frame = pd.DataFrame({name: pd.Series(res.kpis) for name, res in results.items()})
    frame = frame.reindex([k for k in KPI_LABELS if k in frame.index] + [k for k in frame.index if k not in KPI_LABELS])
    out = pd.DataFrame({"label": [KPI_LABELS.get(k, k) for k in frame.index]}, index=frame.index)
    out[first] = frame[first]
    for name in names[1:]:
        out[name] = frame[name]
        out[f"Δ {name}"] = frame[name] - frame[first]
    out.index.name = "kpi"
    return out


def inventory_profile(results: dict[str, ScenarioResult], by: Literal["total", "family"] = "total") -> pd.DataFrame:
    """Projected end-of-month inventory per scenario, for charts.

    Args:
        results: scenario name → result.
        by: ``total`` (one row per scenario × period) or ``family`` (per scenario × family × period).

    Returns:
        Columns ``scenario, period, [family,] inventory_qty, shortage_qty, inventory_value`` where
        inventory_value = Σ inventory_qty × (lever-adjusted) unit cost [currency].
    """
    keys = ["period"] if by == "total" else ["family", "period"]
    parts = []
    for name, res in results.items():
        p = res.plan
        periods = p.grid.periods.to_numpy()
        families, stock = p.summed(p.stock, by)
        frame = pd.DataFrame({"scenario": name} if by == "total" else {
            "scenario": name, "family": np.repeat(families, len(periods))}, index=range(len(stock.ravel())))
        frame["period"] = np.tile(periods, len(stock))
        frame["inventory_qty"] = stock.ravel()
        frame["shortage_qty"] = p.summed(p.demand - p.served, by)[1].ravel()
        frame["inventory_value"] = p.summed(p.inventory_value, by)[1].ravel()
        parts.append(frame)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["scenario", *keys])


def by_family_period(lines: pd.DataFrame) -> pd.DataFrame:
    """Plan lines summed per family and month (``family, period`` + every quantity/money column present),
    with ``margin = revenue − cost`` [currency]."""
    value_cols = [c for c in LINE_COLUMNS[3:] if c in lines.columns]
    out = lines.groupby(["family", "period"], as_index=False, sort=True)[value_cols].sum()
    if "revenue" in out.columns and "cost" in out.columns:
        out["margin"] = out["revenue"] - out["cost"]
    return out
