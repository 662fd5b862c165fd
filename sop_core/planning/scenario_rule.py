"""The planning rule of a scenario: lever-adjusted demand, price and cost, the safety stock and target end stock
per SKU, and the period loop that plans production, served demand and end stock (module docstring of
:mod:`sop_core.planning.scenario`). Pure."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sop_core.planning import inventory
from sop_core.planning.levers import Levers
from sop_core.planning.scenario_inputs import InputGrid, ScenarioInputs
from sop_core.units import DAYS_PER_MONTH

log = logging.getLogger(__name__)


def elasticity_per_sku(g: InputGrid, levers: Levers, elasticities: dict[str, float]) -> np.ndarray:
    """The own-price elasticity each SKU's demand reacts with: the lever's value for every SKU, or (lever
    None) its family's learned elasticity, 0 where none is known."""
    if levers.price_elasticity is not None:
        return np.full(len(g.skus), levers.price_elasticity)
    per_sku: np.ndarray = pd.Series(g.families).map(elasticities).fillna(0.0).to_numpy(float)
    return per_sku


def adjusted_inputs(
    g: InputGrid, levers: Levers, elasticities: dict[str, float] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lever-adjusted demand [units], unit price and unit cost [currency/unit]."""
    n, n_t = g.demand.shape
    factor = np.full(n, (1.0 + levers.demand_change_pct / 100.0))
    known_families = set(g.families.tolist())
    for fam, pct in levers.family_changes.items():
        if fam not in known_families:
            log.warning("family_changes: family %r has no demand in this cycle; ignored", fam)
            continue
        factor = np.where(g.families == fam, factor * (1.0 + pct / 100.0), factor)
    if levers.sku_changes:
        pos = pd.Index(g.skus)
        for sku, pct in levers.sku_changes.items():
            i = pos.get_indexer([sku])[0]
            if i < 0:
                log.warning("sku_changes: SKU %r has no demand in this cycle; ignored", sku)
                continue
            factor[i] *= 1.0 + pct / 100.0
    price_factor = 1.0 + levers.price_change_pct / 100.0
    months = np.array([p.strftime("%Y-%m") for p in g.periods])
    in_range = np.ones(n_t, dtype=bool)
    if levers.demand_from:
        in_range &= months >= levers.demand_from
    if levers.demand_to:
        in_range &= months <= levers.demand_to
    # the price change holds for the whole horizon, so its elasticity effect does too
    full = factor[:, None] * in_range[None, :] + (~in_range)[None, :] * 1.0
    if levers.price_change_pct:
        full = full * (price_factor ** elasticity_per_sku(g, levers, elasticities or {}))[:, None]
    demand = g.demand * full
    return demand, g.unit_price * price_factor, g.unit_cost * (1.0 + levers.cost_change_pct / 100.0)


def safety_stock_levels(base: ScenarioInputs, levers: Levers, demand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each SKU's safety stock under the levers [units] and the spread of its demand over the protection
    interval L + R [units], from the inventory policy of the Supply review (``base.policy``).

    Formula (the one of :func:`sop_core.planning.inventory.safety_stock`, Chopra & Meindl §12.4):
    ``SS = z(CSL) · sqrt((L + R)·σ_d² + d̄²·σ_L²)`` with

    * CSL = ``levers.cycle_service_level`` when set, else the product's own target;
    * L = the policy's lead time + ``levers.lead_time_change_days`` / 30.4375 for SKUs whose lead time is a
      supplier's (``bought``), never below 0; made SKUs keep theirs;
    * d̄ and σ_d × the SKU's demand change (its adjusted ÷ base demand over the horizon): a demand push raises
      the level and the spread alike.

    Items whose policy safety stock is not the normal formula's (intermittent items take the empirical one)
    keep their policy value scaled by the formula's ratio (new ÷ policy levers). With every lever at its
    default the result is the policy's safety stock exactly. SKUs without a policy row get 0.

    Returns:
        ``(safety_stock, sigma)``, one value per SKU of ``base.grid``.
    """
    g = base.grid
    n = len(g.skus)
    if base.policy.empty:
        return np.zeros(n), np.zeros(n)
    p = base.derived("policy_per_sku", lambda: _policy_per_sku(base))
    known = p["demand_mean"].notna().to_numpy()
    d = p["demand_mean"].fillna(0.0).to_numpy(float).clip(0.0)
    sd = p["demand_std"].fillna(0.0).to_numpy(float).clip(0.0)
    lt = p["lead_time_months"].fillna(0.0).to_numpy(float).clip(0.0)
    lt_sd = p["lead_time_std_months"].fillna(0.0).to_numpy(float).clip(0.0)
    review = p["review_months"].fillna(1.0).to_numpy(float).clip(0.0)
    own = p["cycle_service_level"].fillna(0.95).to_numpy(float).clip(0.5, 0.9999)
    csl = np.full(n, levers.cycle_service_level) if levers.cycle_service_level else own
    bought = p["bought"].fillna(False).astype(bool).to_numpy()
    lt_new = np.clip(lt + bought * levers.lead_time_change_days / DAYS_PER_MONTH, 0.0, None)
    base_total, new_total = g.demand.sum(axis=1), demand.sum(axis=1)
    scale = np.where(base_total > 0, new_total / np.where(base_total > 0, base_total, 1.0), 1.0)
    formula_policy = np.asarray(inventory.safety_stock(own, d, sd, lt, lt_sd, review), dtype=float)
    formula_new = np.asarray(inventory.safety_stock(csl, d * scale, sd * scale, lt_new, lt_sd, review), dtype=float)
    policy_ss = p["safety_stock"].to_numpy(float)
    policy_ss = np.where(np.isnan(policy_ss), formula_policy, policy_ss).clip(0.0)
    ratio = formula_new / np.where(formula_policy > 0, formula_policy, 1.0)
    ss = np.where(formula_policy > 0, policy_ss * ratio, formula_new).clip(0.0)
    sigma = np.sqrt((lt_new + review) * (sd * scale) ** 2 + (d * scale) ** 2 * lt_sd**2)
    return np.where(known, ss, 0.0), np.where(known, sigma, 0.0)


def _policy_per_sku(base: ScenarioInputs) -> pd.DataFrame:
    """The inventory policy's row of each SKU of the grid (the last one given; NaN where there is none)."""
    pol = base.policy.assign(sku=base.policy["sku"].astype(str)).drop_duplicates("sku", keep="last")
    return pol.set_index("sku").reindex(base.grid.skus)


@dataclass(frozen=True)
class SafetyStock:
    """A scenario's safety stock, computed once per evaluation: ``level`` and ``sigma`` per SKU
    (:func:`safety_stock_levels`) [units] and ``target`` end-of-month stock per SKU × month [units]."""

    level: np.ndarray
    sigma: np.ndarray
    target: np.ndarray


def safety_stock_plan(base: ScenarioInputs, levers: Levers, demand: np.ndarray) -> SafetyStock:
    """The safety stock of :func:`safety_stock_levels` and the target end-of-month stock per SKU × month:
    safety stock + ``cover_months`` × next month's demand (the last month: its own)."""
    level, sigma = safety_stock_levels(base, levers, demand)
    next_demand = np.concatenate([demand[:, 1:], demand[:, -1:]], axis=1)
    return SafetyStock(level, sigma, level[:, None] + levers.cover_months * next_demand)


def rule_plan(
    g: InputGrid,
    demand: np.ndarray,
    levers: Levers,
    target: np.ndarray,
    supply: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The period loop of the planning rule: production, served and end stock per SKU × period.

    ``supply`` = (item index per SKU, new supply per item × period) from the constrained plan: the
    item's supply is split over its SKUs in proportion to their need (demand + target − stock),
    or to next month's demand when no SKU needs any.
    """
    n, n_t = demand.shape
    next_demand = np.concatenate([demand[:, 1:], demand[:, -1:]], axis=1)
    # month-major copies: each month of the loop reads and writes contiguous rows (a SKU-major column is strided)
    dem_t, target_t, rec_t, next_t = (np.ascontiguousarray(a.T) for a in (demand, target, g.receipts, next_demand))
    production = np.zeros((n_t, n))
    served = np.empty((n_t, n))
    inventory = np.empty((n_t, n))
    stock = g.on_hand.copy()
    if supply is not None:
        item, new = supply
        n_items = new.shape[0]
        new_t = np.ascontiguousarray(new.T)
        count = np.bincount(item, minlength=n_items)
    for t in range(n_t):
        arriving = stock + rec_t[t]
        need = np.maximum(dem_t[t] + target_t[t] - arriving, 0.0)
        if supply is None:
            if t >= levers.frozen_periods:
                production[t] = need
        else:
            total_need = np.bincount(item, weights=need, minlength=n_items)
            total_next = np.bincount(item, weights=next_t[t], minlength=n_items)
            share = np.where(
                total_need[item] > 1e-9,
                need / np.maximum(total_need[item], 1e-12),
                np.where(total_next[item] > 1e-9, next_t[t] / np.maximum(total_next[item], 1e-12), 1.0 / count[item]),
            )
            production[t] = new_t[t][item] * share
        available = arriving + production[t]
        served[t] = np.minimum(dem_t[t], available)
        stock = available - served[t]
        inventory[t] = stock
    return np.ascontiguousarray(production.T), np.ascontiguousarray(served.T), np.ascontiguousarray(inventory.T)
