"""Solving the constrained supply plan built by :func:`sop_core.planning.balance.build`: the plan, the binding
constraints and their shadow prices (:class:`BalanceResult`), and the shadow prices as sentences."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sop_core.planning.balance import BalanceInputs, BalanceModel, build
from sop_core.planning.linear_program import TOL, BeforeSolve, hand_over_named, month_label, run_to_optimum

log = logging.getLogger(__name__)


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


def solve(model: BalanceModel, *, before_solve: BeforeSolve | None = None) -> BalanceResult:
    """Solve a built model and read the plan, the binding constraints and their shadow prices.

    Args:
        model: from :func:`build`.
        before_solve: called with the named HiGHS model before it is solved (e.g. to write an ``.lp`` file).

    Raises:
        BalanceError: the model is not solved to optimality (the message names the status).
    """
    h, lp, idx = model.highs, model.lp, model.idx
    if before_solve is not None:
        hand_over_named(h, lp, before_solve)
    seconds = run_to_optimum(h, "constrained plan")
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
    sup_capacity = np.where(has_row, idx["sup_cap"], np.inf)
    if idx["pair_cap"] is not None:  # capacity per supplier and item: bounds of the buy columns
        sup_price, sup_capacity = _pair_capacity(model, np.asarray(sol.col_dual), buy_q)
    suppliers = pd.DataFrame(
        {
            "supplier": np.repeat(model.suppliers.to_numpy(), n_t),
            "period": np.tile(periods.to_numpy(), n_sup),
            "qty": sup_qty.ravel(),
            "capacity": sup_capacity.ravel(),
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

    def part(key: str) -> float:
        return float((cost_vec[idx[key]] * x[idx[key]]).sum()) if np.size(idx[key]) else 0.0

    cost = {
        "make": part("make"),
        "buy": float((idx["buy_cost"][:, None] * buy_q).sum()) if len(model.src_item) else 0.0,
        "overtime": part("over"),
        "holding": float((idx["holding"][:, None] * inv).sum()),
        "lost_sales": float((idx["lost_cost"][:, None] * lost).sum()),
        "safety_penalty": float((idx["gap_penalty"] * x[idx["sfall"]]).sum()) if np.size(idx["sfall"]) else 0.0,
        "fill_penalty": part("gap"),
    }
    # the economic value: without the end-of-horizon credit, the penalties and the steering terms
    minimised = sum(cost[k] for k in ("make", "buy", "overtime", "holding", "lost_sales"))
    objective = model.revenue_constant - minimised if model.inputs.objective == "max_margin" else minimised

    row_names = lp.names()[1]
    prefixes = np.char.partition(row_names.astype(str), "_")[:, 0] if len(row_names) else np.zeros(0, dtype=str)
    kinds = prefixes.astype(object)
    for prefix, kind in {"bal": "balance", "cap": "capacity", "sup": "supplier", "ss": "safety_stock",
                         "fill": "fill_rate"}.items():
        kinds[prefixes == prefix] = kind
    lo, up = lp._cat(lp.row_lower), lp._cat(lp.row_upper)
    slack = np.minimum(np.abs(act - lo), np.abs(up - act))
    duals = pd.DataFrame(
        {
            "name": row_names,
            "kind": kinds,
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


def _pair_capacity(model: BalanceModel, col_dual: np.ndarray, buy_q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per supplier × month, when its capacity is given per item (bounds of the buy columns): the largest saving
    of one more unit for any of its items (−reduced cost of a buy column at that bound, in a month its lead time
    allows) [currency/unit] and its capacity, the sum over its items [units]."""
    pair_cap, n_t = model.idx["pair_cap"], buy_q.shape[1]
    n_sup = len(model.suppliers)
    first = model.inputs.sourcing
    first = first[first["item"].astype(str).isin(model.items)]["first_period"].fillna(0).to_numpy(int)
    open_month = np.arange(n_t)[None, :] >= first[:, None]
    finite = np.isfinite(pair_cap)
    cap = np.where(finite, pair_cap, 0.0)
    at_cap = finite & open_month & (buy_q >= cap - 1e-9 * np.maximum(1.0, cap))
    pair_price = np.where(at_cap, np.maximum(-col_dual[model.idx["buy"]], 0.0), 0.0)
    price = np.zeros((n_sup, n_t))
    np.maximum.at(price, model.src_supplier, pair_price)
    capacity = np.zeros((n_sup, n_t))
    np.add.at(capacity, model.src_supplier, pair_cap)
    return price, capacity


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


def balance_plan(inputs: BalanceInputs, *, before_solve: BeforeSolve | None = None) -> BalanceResult:
    """:func:`sop_core.planning.balance.build` then :func:`solve` (see the module docstring for the model)."""
    return solve(build(inputs), before_solve=before_solve)


def _largest(frame: pd.DataFrame, top: int) -> pd.DataFrame:
    """The ``top`` rows of ``frame`` with the largest shadow price (the first ones among equals), in their order."""
    order = np.argsort(-frame["shadow_price"].to_numpy(float), kind="stable")[:top]
    return frame.iloc[np.sort(order)]


def shadow_price_notes(result: BalanceResult, currency: str = "€", top: int = 5) -> list[str]:
    """Plain sentences for the most valuable binding capacities and suppliers, e.g.
    "One more hour on ULM-ESP in 2027-03 is worth €41.20"."""
    rows = []
    res = result.resources
    if not res.empty:
        hit = _largest(res[res["shadow_price"] > TOL], top)
        rows += [
            (
                float(r.shadow_price),
                f"One more hour on {r.resource} in {month_label(r.period)} is worth {currency}{r.shadow_price:,.2f}",
            )
            for r in hit.itertuples()
        ]
    sup = result.suppliers
    if not sup.empty:
        hit = _largest(sup[sup["shadow_price"] > TOL], top)
        rows += [
            (
                float(r.shadow_price),
                f"One more unit from {r.supplier} in {month_label(r.period)} is worth {currency}{r.shadow_price:,.2f}",
            )
            for r in hit.itertuples()
        ]
    rows.sort(key=lambda x: -x[0])
    return [text for _, text in rows[:top]]
