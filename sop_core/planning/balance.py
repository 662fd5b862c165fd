"""Constrained supply plan and textbook aggregate planning as linear programs on HiGHS.

Two models share one small builder (:class:`_LinearProgram`: columns, rows and a sparse matrix handed
to ``highspy.Highs`` in one call):

* :func:`build` / :func:`solve` (or :func:`balance_plan`) — the constrained supply plan of the
  reconciliation step: how much to make on regular time and overtime, and to buy from which supplier,
  per item (a product family, or a SKU) and month, given capacity, suppliers and stock.
* :func:`aggregate_plan` — the workforce aggregate plan of Chopra & Meindl, *Supply Chain
  Management: Strategy, Planning, and Operation*, ch. 8 ("Aggregate Planning in Supply Chains",
  the Red Tomato Tools example, LP and integer solutions).

Constrained supply plan (lost sales)
------------------------------------
Sets: items *i*, resources *r*, suppliers *s*, months *t* = 0 … T−1.

Data: demand ``d[i,t]`` [units], stock at the start ``I0[i]`` [units], open orders ``q[i,t]`` [units],
hours per unit ``a[i,r]`` [h/unit] (routing), regular capacity ``C[r,t]`` [h], overtime capacity
``O[r,t]`` [h] at ``co[r]`` [currency/h], make cost ``cm[i]`` [currency/unit], buy cost ``cb[i,s]``
[currency/unit] (+ a small premium per priority step so alternates are used only when needed),
supplier capacity ``Q[s,t]`` [units], earliest month a new order can arrive ``e[i,s]`` (lead time),
earliest production month ``f`` (frozen months), holding cost ``h[i]`` [currency/unit/month],
cost of a lost sale ``p[i]`` [currency/unit] (the unit price when maximising margin, ``shortage_cost``
when minimising cost), safety-stock target ``ss[i,t]`` [units] with penalty ``π[i]``
[currency/unit/month], optional fill-rate target ``SL[i]`` (share) with penalty ``p[i]`` per unit.

Variables (all ≥ 0): make ``x[i,t]``, buy ``y[i,s,t]``, overtime hours ``o[r,t] ≤ O[r,t]``
(0 when overtime is not allowed), end stock ``I[i,t]``, lost sales ``u[i,t] ≤ d[i,t]``, safety-stock
shortfall ``z[i,t] ≤ ss[i,t]``, fill-rate shortfall ``g[i]``; ``x[i,t] = 0`` for t < f and
``y[i,s,t] = 0`` for t < e[i,s].

    min  Σ cm·x + Σ cb·y + Σ co·o + Σ h·I + Σ p·u + Σ π·z + Σ p·g   (+ the steering terms below)
    s.t. bal[i,t]:   I[i,t] − I[i,t−1] − x[i,t] − Σ_s y[i,s,t] − u[i,t] = q[i,t] − d[i,t]   (I[i,−1] = I0[i])
         cap[r,t]:   Σ_i a[i,r]·x[i,t] − o[r,t] ≤ C[r,t]
         sup[s,t]:   Σ_i y[i,s,t] ≤ Q[s,t]
         ss[i,t]:    I[i,t] + z[i,t] ≥ ss[i,t]          (the last month's target is the end-of-horizon stock)
         fill[i]:    Σ_t u[i,t] − g[i] ≤ (1 − SL[i])·Σ_t d[i,t]

Two steering terms keep the optimum sensible without changing what it costs: a lost sale in month
t costs ``p[i] + (T − t)·π[i]`` for items with a safety-stock target (earlier demand is served
first: stock is never held back from customers to meet a later target; their shadow prices include
this term), and an alternate supplier's unit cost carries
``PRIORITY_PREMIUM`` per priority step. Stock left at the end of the horizon is credited at its value ``v[i]`` (default
the cheapest unit cost of making or buying it, at most its unit price: the term −Σ_i v[i]·I[i,T−1] is added to the
objective), so the plan neither runs the stock down to
zero in the last month nor builds beyond the end-of-horizon target; the reported cost terms exclude
the credit.

Demand that cannot be met in its month is lost (Silver, Pyke & Thomas, *Inventory and Production
Management in Supply Chains*, 4th ed., ch. 7); backorders are modelled in :func:`aggregate_plan`.
Maximising margin Σ price·(d − u) − cost is the same problem with ``p[i]`` = unit price; the reported
objective is then the margin Σ price·d − (minimised cost).

The shadow price of ``cap[r,t]`` is −(row dual) = what one more regular hour on *r* in *t* saves
[currency/h]; of ``sup[s,t]`` what one more unit of supplier capacity saves [currency/unit]
(Hillier & Lieberman, *Introduction to Operations Research*, 10th ed., §4.7 and §6.2).

Supplier capacity: the data model has none, so :func:`supplier_capacity_default` sizes it at
``factor`` (default 1.5) × the mean monthly demand of the items a supplier is preferred for, plus
``alternate_share`` (default 0.5) × that of the items it is an alternate for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import highspy
import numpy as np
import pandas as pd

from sop_core.errors import SopError
from sop_core.units import DAYS_PER_MONTH

log = logging.getLogger(__name__)

INF = highspy.kHighsInf
#: Premium per priority step of an alternate supplier [share of its unit cost].
PRIORITY_PREMIUM = 0.02
#: Duals and slacks below this are treated as zero.
TOL = 1e-6


class BalanceError(SopError):
    """The planning problem has no optimal solution or its inputs are inconsistent."""


# --------------------------------------------------------------------------- the LP builder
class _LinearProgram:
    """Columns, rows and COO triplets of one LP; :meth:`highs` hands them to HiGHS in one call."""

    def __init__(self) -> None:
        self.cost: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.col_names: list[np.ndarray] = []
        self.row_lower: list[np.ndarray] = []
        self.row_upper: list[np.ndarray] = []
        self.row_names: list[np.ndarray] = []
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.n_col = 0
        self.n_row = 0

    def add_cols(
        self,
        names: np.ndarray,
        cost: np.ndarray | float,
        lower: np.ndarray | float = 0.0,
        upper: np.ndarray | float = INF,
        integer: bool = False,
    ) -> np.ndarray:
        n = len(names)
        idx = np.arange(self.n_col, self.n_col + n)
        self.n_col += n
        self.cost.append(np.broadcast_to(np.asarray(cost, dtype=float), n).copy())
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), n).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), n).copy())
        self.integer.append(np.full(n, 1 if integer else 0, dtype=np.int32))
        self.col_names.append(np.asarray(names, dtype=object))
        return idx

    def add_rows(self, names: np.ndarray, lower: np.ndarray | float, upper: np.ndarray | float) -> np.ndarray:
        n = len(names)
        idx = np.arange(self.n_row, self.n_row + n)
        self.n_row += n
        self.row_lower.append(np.broadcast_to(np.asarray(lower, dtype=float), n).copy())
        self.row_upper.append(np.broadcast_to(np.asarray(upper, dtype=float), n).copy())
        self.row_names.append(np.asarray(names, dtype=object))
        return idx

    def add_coef(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> None:
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        vals = np.broadcast_to(np.asarray(vals, dtype=float), rows.shape).ravel().copy()
        self.rows.append(rows.ravel())
        self.cols.append(cols.ravel())
        self.vals.append(vals)

    @staticmethod
    def _cat(parts: list[np.ndarray], dtype: type = float) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    def highs(self) -> tuple[highspy.Highs, int]:
        """A silent ``Highs`` holding the model; returns it and the number of non-zeros."""
        rows, cols, vals = self._cat(self.rows, np.int64), self._cat(self.cols, np.int64), self._cat(self.vals)
        keep = vals != 0.0
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
        order = np.lexsort((rows, cols))
        rows, cols, vals = rows[order], cols[order], vals[order]
        start = np.searchsorted(cols, np.arange(self.n_col + 1)).astype(np.int32)
        integrality = self._cat(self.integer, np.int32)
        h = highspy.Highs()
        h.silent()
        status = h.passModel(
            self.n_col,
            self.n_row,
            len(vals),
            1,  # column-wise
            1,  # minimise
            0.0,
            self._cat(self.cost),
            self._cat(self.lower),
            self._cat(self.upper),
            self._cat(self.row_lower),
            self._cat(self.row_upper),
            start[:-1].copy(),
            rows.astype(np.int32),
            vals,
            integrality,
        )
        if status == highspy.HighsStatus.kError:
            raise BalanceError("the planning model could not be passed to HiGHS")
        return h, len(vals)

    def names(self) -> tuple[np.ndarray, np.ndarray]:
        return self._cat(self.col_names, object), self._cat(self.row_names, object)


def _lp_name(*parts: object) -> str:
    """An LP-file-safe name: ``cap_ULM-ESP_2027-03`` → ``cap_ULM.ESP_2027.03`` (the LP writer
    of HiGHS rejects "-", spaces and brackets)."""
    text = "_".join(str(p) for p in parts)
    return "".join(c if c.isalnum() or c in "_." else "." for c in text)


def _month(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m")


def _write_lp(h: highspy.Highs, lp: _LinearProgram, path: str | Path) -> None:
    cols, rows = lp.names()
    for j, name in enumerate(cols):
        h.passColName(j, _lp_name(name))
    for k, name in enumerate(rows):
        h.passRowName(k, _lp_name(name))
    h.writeModel(str(path))
    log.info("LP written to %s", path)


def _run(h: highspy.Highs, what: str) -> float:
    t0 = time.perf_counter()
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise BalanceError(f"{what}: no optimal plan ({h.modelStatusToString(status)})")
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- textbook aggregate planning
@dataclass(frozen=True)
class AggregatePlanResult:
    """The aggregate plan per period and its total cost.

    Attributes:
        plan: per period (index = the demand's index): ``demand, workers, hired, laid_off,
            regular_units, overtime_hours, production, subcontracted, inventory, backlog`` and
            ``cost`` (the period's total cost) — units, workers, hours.
        total_cost: Σ of every cost over the horizon [currency].
        status: the solver's model status ("Optimal").
    """

    plan: pd.DataFrame
    total_cost: float
    status: str


def aggregate_plan(
    demand: Sequence[float] | pd.Series,
    *,
    initial_workers: float,
    initial_inventory: float,
    min_final_inventory: float,
    hours_per_unit: float,
    hours_per_worker: float,
    regular_cost_per_hour: float,
    overtime_cost_per_hour: float,
    max_overtime_hours_per_worker: float,
    hire_cost: float,
    layoff_cost: float,
    holding_cost: float,
    backlog_cost: float,
    material_cost: float,
    subcontract_cost: float,
    integer: bool = False,
    write_lp: str | Path | None = None,
) -> AggregatePlanResult:
    """Minimum-cost workforce, overtime, subcontracting, inventory and backlog plan.

    Formulation of Chopra & Meindl, *Supply Chain Management*, ch. 8, "Aggregate planning using
    linear programming" (Red Tomato Tools). Per period t = 1 … T, variables ``W`` workers, ``H``
    hired, ``L`` laid off, ``R`` units on regular time, ``O`` overtime hours, ``C`` subcontracted
    units, ``I`` end inventory, ``S`` end backlog (all ≥ 0):

        min Σ_t  c_r·h_w·W + c_o·O + c_h·H + c_l·L + m·(R + O/a) + c_s·C + h·I + b·S
        W_t = W_{t−1} + H_t − L_t                                  (workforce, W_0 = initial_workers)
        a·R_t ≤ h_w·W_t                                           (regular-time capacity)
        O_t ≤ o_max·W_t                                           (overtime limit)
        I_{t−1} − S_{t−1} + R_t + O_t/a + C_t = D_t + I_t − S_t    (balance; I_0 = initial_inventory, S_0 = 0)
        I_T ≥ min_final_inventory,  S_T = 0

    Args:
        demand: demand per period [units] (D); a Series keeps its index as the period labels.
        initial_workers: workforce before the first period [workers] (W_0).
        initial_inventory: stock before the first period [units] (I_0).
        min_final_inventory: lowest stock at the end of the last period [units].
        hours_per_unit: labour per unit [h/unit] (a).
        hours_per_worker: regular hours of one worker per period [h/worker/period] (h_w).
        regular_cost_per_hour: regular-time wage [currency/h] (c_r).
        overtime_cost_per_hour: overtime wage [currency/h] (c_o).
        max_overtime_hours_per_worker: overtime limit [h/worker/period] (o_max).
        hire_cost: cost of hiring one worker [currency/worker] (c_h).
        layoff_cost: cost of laying off one worker [currency/worker] (c_l).
        holding_cost: cost of holding one unit for a period [currency/unit/period] (h).
        backlog_cost: cost of one unit backlogged for a period [currency/unit/period] (b).
        material_cost: material per unit produced in-house [currency/unit] (m).
        subcontract_cost: price of one subcontracted unit [currency/unit] (c_s).
        integer: whole workers, units and hours (a mixed-integer program) instead of the LP.
        write_lp: write the model to this ``.lp`` file before solving.

    Returns:
        The plan per period and its total cost.

    Raises:
        BalanceError: the problem has no optimal solution.

    Example:
        >>> r = aggregate_plan([1600, 3000, 3200, 3800, 2200, 2200], initial_workers=80,
        ...     initial_inventory=1000, min_final_inventory=500, hours_per_unit=4, hours_per_worker=160,
        ...     regular_cost_per_hour=4, overtime_cost_per_hour=6, max_overtime_hours_per_worker=10,
        ...     hire_cost=300, layoff_cost=500, holding_cost=2, backlog_cost=5, material_cost=10,
        ...     subcontract_cost=30)
        >>> round(r.total_cost)
        422275
    """
    d = pd.Series(demand, dtype=float) if not isinstance(demand, pd.Series) else demand.astype(float)
    if d.empty or (d < 0).any() or not np.isfinite(d.to_numpy()).all():
        raise BalanceError("demand: needs at least one period and finite quantities ≥ 0")
    if hours_per_unit <= 0 or hours_per_worker <= 0:
        raise BalanceError("hours_per_unit and hours_per_worker must be > 0")
    n = len(d)
    t = np.arange(n)
    a, hw = float(hours_per_unit), float(hours_per_worker)
    lp = _LinearProgram()

    def cols(prefix: str, cost: float, lower: float | np.ndarray = 0.0, upper: float | np.ndarray = INF) -> np.ndarray:
        return lp.add_cols(np.array([f"{prefix}_{k + 1}" for k in t]), cost, lower, upper, integer)

    w = cols("workers", regular_cost_per_hour * hw)
    hired = cols("hired", hire_cost)
    laid = cols("laid_off", layoff_cost)
    reg = cols("regular_units", material_cost)
    ot = cols("overtime_hours", overtime_cost_per_hour + material_cost / a)
    sub = cols("subcontracted", subcontract_cost)
    inv_lo = np.zeros(n)
    inv_lo[-1] = min_final_inventory
    inv = cols("inventory", holding_cost, inv_lo)
    bl_up = np.full(n, INF)
    bl_up[-1] = 0.0
    bl = cols("backlog", backlog_cost, 0.0, bl_up)

    names = lambda p: np.array([f"{p}_{k + 1}" for k in t])  # noqa: E731
    rhs = np.zeros(n)
    rhs[0] = initial_workers
    r_w = lp.add_rows(names("workforce"), rhs, rhs)  # W_t − W_{t−1} − H_t + L_t = 0 (W_0 on the right)
    lp.add_coef(r_w, w, 1.0)
    lp.add_coef(r_w[1:], w[:-1], -1.0)
    lp.add_coef(r_w, hired, -1.0)
    lp.add_coef(r_w, laid, 1.0)
    r_c = lp.add_rows(names("capacity"), -INF, 0.0)  # a·R − h_w·W ≤ 0
    lp.add_coef(r_c, reg, a)
    lp.add_coef(r_c, w, -hw)
    r_o = lp.add_rows(names("overtime"), -INF, 0.0)  # O − o_max·W ≤ 0
    lp.add_coef(r_o, ot, 1.0)
    lp.add_coef(r_o, w, -max_overtime_hours_per_worker)
    bal = d.to_numpy().copy()
    bal[0] -= initial_inventory
    r_b = lp.add_rows(names("balance"), bal, bal)  # R + O/a + C − I + S + I_{t−1} − S_{t−1} = D_t
    lp.add_coef(r_b, reg, 1.0)
    lp.add_coef(r_b, ot, 1.0 / a)
    lp.add_coef(r_b, sub, 1.0)
    lp.add_coef(r_b, inv, -1.0)
    lp.add_coef(r_b, bl, 1.0)
    lp.add_coef(r_b[1:], inv[:-1], 1.0)
    lp.add_coef(r_b[1:], bl[:-1], -1.0)

    h, _nnz = lp.highs()
    if write_lp is not None:
        _write_lp(h, lp, write_lp)
    _run(h, "aggregate plan")
    x = np.asarray(h.getSolution().col_value) + 0.0  # no "-0.0" in the plan
    if integer:
        x = np.round(x, 6) + 0.0
    cost = np.asarray(lp._cat(lp.cost))
    plan = pd.DataFrame(
        {
            "demand": d.to_numpy(),
            "workers": x[w],
            "hired": x[hired],
            "laid_off": x[laid],
            "regular_units": x[reg],
            "overtime_hours": x[ot],
            "production": x[reg] + x[ot] / a,
            "subcontracted": x[sub],
            "inventory": x[inv],
            "backlog": x[bl],
        },
        index=d.index,
    )
    per_col = cost * x
    plan["cost"] = sum(per_col[idx] for idx in (w, hired, laid, reg, ot, sub, inv, bl))
    total = float(h.getInfo().objective_function_value)
    return AggregatePlanResult(plan=plan, total_cost=total, status=h.modelStatusToString(h.getModelStatus()))


# --------------------------------------------------------------------------- constrained supply plan
Objective = Literal["min_cost", "max_margin"]


@dataclass(frozen=True, eq=False)
class BalanceInputs:
    """Everything the constrained plan needs, as long tables (see the module docstring for symbols).

    Attributes:
        periods: the planning months in order (month starts); index t = position.
        items: ``item, unit_price, make_cost, holding_cost`` [currency/unit, currency/unit,
            currency/unit/month]; optional ``shortage_cost`` [currency/unit] (default = unit price),
            ``safety_penalty`` [currency/unit/month] (default = 2 × holding cost), ``fill_target``
            (share 0..1; NaN = none), ``end_value`` [currency/unit] (v; default = cheapest make or buy cost, at most the price).
        demand: ``item, period, qty`` [units/month] (d).
        on_hand: ``item, qty`` stock at the start [units] (I0).
        receipts: ``item, period, qty`` open orders [units] (q); ones before the first month arrive in it.
        routing: ``item, resource, hours_per_unit`` [h/unit] (a). Items with no routing and no
            sourcing are made without a capacity limit.
        capacity: ``resource, period, regular_hours, overtime_hours, overtime_cost_per_hour``
            [h/month, h/month, currency/h] (C, O, co).
        sourcing: ``item, supplier, unit_cost, priority, first_period`` — buy cost [currency/unit],
            1 = preferred, first month index an order can arrive (lead time) (cb, e).
        supplier_capacity: ``supplier, period, qty`` [units/month] (Q); a supplier without rows is unlimited.
        safety_stock: ``item, period, qty`` end-of-month stock targets [units] (ss).
        first_production_period: months frozen for production (f).
        objective: ``min_cost`` or ``max_margin``.
    """

    periods: pd.DatetimeIndex
    items: pd.DataFrame
    demand: pd.DataFrame
    on_hand: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["item", "qty"]))
    receipts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["item", "period", "qty"]))
    routing: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["item", "resource", "hours_per_unit"]))
    capacity: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["resource", "period", "regular_hours", "overtime_hours", "overtime_cost_per_hour"]
        )
    )
    sourcing: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["item", "supplier", "unit_cost", "priority", "first_period"])
    )
    supplier_capacity: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["supplier", "period", "qty"]))
    safety_stock: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["item", "period", "qty"]))
    first_production_period: int = 0
    objective: Objective = "max_margin"


@dataclass
class BalanceModel:
    """A built (not yet solved) constrained-plan LP with its index maps."""

    inputs: BalanceInputs
    lp: _LinearProgram
    highs: highspy.Highs
    items: pd.Index
    resources: pd.Index
    suppliers: pd.Index
    demand: np.ndarray  # items × periods
    idx: dict[str, np.ndarray]
    src_item: np.ndarray
    src_supplier: np.ndarray
    make_items: np.ndarray
    revenue_constant: float
    nonzeros: int
    build_seconds: float

    @property
    def sizes(self) -> dict[str, int]:
        """``rows, cols, nonzeros`` of the LP."""
        return {"rows": self.lp.n_row, "cols": self.lp.n_col, "nonzeros": self.nonzeros}


@dataclass(frozen=True, eq=False)
class BalanceResult:
    """A solved constrained plan.

    Attributes:
        status: the solver's model status ("Optimal").
        objective: the plan's total cost (make + buy + overtime + holding + lost sales at
            ``shortage_cost``), or its margin (revenue of the demand − those costs with lost sales at
            the unit price) [currency]; the penalties, the end-of-horizon credit and the steering
            terms (priority premium, serve-first) are left out.
        plan: per item × period: ``item, period, demand, receipts, make, buy, supply, served, lost,
            inventory, safety_target, safety_shortfall, constraint`` (units; ``constraint`` names the
            binding resource or supplier behind lost sales, "" where nothing is lost).
        purchases: ``item, supplier, period, qty`` (non-zero purchases only).
        resources: ``resource, period, regular_hours_used, overtime_hours, capacity_hours,
            overtime_capacity_hours, shadow_price`` (shadow price: currency per extra regular hour).
        suppliers: ``supplier, period, qty, capacity, shadow_price`` (currency per extra unit).
        duals: every constraint: ``name, kind, key, period, activity, lower, upper, dual, binding``.
        sizes: ``rows, cols, nonzeros``.
        solve_seconds, build_seconds: timings [s].
        cost: the cost terms of the optimum [currency]: ``make, buy, overtime, holding, lost_sales,
            safety_penalty, fill_penalty``.
        first_supply: item → index of the first month new supply (made or bought) can arrive.
    """

    status: str
    objective: float
    plan: pd.DataFrame
    purchases: pd.DataFrame
    resources: pd.DataFrame
    suppliers: pd.DataFrame
    duals: pd.DataFrame
    sizes: dict[str, int]
    solve_seconds: float
    build_seconds: float
    cost: dict[str, float]
    first_supply: dict[str, int] = field(default_factory=dict)

    @property
    def binding(self) -> pd.DataFrame:
        """The binding capacity and supplier constraints with a non-zero shadow price."""
        d = self.duals
        return d[d["binding"] & d["kind"].isin(["capacity", "supplier"])].reset_index(drop=True)


def _grid(frame: pd.DataFrame, key: str, keys: pd.Index, periods: pd.DatetimeIndex, value: str = "qty") -> np.ndarray:
    """A dense ``keys × periods`` array of ``value`` (sums duplicates; rows of unknown keys or months dropped)."""
    out = np.zeros((len(keys), len(periods)))
    if frame is None or frame.empty:
        return out
    r = keys.get_indexer(frame[key].astype(str))
    c = periods.get_indexer(pd.to_datetime(frame["period"]))
    ok = (r >= 0) & (c >= 0)
    np.add.at(out, (r[ok], c[ok]), frame[value].to_numpy(dtype=float)[ok])
    return out


def build(inputs: BalanceInputs) -> BalanceModel:
    """Build the constrained-plan LP (formulation in the module docstring); nothing is solved yet.

    Raises:
        BalanceError: a required column is missing or there are no periods or items.
    """
    t0 = time.perf_counter()
    periods = pd.DatetimeIndex(inputs.periods)
    n_t = len(periods)
    items_f = inputs.items.assign(item=inputs.items["item"].astype(str)).drop_duplicates("item").reset_index(drop=True)
    for col in ("item", "unit_price", "make_cost", "holding_cost"):
        if col not in items_f.columns:
            raise BalanceError(f"items: missing column {col}")
    if n_t == 0 or items_f.empty:
        raise BalanceError("the plan needs at least one period and one item")
    items = pd.Index(items_f["item"])
    n_i = len(items)
    price = items_f["unit_price"].to_numpy(float)
    make_cost = items_f["make_cost"].to_numpy(float)
    holding = items_f["holding_cost"].to_numpy(float)
    shortage = (
        items_f["shortage_cost"].fillna(items_f["unit_price"]).to_numpy(float)
        if "shortage_cost" in items_f
        else price.copy()
    )
    lost_cost = price if inputs.objective == "max_margin" else shortage
    penalty = (
        items_f["safety_penalty"].fillna(2 * items_f["holding_cost"]).to_numpy(float)
        if "safety_penalty" in items_f
        else 2 * holding
    )
    fill = items_f["fill_target"].to_numpy(float) if "fill_target" in items_f else np.full(n_i, np.nan)

    dem = np.clip(_grid(inputs.demand, "item", items, periods), 0.0, None)
    rec = _grid(inputs.receipts, "item", items, periods)
    if not inputs.receipts.empty:  # overdue open orders arrive in the first month
        early = pd.to_datetime(inputs.receipts["period"]) < periods[0]
        if early.any():
            e = inputs.receipts[early.to_numpy()]
            r = items.get_indexer(e["item"].astype(str))
            np.add.at(rec[:, 0], r[r >= 0], e["qty"].to_numpy(float)[r >= 0])
    on_hand = np.zeros(n_i)
    if not inputs.on_hand.empty:
        r = items.get_indexer(inputs.on_hand["item"].astype(str))
        np.add.at(on_hand, r[r >= 0], inputs.on_hand["qty"].to_numpy(float)[r >= 0])
    ss = np.clip(_grid(inputs.safety_stock, "item", items, periods), 0.0, None)

    routing = inputs.routing[inputs.routing["item"].astype(str).isin(items)] if not inputs.routing.empty else None
    cap = inputs.capacity
    resources = pd.Index(sorted(set(cap["resource"].astype(str)))) if not cap.empty else pd.Index([], dtype=object)
    sourcing = inputs.sourcing
    if not sourcing.empty:
        sourcing = sourcing[sourcing["item"].astype(str).isin(items)].reset_index(drop=True)
    suppliers = pd.Index(sorted(set(sourcing["supplier"].astype(str)))) if not sourcing.empty else pd.Index([])

    routed = np.zeros(n_i, dtype=bool)
    if routing is not None and not routing.empty:
        routed[items.get_indexer(routing["item"].astype(str))] = True
    sourced = np.zeros(n_i, dtype=bool)
    if not sourcing.empty:
        sourced[items.get_indexer(sourcing["item"].astype(str))] = True
    make_items = np.flatnonzero(routed | ~sourced)

    lp = _LinearProgram()
    per = np.array([_month(p) for p in periods])
    ii, tt = np.meshgrid(np.arange(n_i), np.arange(n_t), indexing="ij")  # items × periods
    key_it = np.char.add(np.char.add(items.to_numpy().astype(str)[ii.ravel()], "_"), per[tt.ravel()])

    def it_names(prefix: str, rows: np.ndarray | None = None) -> np.ndarray:
        k = key_it if rows is None else key_it.reshape(n_i, n_t)[rows].ravel()
        return np.char.add(prefix + "_", k.astype(str))

    # columns; stock left at the end of the horizon is worth what it costs to get (it is sold later):
    # the cheapest way to supply the item, so stock is never bought just to be credited
    cheapest = np.where(routed | ~sourced, make_cost, np.inf)
    if not sourcing.empty:
        prio0 = sourcing["priority"].fillna(1).to_numpy(float)
        unit0 = sourcing["unit_cost"].to_numpy(float) * (1 + PRIORITY_PREMIUM * np.maximum(prio0 - 1, 0))
        np.minimum.at(cheapest, items.get_indexer(sourcing["item"].astype(str)), unit0)
    cheapest = np.minimum(cheapest, price)  # and never more than it sells for
    end_value = items_f["end_value"].fillna(pd.Series(cheapest)).to_numpy(float) if "end_value" in items_f else cheapest
    inv_cost = np.repeat(holding, n_t).reshape(n_i, n_t)
    inv_cost[:, -1] -= end_value
    inv = lp.add_cols(it_names("inv"), inv_cost.ravel()).reshape(n_i, n_t)
    # earlier lost sales cost more (by the safety penalty per remaining month), so stock is never held
    # back from customers to meet a later safety-stock target
    # (only items with a target need it; their shadow prices include it)
    steer = np.where((ss > 0).any(axis=1), penalty, 0.0)
    served_first = lost_cost[:, None] + steer[:, None] * (n_t - np.arange(n_t))[None, :]
    lost = lp.add_cols(it_names("lost"), served_first.ravel(), 0.0, dem.ravel()).reshape(n_i, n_t)
    has_ss = ss > 0
    sfall = lp.add_cols(it_names("ssgap")[has_ss.ravel()], np.repeat(penalty, n_t)[has_ss.ravel()], 0.0, ss[has_ss])
    m_up = np.where(np.arange(n_t) >= inputs.first_production_period, INF, 0.0)
    make = lp.add_cols(
        it_names("make", make_items), np.repeat(make_cost[make_items], n_t), 0.0, np.tile(m_up, len(make_items))
    )
    make = make.reshape(len(make_items), n_t)

    src_item = items.get_indexer(sourcing["item"].astype(str)) if not sourcing.empty else np.zeros(0, int)
    src_sup = suppliers.get_indexer(sourcing["supplier"].astype(str)) if not sourcing.empty else np.zeros(0, int)
    n_s = len(src_item)
    if n_s:
        prio = sourcing["priority"].fillna(1).to_numpy(float)
        bcost = sourcing["unit_cost"].to_numpy(float) * (1 + PRIORITY_PREMIUM * np.maximum(prio - 1, 0))
        first = sourcing["first_period"].fillna(0).to_numpy(int)
        b_up = np.where(np.arange(n_t)[None, :] >= first[:, None], INF, 0.0)
        b_names = np.char.add(
            np.char.add(np.char.add("buy_", items.to_numpy().astype(str)[src_item]), "_"),
            suppliers.to_numpy().astype(str)[src_sup],
        )
        b_names = np.char.add(np.char.add(np.repeat(b_names, n_t), "_"), np.tile(per, n_s))
        buy = lp.add_cols(b_names, np.repeat(bcost, n_t), 0.0, b_up.ravel()).reshape(n_s, n_t)
    else:
        buy = np.zeros((0, n_t), dtype=int)

    n_r = len(resources)
    if n_r:
        reg_h = _grid(cap, "resource", resources, periods, "regular_hours")
        ot_h = _grid(cap, "resource", resources, periods, "overtime_hours")
        ot_cost = cap.groupby(cap["resource"].astype(str))["overtime_cost_per_hour"].max().reindex(resources)
        rr, rt = np.meshgrid(np.arange(n_r), np.arange(n_t), indexing="ij")
        key_rt = np.char.add(np.char.add(resources.to_numpy().astype(str)[rr.ravel()], "_"), per[rt.ravel()])
        over = lp.add_cols(
            np.char.add("ot_", key_rt),
            np.repeat(ot_cost.fillna(0).to_numpy(float), n_t),
            0.0,
            np.clip(ot_h, 0, None).ravel(),
        ).reshape(n_r, n_t)
    else:
        reg_h = np.zeros((0, n_t))
        key_rt = np.zeros(0, dtype=str)
        over = np.zeros((0, n_t), dtype=int)

    g_items = np.flatnonzero(np.isfinite(fill) & (fill > 0))
    gap = lp.add_cols(np.array([f"fillgap_{items[i]}" for i in g_items]), lost_cost[g_items]) if len(g_items) else None

    # rows: balance
    rhs = rec - dem
    rhs[:, 0] += on_hand
    bal = lp.add_rows(it_names("bal"), rhs.ravel(), rhs.ravel()).reshape(n_i, n_t)
    lp.add_coef(bal, inv, 1.0)
    lp.add_coef(bal[:, 1:], inv[:, :-1], -1.0)
    lp.add_coef(bal, lost, -1.0)
    lp.add_coef(bal[make_items], make, -1.0)
    if n_s:
        lp.add_coef(bal[src_item], buy, -1.0)
    # capacity
    if n_r:
        cap_rows = lp.add_rows(np.char.add("cap_", key_rt), -INF, reg_h.ravel()).reshape(n_r, n_t)
        lp.add_coef(cap_rows, over, -1.0)
        if routing is not None and not routing.empty:
            pos = pd.Series(np.arange(len(make_items)), index=make_items)
            r_item = items.get_indexer(routing["item"].astype(str))
            r_res = resources.get_indexer(routing["resource"].astype(str))
            ok = r_res >= 0
            mrow = pos.reindex(r_item[ok]).to_numpy(int)
            lp.add_coef(
                cap_rows[r_res[ok]],
                make[mrow],
                np.repeat(routing["hours_per_unit"].to_numpy(float)[ok], n_t).reshape(-1, n_t),
            )
    else:
        cap_rows = np.zeros((0, n_t), dtype=int)
    # supplier capacity
    sup_cap = _grid(inputs.supplier_capacity, "supplier", suppliers, periods) if len(suppliers) else np.zeros((0, n_t))
    limited = (
        suppliers.isin(inputs.supplier_capacity["supplier"].astype(str))
        if len(suppliers) and not inputs.supplier_capacity.empty
        else np.zeros(len(suppliers), dtype=bool)
    )
    lim = np.flatnonzero(limited)
    sup_rows = np.full((len(suppliers), n_t), -1)
    if len(lim):
        ss_rt_names = np.array([f"sup_{suppliers[s]}_{p}" for s in lim for p in per])
        sup_rows[lim] = lp.add_rows(ss_rt_names, -INF, sup_cap[lim].ravel()).reshape(len(lim), n_t)
        use = limited[src_sup]
        lp.add_coef(sup_rows[src_sup[use]], buy[use], 1.0)
    # safety stock
    if has_ss.any():
        ss_rows = lp.add_rows(it_names("ss")[has_ss.ravel()], ss[has_ss], INF)
        lp.add_coef(ss_rows, inv[has_ss], 1.0)
        lp.add_coef(ss_rows, sfall, 1.0)
    # fill-rate target
    if gap is not None:
        g_rows = lp.add_rows(
            np.array([f"fill_{items[i]}" for i in g_items]), -INF, (1 - fill[g_items]) * dem[g_items].sum(axis=1)
        )
        lp.add_coef(np.repeat(g_rows, n_t), lost[g_items].ravel(), 1.0)
        lp.add_coef(g_rows, gap, -1.0)

    h, nnz = lp.highs()
    idx = {
        "inv": inv,
        "lost": lost,
        "make": make,
        "buy": buy,
        "over": over,
        "bal": bal,
        "cap": cap_rows,
        "sup": sup_rows,
        "sfall": sfall,
        "has_ss": has_ss,
        "ss": ss,
        "rec": rec,
        "reg_h": reg_h,
        "sup_cap": sup_cap,
        "gap": gap if gap is not None else np.zeros(0, int),
        "holding": holding,
        "lost_cost": lost_cost,
        "buy_cost": sourcing["unit_cost"].to_numpy(float) if n_s else np.zeros(0),
        "end_value": end_value,
    }
    return BalanceModel(
        inputs=inputs,
        lp=lp,
        highs=h,
        items=items,
        resources=resources,
        suppliers=suppliers,
        demand=dem,
        idx=idx,
        src_item=src_item,
        src_supplier=src_sup,
        make_items=make_items,
        revenue_constant=float((price[:, None] * dem).sum()),
        nonzeros=nnz,
        build_seconds=time.perf_counter() - t0,
    )


def solve(model: BalanceModel, *, write_lp: str | Path | None = None) -> BalanceResult:
    """Solve a built model and read the plan, the binding constraints and their shadow prices.

    Args:
        model: from :func:`build`.
        write_lp: also write the model (with names) to this ``.lp`` file.

    Raises:
        BalanceError: the model is not solved to optimality (the message names the status).
    """
    h, lp, idx = model.highs, model.lp, model.idx
    if write_lp is not None:
        _write_lp(h, lp, write_lp)
    seconds = _run(h, "constrained plan")
    sol = h.getSolution()
    x = np.asarray(sol.col_value) + 0.0
    act = np.asarray(sol.row_value)
    dual = np.asarray(sol.row_dual)
    periods = pd.DatetimeIndex(model.inputs.periods)
    n_i, n_t = model.demand.shape

    make = np.zeros((n_i, n_t))
    make[model.make_items] = x[idx["make"]]
    buy_q = x[idx["buy"]] if len(model.src_item) else np.zeros((0, n_t))
    buy = np.zeros((n_i, n_t))
    if len(model.src_item):
        np.add.at(buy, model.src_item, buy_q)
    inv, lost = x[idx["inv"]], x[idx["lost"]]
    sfall = np.zeros((n_i, n_t))
    sfall[idx["has_ss"]] = x[idx["sfall"]]

    # resources and suppliers with shadow prices (−dual: saving per extra unit of the right-hand side)
    res_frames = []
    n_r = len(model.resources)
    cap_price = np.zeros((n_r, n_t))
    if n_r:
        cap_price = -dual[idx["cap"]]
        ot_hours = x[idx["over"]]
        used = act[idx["cap"]] + ot_hours
        res_frames.append(
            pd.DataFrame(
                {
                    "resource": np.repeat(model.resources.to_numpy(), n_t),
                    "period": np.tile(periods.to_numpy(), n_r),
                    "regular_hours_used": (used - ot_hours).ravel(),
                    "overtime_hours": ot_hours.ravel(),
                    "capacity_hours": idx["reg_h"].ravel(),
                    "overtime_capacity_hours": np.asarray(lp._cat(lp.upper))[idx["over"]].ravel(),
                    "shadow_price": cap_price.ravel(),
                }
            )
        )
    resources = (
        res_frames[0]
        if res_frames
        else pd.DataFrame(columns=["resource", "period", "regular_hours_used", "overtime_hours", "capacity_hours"])
    )
    n_sup = len(model.suppliers)
    sup_price = np.zeros((n_sup, n_t))
    sup_qty = np.zeros((n_sup, n_t))
    if len(model.src_item):
        np.add.at(sup_qty, model.src_supplier, buy_q)
    has_row = idx["sup"] >= 0
    sup_price[has_row] = -dual[idx["sup"][has_row]]
    suppliers = pd.DataFrame(
        {
            "supplier": np.repeat(model.suppliers.to_numpy(), n_t),
            "period": np.tile(periods.to_numpy(), n_sup),
            "qty": sup_qty.ravel(),
            "capacity": np.where(has_row, idx["sup_cap"], np.inf).ravel(),
            "shadow_price": sup_price.ravel(),
        }
    )

    constraint = _explain_lost(model, lost, cap_price, sup_price)
    first_supply = np.full(n_i, n_t)
    first_supply[model.make_items] = model.inputs.first_production_period
    if len(model.src_item):
        fp = model.inputs.sourcing
        fp = fp[fp["item"].astype(str).isin(model.items)]["first_period"].fillna(0).to_numpy(int)
        np.minimum.at(first_supply, model.src_item, fp)
    plan = pd.DataFrame(
        {
            "item": np.repeat(model.items.to_numpy(), n_t),
            "period": np.tile(periods.to_numpy(), n_i),
            "demand": model.demand.ravel(),
            "receipts": idx["rec"].ravel(),
            "make": make.ravel(),
            "buy": buy.ravel(),
            "supply": (idx["rec"] + make + buy).ravel(),
            "served": (model.demand - lost).ravel(),
            "lost": lost.ravel(),
            "inventory": inv.ravel(),
            "safety_target": idx["ss"].ravel(),
            "safety_shortfall": sfall.ravel(),
            "constraint": constraint.ravel(),
        }
    )
    if len(model.src_item):
        purchases = pd.DataFrame(
            {
                "item": np.repeat(model.items.to_numpy()[model.src_item], n_t),
                "supplier": np.repeat(model.suppliers.to_numpy()[model.src_supplier], n_t),
                "period": np.tile(periods.to_numpy(), len(model.src_item)),
                "qty": buy_q.ravel(),
            }
        )
        purchases = purchases[purchases["qty"] > TOL].reset_index(drop=True)
    else:
        purchases = pd.DataFrame(columns=["item", "supplier", "period", "qty"])

    cost_vec = np.asarray(lp._cat(lp.cost))
    part = lambda key: float((cost_vec[idx[key]] * x[idx[key]]).sum()) if np.size(idx[key]) else 0.0  # noqa: E731
    cost = {
        "make": part("make"),
        "buy": float((idx["buy_cost"][:, None] * buy_q).sum()) if len(model.src_item) else 0.0,
        "overtime": part("over"),
        "holding": float((idx["holding"][:, None] * inv).sum()),
        "lost_sales": float((idx["lost_cost"][:, None] * lost).sum()),
        "safety_penalty": part("sfall"),
        "fill_penalty": part("gap"),
    }
    # the economic value: without the end-of-horizon credit, the penalties and the steering terms
    minimised = sum(cost[k] for k in ("make", "buy", "overtime", "holding", "lost_sales"))
    objective = model.revenue_constant - minimised if model.inputs.objective == "max_margin" else minimised

    row_names = lp.names()[1]
    kinds = np.array([n.split("_", 1)[0] for n in row_names], dtype=object)
    kind_map = {"bal": "balance", "cap": "capacity", "sup": "supplier", "ss": "safety_stock", "fill": "fill_rate"}
    lo, up = lp._cat(lp.row_lower), lp._cat(lp.row_upper)
    slack = np.minimum(np.abs(act - lo), np.abs(up - act))
    duals = pd.DataFrame(
        {
            "name": row_names,
            "kind": [kind_map.get(k, k) for k in kinds],
            "activity": act,
            "lower": lo,
            "upper": up,
            "dual": dual,
            "binding": (slack <= 1e-7 * np.maximum(1, np.abs(act))) & (np.abs(dual) > TOL),
        }
    )
    log.info(
        "constrained plan: %s rows × %s cols (%s nz) solved in %.3f s, objective %.2f",
        lp.n_row,
        lp.n_col,
        model.nonzeros,
        seconds,
        objective,
    )
    return BalanceResult(
        status=h.modelStatusToString(h.getModelStatus()),
        objective=objective,
        plan=plan,
        purchases=purchases,
        resources=resources,
        suppliers=suppliers,
        duals=duals,
        sizes=model.sizes,
        solve_seconds=seconds,
        build_seconds=model.build_seconds,
        cost=cost,
        first_supply=dict(zip(model.items.tolist(), first_supply.tolist(), strict=True)),
    )


def _explain_lost(model: BalanceModel, lost: np.ndarray, cap_price: np.ndarray, sup_price: np.ndarray) -> np.ndarray:
    """Per item × period with lost sales: the resource or supplier whose constraint binds hardest
    (largest shadow price × use per unit in that month or earlier), else the frozen months / lead time."""
    n_i, n_t = lost.shape
    out = np.full((n_i, n_t), "", dtype=object)
    if not (lost > TOL).any():
        return out
    inp = model.inputs
    weight = np.zeros((n_i, len(model.resources)))
    if len(model.resources) and not inp.routing.empty:
        r_item = model.items.get_indexer(inp.routing["item"].astype(str))
        r_res = model.resources.get_indexer(inp.routing["resource"].astype(str))
        ok = (r_item >= 0) & (r_res >= 0)
        weight[r_item[ok], r_res[ok]] = inp.routing["hours_per_unit"].to_numpy(float)[ok]
    sup_w = np.zeros((n_i, len(model.suppliers)))
    if len(model.src_item):
        sup_w[model.src_item, model.src_supplier] = 1.0
    # the price of capacity in month t or any earlier month (stock can be built ahead)
    cap_cum = np.maximum.accumulate(np.clip(cap_price, 0, None), axis=1) if cap_price.size else cap_price
    sup_cum = np.maximum.accumulate(np.clip(sup_price, 0, None), axis=1) if sup_price.size else sup_price
    first_make = inp.first_production_period
    first_buy = np.full(n_i, n_t)
    if len(model.src_item):
        fp = inp.sourcing[inp.sourcing["item"].astype(str).isin(model.items)]["first_period"].fillna(0).to_numpy(int)
        np.minimum.at(first_buy, model.src_item, fp)
    made = np.zeros(n_i, dtype=bool)
    made[model.make_items] = True
    for i, t in zip(*np.nonzero(lost > TOL), strict=True):
        best, name = TOL, ""
        for r in np.flatnonzero(weight[i]):
            score = weight[i, r] * cap_cum[r, t]
            if score > best:
                best, name = score, f"capacity {model.resources[r]}"
        for s in np.flatnonzero(sup_w[i]):
            if sup_cum[s, t] > best:
                best, name = sup_cum[s, t], f"supplier {model.suppliers[s]}"
        if not name:
            frozen = (not made[i] or t < first_make) and t < first_buy[i]
            name = "lead time (no new supply can arrive yet)" if frozen else "cost (shortage cheaper than supply)"
        out[i, t] = name
    return out


def balance_plan(inputs: BalanceInputs, *, write_lp: str | Path | None = None) -> BalanceResult:
    """:func:`build` then :func:`solve` (see the module docstring for the model)."""
    return solve(build(inputs), write_lp=write_lp)


def shadow_price_notes(result: BalanceResult, currency: str = "€", top: int = 5) -> list[str]:
    """Plain sentences for the most valuable binding capacities and suppliers, e.g.
    "One more hour on ULM-ESP in 2027-03 is worth €41.20"."""
    rows = []
    res = result.resources
    if not res.empty:
        hit = res[res["shadow_price"] > TOL]
        rows += [
            (
                float(r.shadow_price),
                f"One more hour on {r.resource} in {_month(r.period)} is worth {currency}{r.shadow_price:,.2f}",
            )
            for r in hit.itertuples()
        ]
    sup = result.suppliers
    if not sup.empty:
        hit = sup[sup["shadow_price"] > TOL]
        rows += [
            (
                float(r.shadow_price),
                f"One more unit from {r.supplier} in {_month(r.period)} is worth {currency}{r.shadow_price:,.2f}",
            )
            for r in hit.itertuples()
        ]
    rows.sort(key=lambda x: -x[0])
    return [text for _, text in rows[:top]]


def supplier_capacity_default(
    sourcing: pd.DataFrame,
    mean_demand: pd.Series,
    periods: pd.DatetimeIndex,
    *,
    factor: float = 1.5,
    alternate_share: float = 0.5,
) -> pd.DataFrame:
    """Monthly supplier capacity when the data has none (documented default).

    ``Q[s] = factor · Σ_{i: s preferred} d̄[i] + alternate_share · factor · Σ_{i: s alternate} d̄[i]``

    Args:
        sourcing: ``item, supplier, priority`` (1 = preferred).
        mean_demand: mean monthly demand per item [units/month] (d̄), indexed by item.
        periods: the months to fill.
        factor: headroom over the preferred items' demand (1.5 = 50 % more).
        alternate_share: share of the headroom an alternate supplier offers its alternate items.

    Returns:
        ``supplier, period, qty`` [units/month].
    """
    if sourcing.empty:
        return pd.DataFrame(columns=["supplier", "period", "qty"])
    d = mean_demand.reindex(sourcing["item"].astype(str)).fillna(0.0).to_numpy()
    w = np.where(sourcing["priority"].fillna(1).to_numpy() <= 1, 1.0, alternate_share) * factor
    per_sup = pd.Series(d * w).groupby(sourcing["supplier"].astype(str).to_numpy()).sum()
    frame = pd.DataFrame(
        {
            "supplier": np.repeat(per_sup.index.to_numpy(), len(periods)),
            "period": np.tile(pd.DatetimeIndex(periods).to_numpy(), len(per_sup)),
            "qty": np.repeat(per_sup.to_numpy(), len(periods)),
        }
    )
    return frame


def months_of_lead_time(lead_time_days: np.ndarray | float, days_per_month: float = DAYS_PER_MONTH) -> np.ndarray:
    """Whole months before an order placed now can arrive: ``ceil(L / 30.44) − 1`` clipped at 0,
    i.e. an order with a 40-day lead time arrives in the second month (index 1) at the earliest."""
    lt = np.asarray(lead_time_days, dtype=float)
    return np.clip(np.ceil(np.maximum(lt, 0) / days_per_month) - 1, 0, None).astype(int)


__all__ = [
    "AggregatePlanResult",
    "BalanceError",
    "BalanceInputs",
    "BalanceModel",
    "BalanceResult",
    "aggregate_plan",
    "balance_plan",
    "build",
    "months_of_lead_time",
    "shadow_price_notes",
    "solve",
    "supplier_capacity_default",
]
