"""The constrained plan of a scenario: levers → the LP inputs of :mod:`sop_core.planning.balance` per item (a SKU,
or family × sourcing) → the solved plan split back over the SKUs, with each SKU's overtime cost and
alternate-supplier premium. Pure."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop_core.planning import balance as bl
from sop_core.planning import scenario_family as fam
from sop_core.planning.balance_solve import balance_plan
from sop_core.planning.levers import Levers, ScenarioInputError
from sop_core.planning.linear_program import BalanceError
from sop_core.planning.scenario_inputs import InputGrid, ScenarioInputs
from sop_core.planning.scenario_result import ScenarioResult, plan_result
from sop_core.planning.scenario_rule import SafetyStock, adjusted_inputs, rule_plan, safety_stock_plan

log = logging.getLogger(__name__)


def _plan_items(g: InputGrid, inputs: ScenarioInputs) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """Item per SKU = family × sourcing (``COFFEE|make``, ``COFFEE|buy``); returns the item index per
    SKU, the item names and whether each SKU is made (routed, or neither routed nor sourced)."""
    skus = pd.Index(g.skus)
    routed = skus.isin(inputs.routing["sku"].astype(str)) if not inputs.routing.empty else np.zeros(len(skus), bool)
    sourced = (
        skus.isin(inputs.supplier_items["sku"].astype(str))
        if not inputs.supplier_items.empty
        else np.zeros(len(skus), bool)
    )
    made = routed | ~sourced
    if inputs.level == "sku":
        return np.arange(len(skus)), pd.Index(g.families.astype(str) + "|" + g.skus.astype(str)), made
    names = np.char.add(np.char.add(g.families.astype(str), "|"), np.where(made, "make", "buy"))
    items, item_of = np.unique(names, return_inverse=True)
    return item_of, pd.Index(items), made


def _weighted(values: np.ndarray, weights: np.ndarray, item_of: np.ndarray, n_items: int) -> np.ndarray:
    """Weighted mean per item (plain mean where an item's weights are all zero)."""
    w = np.bincount(item_of, weights=weights, minlength=n_items)
    v = np.bincount(item_of, weights=values * weights, minlength=n_items)
    plain = np.bincount(item_of, weights=values, minlength=n_items) / np.maximum(
        np.bincount(item_of, minlength=n_items), 1
    )
    return np.where(w > 0, v / np.where(w > 0, w, 1.0), plain)


@dataclass(frozen=True, eq=False)
class _Sourcing:
    """The supplier items of the plan's SKUs (one entry per row of ``supplier_items`` naming a known SKU), what the
    constrained plan takes from them whatever the levers: the SKU's position, its item's name, the supplier, its
    unit cost [currency/unit], lead time [days] and priority, and the default supplier capacity
    (:func:`sop_core.planning.balance.supplier_capacity_default`, sized on the baseline demand)."""

    sku: np.ndarray
    item: np.ndarray
    supplier: np.ndarray
    unit_cost: np.ndarray
    lead_time_days: np.ndarray
    priority: np.ndarray
    capacity: pd.DataFrame


def _sourcing(base: ScenarioInputs, item_of: np.ndarray, items: pd.Index) -> _Sourcing:
    g = base.grid
    si = base.supplier_items
    s_sku = pd.Index(g.skus).get_indexer(si["sku"].astype(str))
    ok = s_sku >= 0
    si, s_sku = si[ok], s_sku[ok]
    item = items.to_numpy()[item_of[s_sku]]
    supplier = si["supplier"].astype(str).to_numpy()
    priority = si["priority"].fillna(1).to_numpy(int)
    # supplier capacity from the baseline demand (so a demand push meets it), per SKU; at the family level each
    # supplier's capacity is split over the families it supplies (the sum over their SKUs only): a family item
    # cannot take the headroom sized for another family's SKUs
    sku = si["sku"].astype(str).to_numpy()
    mean_d = pd.Series(g.demand.mean(axis=1)[s_sku], index=sku).groupby(level=0).first()
    capacity = bl.supplier_capacity_default(pd.DataFrame({"item": sku, "supplier": supplier, "priority": priority}),
                                            mean_d, g.periods, group=item if base.level == "family" else None)
    return _Sourcing(sku=s_sku, item=item, supplier=supplier, unit_cost=si["unit_cost"].to_numpy(float),
                     lead_time_days=si["lead_time_days"].to_numpy(float), priority=priority, capacity=capacity)


@dataclass(frozen=True, eq=False)
class ConstrainedInputs:
    """What the constrained plan of one set of levers starts from (:func:`balance_inputs`).

    Attributes:
        balance: the LP's inputs per item (a SKU, or family × sourcing).
        item_of: the item of each SKU (position in ``balance.items``).
        demand, price, unit_cost: the lever-adjusted demand per SKU × month [units], price and unit cost per SKU
            [currency/unit].
        safety: the safety stock and target end stock per SKU (:func:`safety_stock_plan`).
        own: at the family level, each SKU's plan from its own stock alone
            (:func:`sop_core.planning.scenario_family.net_of_own_stock`); None at the SKU level.
    """

    balance: bl.BalanceInputs
    item_of: np.ndarray
    demand: np.ndarray
    price: np.ndarray
    unit_cost: np.ndarray
    safety: SafetyStock
    own: fam.OwnStock | None


def balance_inputs(base: ScenarioInputs, levers: Levers) -> ConstrainedInputs:
    """The constrained-plan inputs of ``levers`` on ``base`` (:class:`ConstrainedInputs`): per SKU at the SKU
    level; at the family level per family × sourcing, for the net demand and net target the SKUs' own stock
    leaves (:mod:`sop_core.planning.scenario_family`)."""

    g = base.grid
    demand, price, unit_cost = adjusted_inputs(g, levers, base.elasticities)
    safety = safety_stock_plan(base, levers, demand)
    item_of, items, _made = base.derived("plan_items", lambda: _plan_items(g, base))
    n_items, n_t = len(items), len(g.periods)
    skus = pd.Index(g.skus)
    fill_target = np.full(n_items, levers.fill_rate_target if levers.fill_rate_target > 0 else np.nan)
    own = None
    if base.level == "family":  # each SKU's own stock first; the LP plans the new supply of what is left
        own = fam.net_of_own_stock(g, demand, safety.target)
        weight = fam.need_weight(own) + 1e-9
        item_dem = fam.rows_summed(item_of, own.net_demand, n_items)
        item_rec = np.zeros((n_items, n_t))
        item_target = fam.rows_summed(item_of, own.net_target, n_items)
        item_on_hand: np.ndarray = np.zeros(n_items)
        if levers.fill_rate_target > 0:  # the target is on the whole demand: the share of the net demand it allows
            gross = np.bincount(item_of, weights=demand.sum(axis=1), minlength=n_items)
            net = item_dem.sum(axis=1)
            allowed = 1.0 - (1.0 - levers.fill_rate_target) * gross / np.where(net > 0, net, 1.0)
            fill_target = np.where((net > 0) & (allowed > 0), allowed, np.nan)
    else:
        weight = demand.sum(axis=1) + 1e-9
        item_dem = fam.rows_summed(item_of, demand, n_items)
        item_rec = fam.rows_summed(item_of, g.receipts, n_items)
        item_target = fam.rows_summed(item_of, safety.target, n_items)
        item_on_hand = np.bincount(item_of, weights=g.on_hand, minlength=n_items)

    item_frame = pd.DataFrame(
        {
            "item": items,
            "unit_price": _weighted(price, weight, item_of, n_items),
            "make_cost": _weighted(unit_cost, weight, item_of, n_items),
            "holding_cost": _weighted(unit_cost * g.holding_rate / 12.0, weight, item_of, n_items),
            "fill_target": fill_target,
        }
    )

    def long(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "item": np.repeat(items.to_numpy(), n_t),
                "period": np.tile(g.periods.to_numpy(), n_items),
                "qty": values.ravel(),
            }
        )

    # routing: demand-weighted hours per unit of each item on each resource
    routing = base.routing
    if not routing.empty:
        r_sku = skus.get_indexer(routing["sku"].astype(str))
        ok = r_sku >= 0
        r = routing[ok]
        w = weight[r_sku[ok]]
        frame = (
            pd.DataFrame(
                {
                    "item": items.to_numpy()[item_of[r_sku[ok]]],
                    "resource": r["resource"].astype(str).to_numpy(),
                    "hw": r["hours_per_unit"].to_numpy(float) * w,
                }
            )
            .groupby(["item", "resource"], as_index=False)["hw"]
            .sum()
        )
        item_w = pd.Series(np.bincount(item_of, weights=weight, minlength=n_items), index=items)
        frame["hours_per_unit"] = frame["hw"] / item_w.reindex(frame["item"]).to_numpy()
        item_routing = frame[["item", "resource", "hours_per_unit"]]
    else:
        item_routing = pd.DataFrame(columns=["item", "resource", "hours_per_unit"])

    res = base.resources
    if not res.empty:
        change = res["resource"].astype(str).map(levers.capacity_changes).fillna(0.0).to_numpy(float)
        unknown = set(levers.capacity_changes) - set(res["resource"].astype(str))
        if unknown:
            log.warning("capacity_changes: unknown resource(s) %s ignored", ", ".join(sorted(unknown)))
        n_r = len(res)
        capacity = pd.DataFrame(
            {
                "resource": np.repeat(res["resource"].astype(str).to_numpy(), n_t),
                "period": np.tile(g.periods.to_numpy(), n_r),
                "regular_hours": np.repeat(res["capacity_hours"].to_numpy(float) * (1 + change / 100.0), n_t),
                "overtime_hours": np.repeat(
                    res["overtime_hours"].fillna(0).to_numpy(float) * (1.0 if levers.overtime_allowed else 0.0), n_t
                ),
                "overtime_cost_per_hour": np.repeat(
                    res["overtime_cost_per_hour"].fillna(0).to_numpy(float)
                    * (1 + levers.overtime_cost_change_pct / 100.0),
                    n_t,
                ),
            }
        )
    else:
        capacity = pd.DataFrame(
            columns=["resource", "period", "regular_hours", "overtime_hours", "overtime_cost_per_hour"]
        )

    if not base.supplier_items.empty:
        src = base.derived("sourcing", lambda: _sourcing(base, item_of, items))
        w = weight[src.sku]
        cost_factor = 1.0 + levers.cost_change_pct / 100.0
        frame = pd.DataFrame(
            {
                "item": src.item,
                "supplier": src.supplier,
                "cw": src.unit_cost * cost_factor * w,
                "lw": (src.lead_time_days + levers.lead_time_change_days) * w,
                "w": w,
                "priority": src.priority,
            }
        )
        grouped = frame.groupby(["item", "supplier"], as_index=False).agg(
            cw=("cw", "sum"), lw=("lw", "sum"), w=("w", "sum"), priority=("priority", "min")
        )
        grouped["unit_cost"] = grouped["cw"] / grouped["w"]
        grouped["first_period"] = bl.months_of_lead_time(grouped["lw"] / grouped["w"])
        sourcing = grouped[["item", "supplier", "unit_cost", "priority", "first_period"]]
        sup_cap = src.capacity
        if levers.supplier_disruptions:
            sup_cap = sup_cap.copy()  # the default capacity is kept for every evaluation
            months = pd.DatetimeIndex(sup_cap["period"]).strftime("%Y-%m")
        for sup, (first, last) in levers.supplier_disruptions.items():
            hit = (sup_cap["supplier"] == sup).to_numpy() & (months >= first) & (months <= last)
            if not hit.any():
                log.warning("supplier_disruptions: supplier %r supplies nothing in %s..%s; ignored", sup, first, last)
            sup_cap.loc[hit, "qty"] = 0.0
    else:
        sourcing = pd.DataFrame(columns=["item", "supplier", "unit_cost", "priority", "first_period"])
        sup_cap = pd.DataFrame(columns=["supplier", "period", "qty"])

    inputs = bl.BalanceInputs(
        periods=g.periods,
        items=item_frame,
        demand=long(item_dem),
        on_hand=pd.DataFrame({"item": items, "qty": item_on_hand}),
        receipts=long(item_rec),
        routing=item_routing,
        capacity=capacity,
        sourcing=sourcing,
        supplier_capacity=sup_cap,
        safety_stock=long(item_target),
        first_production_period=levers.frozen_periods,
        objective="max_margin",
        presolve=base.level != "family",
    )
    return ConstrainedInputs(inputs, item_of, demand, price, unit_cost, safety, own)


def evaluate_constrained(base: ScenarioInputs, levers: Levers) -> ScenarioResult:
    """Levers → constrained plan (LP, per SKU by default) → SKU lines, with the overtime cost and the
    alternate-supplier premium of each SKU and month."""

    g = base.grid
    prepared = balance_inputs(base, levers)
    inputs, item_of, demand, price, unit_cost = (prepared.balance, prepared.item_of, prepared.demand, prepared.price,
                                                 prepared.unit_cost)
    safety = prepared.safety
    try:
        solved = balance_plan(inputs)
    except BalanceError as err:
        raise ScenarioInputError(f"constrained plan: {err}") from None
    plan = solved.plan
    items = pd.Index(inputs.items["item"].astype(str))
    n_items, n_t = len(items), len(g.periods)
    make = plan["make"].to_numpy().reshape(n_items, n_t)
    new = make + plan["buy"].to_numpy().reshape(n_items, n_t)
    if prepared.own is None:
        production, served, stock = rule_plan(g, demand, levers, safety.target, (item_of, new))
    else:  # the family's supply to its SKUs in the order they need it, then each SKU's plan with it
        _served_new, per_sku = fam.allocate(item_of, plan["served"].to_numpy().reshape(n_items, n_t), new,
                                            prepared.own)
        production, served, stock = rule_plan(g, demand, levers, safety.target, (np.arange(len(g.skus)), per_sku))
    item_new = new[item_of]
    share = np.where(item_new > 1e-12, production / np.where(item_new > 1e-12, item_new, 1.0), 0.0)

    # overtime cost of each resource-month, shared over the items made on it by their hours
    overtime_item = np.zeros((n_items, n_t))
    routing, res = inputs.routing, solved.resources
    if solved.cost["overtime"] > 0 and not routing.empty and not res.empty:
        resources = pd.Index(sorted(set(res["resource"].astype(str))))
        key = pd.MultiIndex.from_arrays([res["resource"].astype(str), pd.DatetimeIndex(res["period"])])
        rate = inputs.capacity.set_index(["resource", "period"])["overtime_cost_per_hour"]
        rate.index = pd.MultiIndex.from_arrays([rate.index.get_level_values(0).astype(str),
                                                pd.DatetimeIndex(rate.index.get_level_values(1))])
        spent = res["overtime_hours"].to_numpy(float) * rate.reindex(key).fillna(0.0).to_numpy(float)
        cost_rt = np.zeros((len(resources), n_t))
        np.add.at(cost_rt, (resources.get_indexer(res["resource"].astype(str)),
                            g.periods.get_indexer(pd.DatetimeIndex(res["period"]))), spent)
        ii = items.get_indexer(routing["item"].astype(str))
        rr = resources.get_indexer(routing["resource"].astype(str))
        ok = (ii >= 0) & (rr >= 0)
        ii, rr = ii[ok], rr[ok]
        hours = make[ii] * routing["hours_per_unit"].to_numpy(float)[ok, None]
        total = np.zeros_like(cost_rt)
        np.add.at(total, rr, hours)
        np.add.at(overtime_item, ii, cost_rt[rr] * hours / np.where(total[rr] > 0, total[rr], 1.0))

    # what buying costs above the standard cost (alternate suppliers, priority premiums), per SKU
    purchases = solved.purchases
    premium_item = np.zeros((n_items, n_t))
    sku_buys = pd.DataFrame(columns=["sku", "supplier", "period", "qty"])
    if not purchases.empty:
        std = inputs.items.set_index("item")["make_cost"]
        src = inputs.sourcing.set_index(["item", "supplier"])["unit_cost"]
        paid = src.reindex(pd.MultiIndex.from_frame(purchases[["item", "supplier"]])).to_numpy(float)
        extra = (purchases["qty"].to_numpy() * (paid - std.reindex(purchases["item"]).to_numpy(float))).clip(min=0)
        p_item = items.get_indexer(purchases["item"].astype(str))
        p_t = g.periods.get_indexer(pd.DatetimeIndex(purchases["period"]))
        np.add.at(premium_item, (p_item, p_t), extra)
        # each SKU's part of its item's buys from a supplier: by what it needs of new supply over the horizon at
        # the family level (the same in every month: the buys of a SKU move with its family's)
        weight = fam.need_weight(prepared.own) if prepared.own is not None else production.sum(axis=1)
        sku_buys = _buys_per_sku(base, item_of, weight, purchases.assign(item_pos=p_item))
    return plan_result(
        base,
        levers,
        demand,
        price,
        unit_cost,
        safety,
        production,
        served,
        stock,
        {
            "overtime": solved.cost["overtime"],
            "overtime_by_sku": overtime_item[item_of] * share,
            "sourcing": float(premium_item.sum()),
            "sourcing_by_sku": premium_item[item_of] * share,
            "purchases": sku_buys,
        },
        solved,
    )


def _supplier_pairs(base: ScenarioInputs, item_of: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Each SKU sourced from a supplier once: ``item_pos, supplier, row`` (the SKU's position), with the group of
    its item and supplier and the number of SKUs in that group."""
    si = base.supplier_items
    row = pd.Index(base.grid.skus).get_indexer(si["sku"].astype(str))
    ok = row >= 0
    pairs = pd.DataFrame(
        {"item_pos": item_of[row[ok]], "supplier": si["supplier"].astype(str).to_numpy()[ok], "row": row[ok]}
    ).drop_duplicates(["row", "supplier"])
    group = pairs.groupby(["item_pos", "supplier"]).ngroup().to_numpy()
    return pairs, group, np.bincount(group)[group]


def _buys_per_sku(base: ScenarioInputs, item_of: np.ndarray, weight: np.ndarray, purchases: pd.DataFrame
                  ) -> pd.DataFrame:
    """An item's buys from a supplier, shared over the item's SKUs sourced from that supplier by ``weight`` (per
    SKU; equal shares where the SKUs' weights are all 0); at the SKU level each SKU's own buys. ``purchases``:
    ``item, supplier, period, qty`` with the item's position ``item_pos``. Returns ``sku, supplier, period, qty``
    (rows above 1e-9 units)."""
    g = base.grid
    pairs, group, count = base.derived("supplier_pairs", lambda: _supplier_pairs(base, item_of))
    pairs = pairs.assign(w=weight[pairs["row"].to_numpy()])
    total = pairs["w"].groupby(group).transform("sum").to_numpy()
    pairs["part"] = np.where(total > 1e-12, pairs["w"].to_numpy() / np.where(total > 1e-12, total, 1.0), 1.0 / count)
    frame = purchases.assign(supplier=purchases["supplier"].astype(str)).merge(pairs, on=["item_pos", "supplier"])
    frame["sku"] = g.skus[frame["row"].to_numpy()]
    frame["qty"] = frame["qty"].to_numpy(float) * frame["part"].to_numpy()
    return frame.loc[frame["qty"] > 1e-9, ["sku", "supplier", "period", "qty"]].reset_index(drop=True)
