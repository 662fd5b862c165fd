"""What-if scenarios: levers → adjusted inputs → a plan → financials and KPIs.

Pure functions on DataFrames (no database, no user interface). A scenario is a set of
:class:`Levers` applied to one :class:`ScenarioInputs` (demand, products, stock, open orders and,
when known, routings, resources and supplier items); :func:`evaluate` turns it into plan lines per
SKU × period and headline KPIs; :func:`compare` puts several results side by side and
:func:`supply_gap` sets unconstrained demand against constrained supply per family and month.

Adjusted inputs
---------------
* demand ``d[i,t] = base[i,t] · (1 + g/100) · (1 + f_family(i)/100) · (1 + s_sku(i)/100) · (1 + p/100)^e``
  (g = ``demand_change_pct``, f = ``family_changes``, s = ``sku_changes``, applied in the months
  ``demand_from`` … ``demand_to``; p = ``price_change_pct`` and e = ``price_elasticity`` in every month);
* ``price = unit_price · (1 + p/100)``, ``unit_cost = unit_cost · (1 + k/100)`` (k = ``cost_change_pct``,
  also applied to supplier prices); regular capacity × (1 + ``capacity_changes[r]``/100); overtime hours
  × 0 when ``overtime_allowed`` is False, overtime rates × (1 + ``overtime_cost_change_pct``/100);
  supplier capacity 0 in the months of ``supplier_disruptions``; lead times + ``lead_time_change_days``.

Constrained plan (when routings or supplier items are given)
-----------------------------------------------------------
The LP of :mod:`sop_core.planning.balance` plans per SKU (the item of the LP; the split of supply to SKUs is part
of the optimisation, so a SKU's stock serves only that SKU and more demand never leaves a SKU worse served),
objective ``max_margin``, target end stock ``s[i,t]`` below as a soft safety-stock target, frozen months for
production (``frozen_periods``), supplier lead times in months (+ ``lead_time_change_days``) and the default
supplier capacity of :func:`sop_core.planning.balance.supplier_capacity_default` (sized on the baseline demand), and a
fill-rate target ``fill_rate_target`` per SKU. ``ScenarioInputs.level = "family"`` (plans of more than
:data:`sop_core.units.SKU_PLAN_MAX_SKUS` SKUs, :func:`sop_core.planning.scenario_inputs.plan_level`) plans per family ×
sourcing instead (``COFFEE|make``, ``COFFEE|buy``), a coarser and much smaller LP
(:mod:`sop_core.planning.scenario_family`): each SKU serves its demand from its own stock and open orders first; the
LP plans new supply for what that leaves (prices, costs and hours per unit weighted by what each SKU needs; each
supplier's default capacity split over the families it supplies), and its supply goes to the SKUs in the order
they need it, so a SKU is short only when and as much as its family is.

Safety stock and target end stock
---------------------------------
Each SKU's safety stock is the Supply review's (:func:`safety_stock_levels`: ``z(CSL)·sqrt((L + R)·σ_d² +
d̄²·σ_L²)`` with the levers' service level, lead time and demand change); the target end stock is
``s[i,t] = SS[i] + c · d[i,t+1]`` (c = ``cover_months``, 0 by default; the last period uses ``d[i,t]``).
Expected shortage from forecast error at the planned end stock ``I``: ``σ_(L+R) · G(I / σ_(L+R))`` per SKU and
month (G the standard normal loss function), which gives the *expected* fill rate next to the plan's.

Planning rule (without capacity data)
-------------------------------------
For every SKU *i* and period *t* (months, in order), with ``I[i, -1]`` the stock on hand:

* target end stock ``s[i,t] = SS[i] + c · d[i,t+1]`` (above);
* open orders ``r[i,t]`` arrive (overdue ones in the first period, ones after the horizon are ignored);
* planned production ``q[i,t] = max(0, d[i,t] + s[i,t] − I[i,t−1] − r[i,t])`` — zero in the first
  ``frozen_periods`` periods (inside the lead time only open orders can arrive);
* supply ``u[i,t] = r[i,t] + q[i,t]``; served ``v[i,t] = min(d[i,t], I[i,t−1] + u[i,t])``;
* end stock ``I[i,t] = I[i,t−1] + u[i,t] − v[i,t]`` (never negative: unmet demand is lost and
  reported as ``shortage_qty``; lost sales, Silver, Pyke & Thomas, *Inventory and Production
  Management in Supply Chains*, 4th ed., ch. 7).

Financials per line (money in the company currency, :data:`sop_core.config.CURRENCY`):
``revenue = v · price``, ``cogs = v · unit_cost``, ``holding_cost = I · unit_cost · holding_rate / 12``,
``cost = cogs + holding_cost``.

Headline KPIs: revenue, cogs, holding_cost, overtime_cost (overtime hours × rate of the constrained
plan), sourcing_premium (Σ bought units × (supplier price − standard cost), alternates),
margin = revenue − cogs − holding_cost − overtime_cost − sourcing_premium, margin_rate = margin /
revenue (a share), inventory value at the end of the horizon and on average over the period ends
(Σ I · unit_cost), days of cover = end stock / (Σ demand / months / 30.4375 days), fill rate =
Σ served / Σ demand (a share; APICS dictionary, "fill rate"), stockout units = Σ shortage,
shortage_cost = Σ shortage · (price − unit_cost) (the lost margin).

The period loop runs over months only; every step is a numpy operation over all SKUs at once
(the rule evaluates the demo's 176 SKUs × 18 months in about 2 ms, the constrained plan in about
35 ms; ``bench/whatif.py``).
"""


from __future__ import annotations

import json

from sop_core.planning.levers import Levers
from sop_core.planning.scenario_constrained import evaluate_constrained
from sop_core.planning.scenario_inputs import ScenarioInputs
from sop_core.planning.scenario_result import ScenarioResult, plan_result
from sop_core.planning.scenario_rule import adjusted_inputs, rule_plan, safety_stock_plan

#: Plans kept per inputs (the ones used last: a lever moved back and forth, the baseline, saved scenarios) …
CACHED_PLANS = 16
#: … and at most this many plan lines over all of them (6 plans of 17,600 SKUs × 18 months: about 20 MB of arrays
#: each, 50 MB more once their lines are read).
CACHED_LINES = 2_000_000
#: The cache key of the baseline (every lever at its default): kept while other plans come and go.
_BASELINE_KEY = json.dumps(Levers().to_dict(), sort_keys=True)


def evaluate(base: ScenarioInputs, levers: Levers | None = None) -> ScenarioResult:
    """Plan lines and KPIs of ``levers`` applied to ``base``.

    Without routing and supplier data the planning rule of the module docstring makes the plan
    (unconstrained); with them the constrained plan of :mod:`sop_core.planning.balance` sets each family's
    supply per month and the rule splits it over the SKUs (:func:`evaluate_constrained`).
    Results are cached per levers on ``base`` (the inputs are read-only): the :data:`CACHED_PLANS` used last, fewer
    for large plans (:data:`CACHED_LINES` plan lines in all), and the baseline always.

    Args:
        base: demand, products, stock on hand and open orders of one cycle (+ capacity and suppliers).
        levers: the what-if changes; None = the baseline (every lever at its default).

    Returns:
        The plan lines (one per SKU × period, :data:`LINE_COLUMNS`) and the headline KPIs.

    Raises:
        ScenarioInputError: when a required column is missing, demand is empty or a demand SKU
            has no product row.

    Example:
        >>> import pandas as pd
        >>> inputs = ScenarioInputs(
        ...     demand=pd.DataFrame({"sku": ["A"], "period": [pd.Timestamp("2026-11-01")], "qty": [10.0]}),
        ...     products=pd.DataFrame({"sku": ["A"], "family": ["F"], "unit_price": [5.0],
        ...                            "unit_cost": [3.0], "holding_rate": [0.0]}),
        ...     on_hand=pd.DataFrame({"sku": ["A"], "qty": [4.0]}),
        ...     receipts=pd.DataFrame(columns=["sku", "period", "qty"]))
        >>> r = evaluate(inputs)
        >>> r.kpis["revenue"], r.kpis["fill_rate"], r.kpis["stockout_units"]
        (20.0, 0.4, 6.0)
    """
    levers = levers or Levers()
    cache = base._cache
    key = json.dumps(levers.to_dict(), sort_keys=True)
    hit = cache.pop(key, None)
    if hit is not None:  # the most recently used last: the baseline of every what-if stays
        cache[key] = hit
        return hit
    if base.constrained:
        result = evaluate_constrained(base, levers)
    else:
        g = base.grid
        demand, price, unit_cost = adjusted_inputs(g, levers, base.elasticities)
        safety = safety_stock_plan(base, levers, demand)
        production, served, inventory = rule_plan(g, demand, levers, safety.target, None)
        result = plan_result(base, levers, demand, price, unit_cost, safety, production, served, inventory, {}, None)
    keep = max(2, min(CACHED_PLANS, CACHED_LINES // max(1, result.n_lines)))
    while len(cache) >= keep:  # the inputs may be shared between sessions: drop the oldest, tolerate races
        try:  # never the baseline: every what-if and review compares against it
            cache.pop(next(k for k in cache if k != _BASELINE_KEY))
        except (KeyError, StopIteration, RuntimeError):
            break
    cache[key] = result
    return result
