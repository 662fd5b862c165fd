"""The workforce aggregate plan of Chopra & Meindl, *Supply Chain Management: Strategy, Planning, and Operation*,
ch. 8 ("Aggregate Planning in Supply Chains", the Red Tomato Tools example, LP and integer solutions), as a linear
program on HiGHS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop_core.planning.linear_program import (
    INF,
    BalanceError,
    BeforeSolve,
    LinearProgram,
    hand_over_named,
    run_to_optimum,
)


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
    before_solve: BeforeSolve | None = None,
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
        before_solve: called with the named HiGHS model before it is solved (e.g. to write an ``.lp`` file).

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
    lp = LinearProgram()

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

    def names(prefix: str) -> np.ndarray:
        return np.array([f"{prefix}_{k + 1}" for k in t])

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
    if before_solve is not None:
        hand_over_named(h, lp, before_solve)
    run_to_optimum(h, "aggregate plan")
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
