"""The constrained plan per family × make/buy (``ScenarioInputs.level = "family"``), for plans too large for one LP
item per SKU. Pure.

Three steps, so that a family's stock in one SKU never stands in for another SKU's demand:

1. **Own stock first** (:func:`net_of_own_stock`): each SKU serves its demand from its own stock on hand and open
   orders, with no new supply: ``served0[i,t] = min(d[i,t], I0[i,t−1] + r[i,t])``, ``I0[i,t] = I0[i,t−1] + r[i,t] −
   served0[i,t]``. What is left is the SKU's *net demand* ``n[i,t] = d[i,t] − served0[i,t]`` and *net target*
   ``s'[i,t] = max(0, s[i,t] − I0[i,t])`` (its target end stock less the own stock it still holds). With lost sales
   and own stock used first, a SKU's plan with new supply is exactly this one plus a plan of the new supply alone
   against ``n`` and ``s'`` (its stock is ``I0`` + the new supply's stock).
2. **The family LP** plans new supply for ``Σ n`` and ``Σ s'`` per family × make/buy, with no stock at the start
   (:mod:`sop_core.planning.balance`; prices, costs and hours per unit averaged over the SKUs weighted by what
   they need, :func:`need_weight`).
3. **Back to the SKUs** (:func:`allocate`): in each month the family's served net demand goes to its SKUs in
   proportion to their net demand (every SKU of a family gets the same share of its net demand that month), and
   the family's new supply goes to those SKUs in the order the units are needed (month by month, earliest first:
   the units served in month t, then those of t+1, …), the stock the family holds at the end of the horizon
   in proportion to the SKUs' net end targets. A SKU's supply thus arrives no later than it serves, and the
   SKUs of a family lose sales only in the months and to the extent the family does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sop_core.planning.scenario_inputs import InputGrid


@dataclass(frozen=True)
class OwnStock:
    """Each SKU's plan from its own stock and open orders alone (per SKU × month, units): ``served`` and end
    ``stock``, and what that leaves: ``net_demand`` (demand − served) and ``net_target`` (target − stock, ≥ 0)."""

    served: np.ndarray
    stock: np.ndarray
    net_demand: np.ndarray
    net_target: np.ndarray


def net_of_own_stock(g: InputGrid, demand: np.ndarray, target: np.ndarray) -> OwnStock:
    """Step 1 of the module docstring: each SKU's own stock and open orders against its demand and target.

    Example:
        >>> import pandas as pd
        >>> g = InputGrid(skus=np.array(["A"]), families=np.array(["F"]), periods=pd.date_range("2026-11-01",
        ...               periods=3, freq="MS"), demand=np.zeros((1, 3)), receipts=np.array([[0.0, 5.0, 0.0]]),
        ...               on_hand=np.array([8.0]), unit_price=np.ones(1), unit_cost=np.ones(1), holding_rate=np.zeros(1))
        >>> own = net_of_own_stock(g, np.array([[6.0, 6.0, 6.0]]), np.full((1, 3), 2.0))
        >>> own.served.tolist(), own.net_demand.tolist(), own.net_target.tolist()
        ([[6.0, 6.0, 1.0]], [[0.0, 0.0, 5.0]], [[0.0, 1.0, 2.0]])
    """
    n_t = demand.shape[1]
    served = np.empty_like(demand)
    stock = np.empty_like(demand)
    held = g.on_hand.astype(float).copy()
    for t in range(n_t):
        available = held + g.receipts[:, t]
        served[:, t] = np.minimum(demand[:, t], available)
        held = available - served[:, t]
        stock[:, t] = held
    return OwnStock(served, stock, demand - served, np.maximum(target - stock, 0.0))


def need_weight(own: OwnStock) -> np.ndarray:
    """What each SKU needs of new supply over the horizon [units]: its net demand and its net end target (the
    weights of the family item's averaged price, costs and hours per unit)."""
    weight: np.ndarray = own.net_demand.sum(axis=1) + own.net_target[:, -1]
    return weight


def rows_summed(item_of: np.ndarray, values: np.ndarray, n_items: int) -> np.ndarray:
    """The rows of ``values`` (SKUs × months) added up per item (items × months): what ``np.add.at`` gives, to the
    last bit (each item's rows added in their order), a month at a time with ``np.bincount``, many times faster.

    >>> rows_summed(np.array([1, 0, 1]), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), 2).tolist()
    [[3.0, 4.0], [6.0, 8.0]]
    """
    out = np.empty((n_items, values.shape[1]))
    for t, column in enumerate(np.asarray(values, dtype=float).T):
        out[:, t] = np.bincount(item_of, weights=column, minlength=n_items)
    return out


def _groups(item_of: np.ndarray, n_items: int) -> list[np.ndarray]:
    """The SKU positions of each item, in item order."""
    order = np.argsort(item_of, kind="stable")
    bounds = np.searchsorted(item_of[order], np.arange(n_items + 1))
    return [order[bounds[k]:bounds[k + 1]] for k in range(n_items)]


def allocate(
    item_of: np.ndarray, served_item: np.ndarray, supply_item: np.ndarray, own: OwnStock
) -> tuple[np.ndarray, np.ndarray]:
    """Step 3 of the module docstring: the family items' served net demand and new supply back to the SKUs.

    Args:
        item_of: the item of each SKU (position in the items' rows).
        served_item: net demand each item serves from new supply, items × months [units].
        supply_item: new supply (made and bought) of each item, items × months [units].
        own: the SKUs' own-stock plan (:func:`net_of_own_stock`).

    Returns:
        ``(served, supply)`` per SKU × month [units]: the net demand each SKU serves from new supply, and the new
        supply it gets; per item and month they sum to ``served_item`` and ``supply_item``.

    Example:
        Two SKUs of one item; the item serves all 10 units of January and half of February's 10, and its supply
        is 12 units in January (2 of them for February) and 3 in February:

        >>> own = OwnStock(np.zeros((2, 2)), np.zeros((2, 2)), np.array([[4.0, 8.0], [6.0, 2.0]]), np.zeros((2, 2)))
        >>> served, supply = allocate(np.array([0, 0]), np.array([[10.0, 5.0]]), np.array([[12.0, 3.0]]), own)
        >>> served.tolist(), supply.round(6).tolist()
        ([[4.0, 4.0], [6.0, 1.0]], [[5.6, 2.4], [6.4, 0.6]])
    """
    n_items, n_t = served_item.shape
    net = own.net_demand
    total = rows_summed(item_of, net, n_items)
    fill = np.clip(np.where(total > 1e-12, served_item / np.where(total > 1e-12, total, 1.0), 0.0), 0.0, 1.0)
    served = net * fill[item_of]
    # the units each item serves, month by month, then the stock it holds at the end: the order supply fills
    used = rows_summed(item_of, served, n_items)
    supplied = np.cumsum(supply_item, axis=1)
    end = np.maximum(supplied[:, -1] - used.sum(axis=1), 0.0)
    segments = np.concatenate([used, end[:, None]], axis=1)  # items × (months + 1)
    seg_end = np.cumsum(segments, axis=1)
    seg_start = seg_end - segments
    sup_start = supplied - supply_item
    # overlap[k, t, j]: the units of item k's supply in month t that go to its segment j
    overlap = np.clip(
        np.minimum(supplied[:, :, None], seg_end[:, None, :]) - np.maximum(sup_start[:, :, None], seg_start[:, None, :]),
        0.0,
        None,
    )
    # each SKU's part of a segment: its served units of the month; of the end stock: its net end target
    end_weight = own.net_target[:, -1]
    end_total = np.bincount(item_of, weights=end_weight, minlength=n_items)
    fallback = net.sum(axis=1) + 1e-12
    fallback_total = np.bincount(item_of, weights=fallback, minlength=n_items)
    end_share = np.where(end_total[item_of] > 1e-9, end_weight / np.where(end_total > 1e-9, end_total, 1.0)[item_of],
                         fallback / fallback_total[item_of])
    part = np.concatenate([served / np.where(used > 1e-12, used, 1.0)[item_of], end_share[:, None]], axis=1)
    supply = np.zeros_like(net)
    for k, rows in enumerate(_groups(item_of, n_items)):
        if len(rows):
            supply[rows] = part[rows] @ overlap[k].T
    return served, supply
