"""The constrained supply plan of the reconciliation step as a linear program on HiGHS: how much to make on
regular time and overtime, and to buy from which supplier, per item (a product family, or a SKU) and month, given
capacity, suppliers and stock.

:func:`build` makes the model (its inputs :class:`BalanceInputs`, with the LP builder of
:mod:`sop_core.planning.linear_program`); :func:`sop_core.planning.balance_solve.solve` (or
:func:`sop_core.planning.balance_solve.balance_plan`: both at once) solves it. The textbook workforce aggregate plan
is in :mod:`sop_core.planning.aggregate_planning`.

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
         sup[s,t]:   Σ_i y[i,s,t] ≤ Q[s,t]       (or y[i,s,t] ≤ Q[i,s,t] when the capacity is given per item)
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
Management in Supply Chains*, 4th ed., ch. 7); backorders are modelled in
:func:`sop_core.planning.aggregate_planning.aggregate_plan`.
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

import time
from dataclasses import dataclass, field
from typing import Literal

import highspy
import numpy as np
import pandas as pd

from sop_core.planning.linear_program import INF, BalanceError, LinearProgram, month_label
from sop_core.units import DAYS_PER_MONTH

#: Premium per priority step of an alternate supplier [share of its unit cost].
PRIORITY_PREMIUM = 0.02
#: What a safety-stock gap costs less in the LP than its penalty [currency/unit/month]. With the default
#: penalty (2 × holding) closing a gap by buying a month earlier costs exactly the penalty (two months of
#: holding); without this the plan may take either, and a change elsewhere (a supplier out in other months) could
#: flip it. With it the plan leaves such a gap. The reported safety penalty is at the full rate.
SAFETY_TIE_BREAK = 1e-5


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
        supplier_capacity: ``supplier, period, qty`` [units/month] (Q); a supplier without rows is unlimited. With
            a column ``item``, each row caps what that item buys from the supplier, ``y[i,s,t] ≤ Q[i,s,t]`` (a bound
            of the buy column), instead of what the supplier sells to every item.
        safety_stock: ``item, period, qty`` end-of-month stock targets [units] (ss).
        first_production_period: months frozen for production (f).
        objective: ``min_cost`` or ``max_margin``.
        presolve: let HiGHS presolve the model (False: solve it as built; a model with little to remove, such as
            the family-level plan's, is solved faster without).
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
    presolve: bool = True


@dataclass
class BalanceModel:
    """A built (not yet solved) constrained-plan LP with its index maps."""

    inputs: BalanceInputs
    lp: LinearProgram
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


def _grid(frame: pd.DataFrame, key: str, keys: pd.Index, periods: pd.DatetimeIndex, value: str = "qty") -> np.ndarray:
    """A dense ``keys × periods`` array of ``value`` (sums duplicates; rows of unknown keys or months dropped)."""
    out = np.zeros((len(keys), len(periods)))
    if frame is None or frame.empty:
        return out
    r = keys.get_indexer(frame[key].astype(str))
    c = periods.get_indexer(pd.to_datetime(frame["period"], cache=False))  # the cache scans every row first
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
        early = pd.to_datetime(inputs.receipts["period"], cache=False) < periods[0]
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

    lp = LinearProgram()
    per = np.array([month_label(p) for p in periods])
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
    gap_penalty = np.repeat(penalty, n_t)[has_ss.ravel()]
    sfall = lp.add_cols(it_names("ssgap")[has_ss.ravel()], np.clip(gap_penalty - SAFETY_TIE_BREAK, 0.0, None), 0.0,
                        ss[has_ss])
    m_up = np.where(np.arange(n_t) >= inputs.first_production_period, INF, 0.0)
    make = lp.add_cols(
        it_names("make", make_items), np.repeat(make_cost[make_items], n_t), 0.0, np.tile(m_up, len(make_items))
    )
    make = make.reshape(len(make_items), n_t)

    src_item = items.get_indexer(sourcing["item"].astype(str)) if not sourcing.empty else np.zeros(0, int)
    src_sup = suppliers.get_indexer(sourcing["supplier"].astype(str)) if not sourcing.empty else np.zeros(0, int)
    n_s = len(src_item)
    sup_frame = inputs.supplier_capacity
    pair_cap = None  # capacity per sourcing pair × month when it is given per item (inf: none)
    if "item" in sup_frame.columns and not sup_frame.empty and n_s:
        pair_keys = pd.Index(np.char.add(np.char.add(suppliers.to_numpy().astype(str)[src_sup], "|"),
                                         items.to_numpy().astype(str)[src_item]))
        keyed = sup_frame.assign(key=sup_frame["supplier"].astype(str) + "|" + sup_frame["item"].astype(str))
        pair_cap = np.where(pair_keys.isin(keyed["key"])[:, None], _grid(keyed, "key", pair_keys, periods), INF)
    if n_s:
        prio = sourcing["priority"].fillna(1).to_numpy(float)
        bcost = sourcing["unit_cost"].to_numpy(float) * (1 + PRIORITY_PREMIUM * np.maximum(prio - 1, 0))
        first = sourcing["first_period"].fillna(0).to_numpy(int)
        b_up = np.where(np.arange(n_t)[None, :] >= first[:, None], INF, 0.0)
        if pair_cap is not None:  # the supplier's capacity for the item bounds its buys from the first month on
            b_up = np.minimum(b_up, pair_cap)
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
    # supplier capacity (given per item: the buy columns' bounds above)
    per_supplier = pair_cap is None and len(suppliers) > 0 and not sup_frame.empty
    sup_cap = _grid(sup_frame, "supplier", suppliers, periods) if per_supplier else np.zeros((len(suppliers), n_t))
    limited = (
        suppliers.isin(sup_frame["supplier"].astype(str)) if per_supplier else np.zeros(len(suppliers), dtype=bool)
    )
    lim = np.flatnonzero(limited)
    sup_rows = np.full((len(suppliers), n_t), -1)
    if len(lim):
        ss_rt_names = np.char.add(np.char.add(np.repeat(np.char.add("sup_", suppliers.to_numpy().astype(str)[lim]), n_t),
                                              "_"), np.tile(per, len(lim)))
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
    if not inputs.presolve:
        h.setOptionValue("presolve", "off")
    idx = {
        "inv": inv,
        "lost": lost,
        "make": make,
        "buy": buy,
        "over": over,
        "bal": bal,
        "cap": cap_rows,
        "sup": sup_rows,
        "pair_cap": pair_cap,
        "sfall": sfall,
        "gap_penalty": gap_penalty,
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


def supplier_capacity_default(
    sourcing: pd.DataFrame,
    mean_demand: pd.Series,
    periods: pd.DatetimeIndex,
    *,
    factor: float = 1.5,
    alternate_share: float = 0.5,
    group: np.ndarray | None = None,
) -> pd.DataFrame:
    """Monthly supplier capacity when the data has none (documented default).

    ``Q[s] = factor · Σ_{i: s preferred} d̄[i] + alternate_share · factor · Σ_{i: s alternate} d̄[i]``

    Args:
        sourcing: ``item, supplier, priority`` (1 = preferred).
        mean_demand: mean monthly demand per item [units/month] (d̄), indexed by item.
        periods: the months to fill.
        factor: headroom over the preferred items' demand (1.5 = 50 % more).
        alternate_share: share of the headroom an alternate supplier offers its alternate items.
        group: a group per ``sourcing`` row (e.g. the family a SKU plans in): the capacity is then per supplier
            and group, the same sum over the group's items only (column ``item`` = the group).

    Returns:
        ``supplier, period, qty`` [units/month] (``supplier, item, period, qty`` with ``group``).
    """
    if sourcing.empty:
        return pd.DataFrame(columns=["supplier", "period", "qty"] if group is None else ["supplier", "item", "period",
                                                                                           "qty"])
    d = mean_demand.reindex(sourcing["item"].astype(str)).fillna(0.0).to_numpy()
    w = np.where(sourcing["priority"].fillna(1).to_numpy() <= 1, 1.0, alternate_share) * factor
    keys = [sourcing["supplier"].astype(str).to_numpy()] + ([] if group is None else [np.asarray(group, dtype=str)])
    per_sup = pd.Series(d * w).groupby(keys).sum()
    n_t = len(periods)
    frame = pd.DataFrame({"supplier": np.repeat(per_sup.index.get_level_values(0).to_numpy(), n_t)})
    if group is not None:
        frame["item"] = np.repeat(per_sup.index.get_level_values(1).to_numpy(), n_t)
    frame["period"] = np.tile(pd.DatetimeIndex(periods).to_numpy(), len(per_sup))
    frame["qty"] = np.repeat(per_sup.to_numpy(), n_t)
    return frame


def months_of_lead_time(lead_time_days: np.ndarray | float, days_per_month: float = DAYS_PER_MONTH) -> np.ndarray:
    """Whole months before an order placed now can arrive: ``ceil(L / 30.44) − 1`` clipped at 0,
    i.e. an order with a 40-day lead time arrives in the second month (index 1) at the earliest."""
    lt = np.asarray(lead_time_days, dtype=float)
    months: np.ndarray = np.clip(np.ceil(np.maximum(lt, 0) / days_per_month) - 1, 0, None).astype(int)
    return months
