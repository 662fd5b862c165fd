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
fill-rate target ``fill_rate_target`` per SKU. ``ScenarioInputs.level = "family"`` plans per family × sourcing
instead (``COFFEE|make``, ``COFFEE|buy``, demand-weighted prices, costs and hours per unit), a coarser and much
smaller LP whose supply the rule below splits over the SKUs in proportion to their need ``max(0, d + s − I − r)``;
its shortages of single SKUs while the family has stock are reported as :data:`MIX`.

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

import dataclasses
import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from sop_core.errors import SopError
from sop_core.planning import inventory
from sop_core.planning.inventory import normal_loss
from sop_core.units import DAYS_PER_MONTH

log = logging.getLogger(__name__)


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


#: Columns of :attr:`ScenarioInputs.policy` (the safety-stock inputs per SKU).
POLICY_INPUT_COLUMNS = [
    "sku",
    "demand_mean",
    "demand_std",
    "lead_time_months",
    "lead_time_std_months",
    "review_months",
    "cycle_service_level",
    "safety_stock",
    "bought",
]


class ScenarioInputError(SopError):
    """Inputs or levers that cannot be evaluated (the message names what is wrong)."""


_PCT_DICTS = ("family_changes", "sku_changes", "capacity_changes")


def _month_text(value: Any) -> str:
    """``YYYY-MM`` of a month given as text, date or timestamp."""
    try:
        return pd.Timestamp(str(value) if isinstance(value, str) and len(value) == 7 else value).strftime("%Y-%m")
    except (ValueError, TypeError):
        raise ScenarioInputError(f"{value!r} is not a month (expected YYYY-MM)") from None


@dataclass(frozen=True)
class Levers:
    """The what-if levers of a scenario. Every default leaves the baseline unchanged.

    Attributes:
        demand_change_pct: change of every SKU's demand [% of the base forecast], e.g. 10 = +10 %.
        family_changes: extra change per product family [%], applied on top of ``demand_change_pct``.
        sku_changes: extra change per SKU [%], applied on top of the family change.
        demand_from: first month (``YYYY-MM``) the demand changes apply to; "" = from the start.
        demand_to: last month (``YYYY-MM``) the demand changes apply to; "" = to the end.
        price_change_pct: change of every unit price [%].
        price_elasticity: demand response to the price change (e): demand × (1 + price change)^e;
            None = each family's own-price elasticity learned from the sales history
            (:attr:`ScenarioInputs.elasticities`, 0 where none could be learned); a number = that elasticity
            for every family (0 = demand does not react, −1.5 = typical for consumer durables).
        cost_change_pct: change of every unit cost [%] (material or purchase price inflation).
        cover_months: extra end-of-month stock above the safety stock, in months of next month's
            demand (c); 0 = the safety stock alone (the inventory policy of the Supply review).
        frozen_periods: months at the start of the horizon in which only open orders arrive
            (no new production can be planned inside the lead time).
        capacity_changes: change of the regular capacity per resource [%], e.g. {"ULM-ESP": -20}.
        overtime_allowed: False = no overtime on any resource.
        overtime_cost_change_pct: change of every overtime rate [%].
        supplier_disruptions: supplier → ``[first month, last month]`` (``YYYY-MM``) it delivers nothing.
        lead_time_change_days: change of every supplier lead time [days] (+14 = two weeks longer): later
            first arrivals of new orders, and more safety stock of the bought SKUs (L in the formula).
        fill_rate_target: fill-rate target of every SKU (share of its demand served from stock over the
            horizon, 0..1, 0 = none): the constrained plan pays overtime and alternate suppliers before
            falling short of it.
        cycle_service_level: every SKU's safety-stock target as a cycle service level (the probability of
            no stockout in a replenishment cycle, share in [0.5, 1)); 0 = each product's own target.
    """

    demand_change_pct: float = 0.0
    family_changes: dict[str, float] = field(default_factory=dict)
    sku_changes: dict[str, float] = field(default_factory=dict)
    demand_from: str = ""
    demand_to: str = ""
    price_change_pct: float = 0.0
    price_elasticity: float | None = None
    cost_change_pct: float = 0.0
    cover_months: float = 0.0
    frozen_periods: int = 1
    capacity_changes: dict[str, float] = field(default_factory=dict)
    overtime_allowed: bool = True
    overtime_cost_change_pct: float = 0.0
    supplier_disruptions: dict[str, list[str]] = field(default_factory=dict)
    lead_time_change_days: float = 0.0
    fill_rate_target: float = 0.0
    cycle_service_level: float = 0.0

    def __post_init__(self) -> None:
        # normalise types (ints from JSON or sliders → float) and own private copies of the dicts
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _PCT_DICTS:
                value = {str(k): float(v) for k, v in (value or {}).items()}
            elif f.name == "supplier_disruptions":
                value = {str(k): [_month_text(v[0]), _month_text(v[1])] for k, v in (value or {}).items()}
            elif f.name in ("demand_from", "demand_to"):
                value = _month_text(value) if value else ""
            elif f.name == "frozen_periods":
                value = int(value)
            elif f.name == "overtime_allowed":
                value = bool(value)
            elif f.name == "price_elasticity" and value is None:
                pass
            else:
                value = float(value)
            object.__setattr__(self, f.name, value)
        for name in ("demand_change_pct", "price_change_pct", "cost_change_pct", "overtime_cost_change_pct"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= -100:
                raise ScenarioInputError(f"lever {name}: {value} must be a finite percentage above -100")
        for name in _PCT_DICTS:
            for key, value in getattr(self, name).items():
                if not math.isfinite(value) or value < -100 or (value == -100 and name != "capacity_changes"):
                    raise ScenarioInputError(f"lever {name}[{key!r}]: {value} must be above -100")
        if not math.isfinite(self.cover_months) or self.cover_months < 0:
            raise ScenarioInputError(f"lever cover_months: {self.cover_months} must be ≥ 0")
        if self.frozen_periods < 0:
            raise ScenarioInputError(f"lever frozen_periods: {self.frozen_periods} must be ≥ 0")
        if not 0 <= self.fill_rate_target < 1:
            raise ScenarioInputError(f"lever fill_rate_target: {self.fill_rate_target} must be a share in [0, 1)")
        if self.cycle_service_level and not 0.5 <= self.cycle_service_level < 1:
            raise ScenarioInputError(
                f"lever cycle_service_level: {self.cycle_service_level} must be 0 (each product's own target) "
                "or a share in [0.5, 1)"
            )
        if self.price_elasticity is not None and not math.isfinite(self.price_elasticity):
            raise ScenarioInputError("lever price_elasticity must be finite (or None = learned per family)")
        if not math.isfinite(self.lead_time_change_days):
            raise ScenarioInputError("lever lead_time_change_days must be finite")
        if self.demand_from and self.demand_to and self.demand_from > self.demand_to:
            raise ScenarioInputError(f"levers demand_from {self.demand_from} is after demand_to {self.demand_to}")
        for sup, (first, last) in self.supplier_disruptions.items():
            if first > last:
                raise ScenarioInputError(f"lever supplier_disruptions[{sup!r}]: {first} is after {last}")

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (stored in ``scenario.levers``)."""
        out = dataclasses.asdict(self)
        for name in _PCT_DICTS:
            out[name] = {str(k): float(v) for k, v in getattr(self, name).items()}
        out["supplier_disruptions"] = {k: list(v) for k, v in self.supplier_disruptions.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Levers:
        """Levers from :meth:`to_dict` output; missing keys take their defaults.

        Raises:
            ScenarioInputError: on an unknown lever name or a value out of range.
        """
        data = dict(data or {})
        if "service_level" in data:  # the fill-rate target's name before it had its own
            data.setdefault("fill_rate_target", data.pop("service_level"))
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ScenarioInputError(f"unknown lever(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return cls(**data)

    def replace(self, **changes: Any) -> Levers:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class _Grid:
    """The inputs as dense arrays: rows = SKUs (sorted), columns = periods (sorted)."""

    skus: np.ndarray
    families: np.ndarray
    periods: pd.DatetimeIndex
    demand: np.ndarray  # units per period
    receipts: np.ndarray  # units arriving per period
    on_hand: np.ndarray  # units at the start of the horizon
    unit_price: np.ndarray  # currency per unit
    unit_cost: np.ndarray  # currency per unit
    holding_rate: np.ndarray  # share of unit cost per year


@dataclass(frozen=True, eq=False)
class ScenarioInputs:
    """What a scenario starts from (read once per cycle, then evaluated many times).

    Attributes:
        demand: ``sku, period, qty`` — consensus (or statistical) forecast [units per month];
            period = month start. Negative quantities are treated as 0.
        products: ``sku, family, unit_price, unit_cost, holding_rate`` — price and cost
            [currency/unit], holding rate [share of unit cost per year].
        on_hand: ``sku, qty`` — stock at the start of the horizon [units].
        receipts: ``sku, period, qty`` — open orders due per period [units].
        routing: ``sku, resource, hours_per_unit`` [h/unit] (optional; enables the constrained plan).
        resources: ``resource, capacity_hours, overtime_hours, overtime_cost_per_hour`` [h/month,
            h/month, currency/h].
        supplier_items: ``supplier, sku, lead_time_days, unit_cost, priority`` [days, currency/unit,
            1 = preferred].
        policy: ``sku, demand_mean, demand_std, lead_time_months, lead_time_std_months, review_months,
            cycle_service_level, safety_stock, bought`` — the safety-stock inputs of the Supply review's inventory
            policy (:func:`sop_core.services.inventory_policy.inventory_policy`) [units/month, units/month, months,
            months, months, cycle service level share, units, bool: lead time is a supplier's]; optional:
            without it the safety stock is 0.
        elasticities: family → own-price elasticity learned from the sales history (used when
            ``Levers.price_elasticity`` is None; families without one do not react to price).
        level: the constrained plan's item: ``sku`` (one item per SKU, the default: the split of supply
            to SKUs is part of the optimisation) or ``family`` (family × make/buy, then split over the SKUs
            in proportion to their need; coarser and faster, for very large plans).
    """

    demand: pd.DataFrame
    products: pd.DataFrame
    on_hand: pd.DataFrame
    receipts: pd.DataFrame
    routing: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["sku", "resource", "hours_per_unit"]))
    resources: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["resource", "capacity_hours", "overtime_hours", "overtime_cost_per_hour"]
        )
    )
    supplier_items: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["supplier", "sku", "lead_time_days", "unit_cost", "priority"])
    )

    policy: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=POLICY_INPUT_COLUMNS))
    elasticities: dict[str, float] = field(default_factory=dict)
    level: Literal["family", "sku"] = "sku"

    @cached_property
    def grid(self) -> _Grid:
        return _build_grid(self)

    @cached_property
    def _cache(self) -> dict[str, ScenarioResult]:
        return {}

    @cached_property
    def fingerprint(self) -> str:
        """A short digest of every input table (equal digests = the same inputs)."""
        digest = hashlib.sha1()
        for frame in (
            self.demand,
            self.products,
            self.on_hand,
            self.receipts,
            self.routing,
            self.resources,
            self.supplier_items,
        ):
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
            digest.update(",".join(map(str, frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(self.policy, index=False).to_numpy().tobytes())
        digest.update(json.dumps(self.elasticities, sort_keys=True).encode())
        digest.update(self.level.encode())
        return digest.hexdigest()

    @property
    def constrained(self) -> bool:
        """True when routings or supplier items are given: the constrained plan (LP) is used."""
        return not (self.routing.empty and self.supplier_items.empty)

    @property
    def periods(self) -> pd.DatetimeIndex:
        return self.grid.periods

    @property
    def families(self) -> list[str]:
        return sorted(set(self.grid.families.tolist()))


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """Plan lines (:data:`LINE_COLUMNS`, one per SKU × period) and headline KPIs (:data:`KPI_LABELS`)."""

    levers: Levers
    lines: pd.DataFrame
    kpis: dict[str, float]
    balance: Any = None  # sop_core.planning.balance.BalanceResult of the constrained plan, None for the rule
    #: new buys per SKU, supplier and month of the constrained plan: ``sku, supplier, period, qty`` [units]
    purchases: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["sku", "supplier", "period", "qty"]))

    @property
    def supplier_units(self) -> pd.Series:
        """Units bought from each supplier over the horizon (new buys of the constrained plan)."""
        return self.purchases.groupby("supplier")["qty"].sum() if not self.purchases.empty else pd.Series(dtype=float)


def _require(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScenarioInputError(f"{name}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}")


def _build_grid(inputs: ScenarioInputs) -> _Grid:
    _require(inputs.demand, "demand", ["sku", "period", "qty"])
    _require(inputs.products, "products", ["sku", "family", "unit_price", "unit_cost", "holding_rate"])
    _require(inputs.on_hand, "on_hand", ["sku", "qty"])
    _require(inputs.receipts, "receipts", ["sku", "period", "qty"])
    demand = inputs.demand
    if demand.empty:
        raise ScenarioInputError("demand: no rows; run a forecast for this cycle first")
    demand_period = pd.to_datetime(demand["period"]).to_numpy()
    periods = pd.DatetimeIndex(np.unique(demand_period))
    skus = pd.Index(np.unique(demand["sku"].astype(str).to_numpy()))
    products = inputs.products.assign(sku=inputs.products["sku"].astype(str))
    products = products.drop_duplicates("sku", keep="last").set_index("sku")
    missing = skus.difference(products.index)
    if len(missing):
        raise ScenarioInputError(
            f"products: no row for demand SKU(s) {', '.join(map(str, missing[:5]))}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        )
    prod = products.reindex(skus)
    n, n_t = len(skus), len(periods)

    dem = np.zeros((n, n_t))
    rows = skus.get_indexer(demand["sku"].astype(str))
    cols = periods.get_indexer(demand_period)
    np.add.at(dem, (rows, cols), np.clip(demand["qty"].to_numpy(dtype=float), 0.0, None))

    rec = np.zeros((n, n_t))
    receipts = inputs.receipts
    if not receipts.empty:
        r_rows = skus.get_indexer(receipts["sku"].astype(str))
        r_per = pd.to_datetime(receipts["period"]).to_numpy()
        r_cols = np.searchsorted(periods.to_numpy(), r_per, side="left")
        exact = (r_cols < n_t) & (periods.to_numpy()[np.minimum(r_cols, n_t - 1)] == r_per)
        before = r_per < periods[0].to_datetime64()
        r_cols = np.where(before, 0, r_cols)
        keep = (r_rows >= 0) & (exact | before)
        np.add.at(rec, (r_rows[keep], r_cols[keep]), receipts["qty"].to_numpy(dtype=float)[keep])
        if (~keep).any():
            log.debug("%d open-order rows outside the horizon or the demand SKUs ignored", int((~keep).sum()))

    on_hand = np.zeros(n)
    if not inputs.on_hand.empty:
        h_rows = skus.get_indexer(inputs.on_hand["sku"].astype(str))
        ok = h_rows >= 0
        np.add.at(on_hand, h_rows[ok], inputs.on_hand["qty"].to_numpy(dtype=float)[ok])

    return _Grid(
        skus=skus.to_numpy(),
        families=prod["family"].astype(str).to_numpy(),
        periods=periods,
        demand=dem,
        receipts=rec,
        on_hand=np.clip(on_hand, 0.0, None),
        unit_price=prod["unit_price"].to_numpy(dtype=float),
        unit_cost=prod["unit_cost"].to_numpy(dtype=float),
        holding_rate=prod["holding_rate"].fillna(0.0).to_numpy(dtype=float),
    )


def elasticity_per_sku(g: _Grid, levers: Levers, elasticities: dict[str, float]) -> np.ndarray:
    """The own-price elasticity each SKU's demand reacts with: the lever's value for every SKU, or (lever
    None) its family's learned elasticity, 0 where none is known."""
    if levers.price_elasticity is not None:
        return np.full(len(g.skus), levers.price_elasticity)
    return pd.Series(g.families).map(elasticities).fillna(0.0).to_numpy(float)


def _adjusted(
    g: _Grid, levers: Levers, elasticities: dict[str, float] | None = None
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


def evaluate(base: ScenarioInputs, levers: Levers | None = None) -> ScenarioResult:
    """Plan lines and KPIs of ``levers`` applied to ``base``.

    Without routing and supplier data the planning rule of the module docstring makes the plan
    (unconstrained); with them the constrained plan of :mod:`sop_core.planning.balance` sets each family's
    supply per month and the rule splits it over the SKUs (:func:`_evaluate_constrained`).
    Results are cached per levers on ``base`` (the inputs are read-only).

    Args:
        base: demand, products, stock on hand and open orders of one cycle (+ capacity and suppliers).
        levers: the what-if changes; None = the baseline (every lever at its default).

    Returns:
        The plan lines (one per SKU × period, :data:`LINE_COLUMNS`) and the headline KPIs.

    Raises:
        ScenarioInputError: when a required column is missing, demand is empty or a demand SKU
            has no product row.

    Example:
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
    if key in cache:
        return cache[key]
    if base.constrained:
        result = _evaluate_constrained(base, levers)
    else:
        g = base.grid
        demand, price, unit_cost = _adjusted(g, levers, base.elasticities)
        safety = safety_stock_plan(base, levers, demand)
        production, served, inventory = _rule(g, demand, levers, safety.target, None)
        result = _result(base, levers, demand, price, unit_cost, safety, production, served, inventory, {}, None)
    if len(cache) >= 16:  # the inputs may be shared between sessions: drop the oldest, tolerate races
        try:
            cache.pop(next(iter(cache)))
        except (KeyError, StopIteration, RuntimeError):
            pass
    cache[key] = result
    return result


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
    pol = base.policy.assign(sku=base.policy["sku"].astype(str)).drop_duplicates("sku", keep="last")
    p = pol.set_index("sku").reindex(g.skus)
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


def safety_stock_targets(base: ScenarioInputs, levers: Levers, demand: np.ndarray) -> np.ndarray:
    """Target end-of-month stock per SKU × month [units] (:func:`safety_stock_plan`)."""
    return safety_stock_plan(base, levers, demand).target


def _rule(
    g: _Grid,
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
    production = np.zeros_like(demand)
    served = np.empty_like(demand)
    inventory = np.empty_like(demand)
    stock = g.on_hand.copy()
    for t in range(n_t):
        arriving = stock + g.receipts[:, t]
        need = np.maximum(demand[:, t] + target[:, t] - arriving, 0.0)
        if supply is None:
            if t >= levers.frozen_periods:
                production[:, t] = need
        else:
            item, new = supply
            n_items = new.shape[0]
            total_need = np.bincount(item, weights=need, minlength=n_items)
            total_next = np.bincount(item, weights=next_demand[:, t], minlength=n_items)
            count = np.bincount(item, minlength=n_items)
            share = np.where(
                total_need[item] > 1e-9,
                need / np.maximum(total_need[item], 1e-12),
                np.where(
                    total_next[item] > 1e-9, next_demand[:, t] / np.maximum(total_next[item], 1e-12), 1.0 / count[item]
                ),
            )
            production[:, t] = new[item, t] * share
        available = arriving + production[:, t]
        served[:, t] = np.minimum(demand[:, t], available)
        stock = available - served[:, t]
        inventory[:, t] = stock
    return production, served, inventory


def _result(
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
    balance: Any,
) -> ScenarioResult:
    """Plan lines and headline KPIs of a planned scenario.

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
    target = np.broadcast_to(safety[:, None], demand.shape)
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

    lines = pd.DataFrame(
        {
            "sku": np.repeat(g.skus, n_t),
            "family": np.repeat(g.families, n_t),
            "period": np.tile(g.periods.to_numpy(), n),
            "demand_qty": demand.ravel(),
            "receipt_qty": g.receipts.ravel(),
            "production_qty": production.ravel(),
            "supply_qty": supply.ravel(),
            "served_qty": served.ravel(),
            "shortage_qty": (demand - served).ravel(),
            "inventory_qty": stock.ravel(),
            "inventory_value": inventory_value.ravel(),
            "safety_stock_qty": target.ravel(),
            "expected_shortage_qty": expected_short.ravel(),
            "revenue": revenue.ravel(),
            "cogs": cogs.ravel(),
            "holding_cost": holding.ravel(),
            "overtime_cost": overtime_by_sku.ravel(),
            "sourcing_premium": sourcing_by_sku.ravel(),
            "cost": (cogs + holding + overtime_by_sku + sourcing_by_sku).ravel(),
        }
    )
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
    return ScenarioResult(levers=levers, lines=lines, kpis=kpis, balance=balance, purchases=purchases)


def _plan_items(g: _Grid, inputs: ScenarioInputs) -> tuple[np.ndarray, pd.Index, np.ndarray]:
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


def balance_inputs(
    base: ScenarioInputs, levers: Levers
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray, SafetyStock]:
    """The constrained-plan inputs (:class:`sop_core.planning.balance.BalanceInputs`) of ``levers`` on ``base``,
    per item (a SKU, or family × sourcing); also returns the item index per SKU and the adjusted demand,
    price, unit cost and safety stock with the target end stock (:func:`safety_stock_plan`) per SKU."""
    from sop_core.planning import balance as bl

    g = base.grid
    demand, price, unit_cost = _adjusted(g, levers, base.elasticities)
    safety = safety_stock_plan(base, levers, demand)
    item_of, items, _made = _plan_items(g, base)
    n_items, n_t = len(items), len(g.periods)
    weight = demand.sum(axis=1) + 1e-9
    skus = pd.Index(g.skus)

    item_frame = pd.DataFrame(
        {
            "item": items,
            "unit_price": _weighted(price, weight, item_of, n_items),
            "make_cost": _weighted(unit_cost, weight, item_of, n_items),
            "holding_cost": _weighted(unit_cost * g.holding_rate / 12.0, weight, item_of, n_items),
            "fill_target": levers.fill_rate_target if levers.fill_rate_target > 0 else np.nan,
        }
    )
    item_dem = np.zeros((n_items, n_t))
    np.add.at(item_dem, item_of, demand)
    item_rec = np.zeros((n_items, n_t))
    np.add.at(item_rec, item_of, g.receipts)
    item_on_hand = np.bincount(item_of, weights=g.on_hand, minlength=n_items)

    def long(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "item": np.repeat(items.to_numpy(), n_t),
                "period": np.tile(g.periods.to_numpy(), n_items),
                "qty": values.ravel(),
            }
        )

    item_target = np.zeros((n_items, n_t))
    np.add.at(item_target, item_of, safety.target)

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

    si = base.supplier_items
    if not si.empty:
        s_sku = skus.get_indexer(si["sku"].astype(str))
        ok = s_sku >= 0
        si = si[ok]
        s_sku = s_sku[ok]
        w = weight[s_sku]
        cost_factor = 1.0 + levers.cost_change_pct / 100.0
        frame = pd.DataFrame(
            {
                "item": items.to_numpy()[item_of[s_sku]],
                "supplier": si["supplier"].astype(str).to_numpy(),
                "cw": si["unit_cost"].to_numpy(float) * cost_factor * w,
                "lw": (si["lead_time_days"].to_numpy(float) + levers.lead_time_change_days) * w,
                "w": w,
                "priority": si["priority"].fillna(1).to_numpy(int),
                "base_d": g.demand.mean(axis=1)[s_sku],
            }
        )
        grouped = frame.groupby(["item", "supplier"], as_index=False).agg(
            cw=("cw", "sum"), lw=("lw", "sum"), w=("w", "sum"), priority=("priority", "min")
        )
        grouped["unit_cost"] = grouped["cw"] / grouped["w"]
        grouped["first_period"] = bl.months_of_lead_time(grouped["lw"] / grouped["w"])
        sourcing = grouped[["item", "supplier", "unit_cost", "priority", "first_period"]]
        # supplier capacity from the baseline demand (so a demand push meets it), per SKU
        cap_src = frame.rename(columns={"item": "sku_item"}).assign(item=si["sku"].astype(str).to_numpy())
        mean_d = pd.Series(frame["base_d"].to_numpy(), index=cap_src["item"]).groupby(level=0).first()
        sup_cap = bl.supplier_capacity_default(cap_src[["item", "supplier", "priority"]], mean_d, g.periods)
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
    )
    return inputs, item_of, demand, price, unit_cost, safety


def _evaluate_constrained(base: ScenarioInputs, levers: Levers) -> ScenarioResult:
    """Levers → constrained plan (LP, per SKU by default) → SKU lines, with the overtime cost and the
    alternate-supplier premium of each SKU and month."""
    from sop_core.planning import balance as bl

    g = base.grid
    inputs, item_of, demand, price, unit_cost, safety = balance_inputs(base, levers)
    try:
        solved = bl.balance_plan(inputs)
    except bl.BalanceError as err:
        raise ScenarioInputError(f"constrained plan: {err}") from None
    plan = solved.plan
    items = pd.Index(inputs.items["item"].astype(str))
    n_items, n_t = len(items), len(g.periods)
    make = plan["make"].to_numpy().reshape(n_items, n_t)
    new = make + plan["buy"].to_numpy().reshape(n_items, n_t)
    production, served, stock = _rule(g, demand, levers, safety.target, (item_of, new))
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
        # each SKU takes its share of its item's buys in the month
        sku_of_item = pd.DataFrame({"sku": g.skus, "item_pos": item_of})
        frame = purchases.assign(item_pos=p_item, t=p_t).merge(sku_of_item, on="item_pos")
        rows = pd.Index(g.skus).get_indexer(frame["sku"])
        frame["qty"] = frame["qty"].to_numpy(float) * share[rows, frame["t"].to_numpy()]
        sku_buys = frame.loc[frame["qty"] > 1e-9, ["sku", "supplier", "period", "qty"]].reset_index(drop=True)
    return _result(
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
    frame = result.lines.groupby(["family", "period"], as_index=False, sort=True)[
        ["demand_qty", "served_qty", "shortage_qty"]
    ].sum()
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
        position = pd.Index(pd.DatetimeIndex(sorted(set(result.lines["period"])))).get_indexer(month)
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
        frame = res.lines[keys + ["inventory_qty", "shortage_qty", "inventory_value"]]
        grouped = frame.groupby(keys, as_index=False, sort=True).sum()
        grouped.insert(0, "scenario", name)
        parts.append(grouped)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["scenario", *keys])


def by_family_period(lines: pd.DataFrame) -> pd.DataFrame:
    """Plan lines summed per family and month (``family, period`` + every quantity/money column present),
    with ``margin = revenue − cost`` [currency]."""
    value_cols = [c for c in LINE_COLUMNS[3:] if c in lines.columns]
    out = lines.groupby(["family", "period"], as_index=False, sort=True)[value_cols].sum()
    if "revenue" in out.columns and "cost" in out.columns:
        out["margin"] = out["revenue"] - out["cost"]
    return out


# ---------------------------------------------------------------- what a scenario changes
#: Levers that act on every SKU of the plan: a scenario moving one of them has the whole plan as its scope.
_ALL_SKU_LEVERS = ("demand_change_pct", "price_change_pct", "cost_change_pct", "cover_months", "frozen_periods",
                   "overtime_allowed", "overtime_cost_change_pct", "fill_rate_target", "cycle_service_level")
#: Levers that change demand (they honour ``demand_from`` / ``demand_to``).
_DEMAND_LEVERS = ("demand_change_pct", "family_changes", "sku_changes")


def _changed(levers: Levers) -> list[str]:
    """Names of the levers that differ from the baseline (``demand_from``/``demand_to`` aside)."""
    base = Levers()
    skip = ("demand_from", "demand_to")
    return [f.name for f in dataclasses.fields(levers)
            if f.name not in skip and getattr(levers, f.name) != getattr(base, f.name)]


def _signed_pct(x: float) -> str:
    return f"{x:+g} %"


def describe_levers(levers: Levers) -> str:
    """What a scenario changes against the baseline, in one line (pure).

    Example:
        >>> describe_levers(Levers(family_changes={"GRILLS": 8}, demand_to="2026-08", price_change_pct=2,
        ...                           price_elasticity=-1.2))
        'GRILLS demand +8 % (to 2026-08); price +2 % (elasticity -1.2)'
    """
    base = Levers()
    parts: list[str] = []
    demand = [f"demand {_signed_pct(levers.demand_change_pct)}"] if levers.demand_change_pct else []
    demand += [f"{fam} demand {_signed_pct(v)}" for fam, v in sorted(levers.family_changes.items()) if v]
    demand += [f"{sku} demand {_signed_pct(v)}" for sku, v in sorted(levers.sku_changes.items()) if v]
    if demand:
        window = ""
        if levers.demand_from and levers.demand_to:
            window = f" ({levers.demand_from} to {levers.demand_to})"
        elif levers.demand_from or levers.demand_to:
            window = f" (from {levers.demand_from})" if levers.demand_from else f" (to {levers.demand_to})"
        parts.append(", ".join(demand) + window)
    if levers.price_change_pct:
        elasticity = (
            " (elasticity learned per family)" if levers.price_elasticity is None
            else f" (elasticity {levers.price_elasticity:g})"
        )
        parts.append(f"price {_signed_pct(levers.price_change_pct)}{elasticity}")
    if levers.cost_change_pct:
        parts.append(f"unit cost {_signed_pct(levers.cost_change_pct)}")
    if levers.cover_months != base.cover_months:
        parts.append(f"cover {levers.cover_months:g} months")
    if levers.frozen_periods != base.frozen_periods:
        parts.append(f"{levers.frozen_periods} frozen months")
    parts += [f"{res} capacity {_signed_pct(v)}" for res, v in sorted(levers.capacity_changes.items()) if v]
    if not levers.overtime_allowed:
        parts.append("no overtime")
    if levers.overtime_cost_change_pct:
        parts.append(f"overtime rate {_signed_pct(levers.overtime_cost_change_pct)}")
    parts += [f"{sup} delivers nothing {a} to {b}" for sup, (a, b) in sorted(levers.supplier_disruptions.items())]
    if levers.lead_time_change_days:
        parts.append(f"lead times {levers.lead_time_change_days:+g} days")
    if levers.fill_rate_target:
        parts.append(f"fill-rate target {100 * levers.fill_rate_target:g} %")
    if levers.cycle_service_level:
        parts.append(f"cycle service level {100 * levers.cycle_service_level:g} % for every SKU")
    return "; ".join(parts) if parts else "no lever changed (baseline)"


@dataclass(frozen=True)
class LeverScope:
    """The SKUs and months a scenario's levers act on: ``skus`` None = every SKU; ``first``/``last``
    month starts of the months its changes apply to (None = the whole horizon)."""

    skus: frozenset[str] | None
    label: str
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None


def lever_scope(
    levers: Levers, products: pd.DataFrame, routing: pd.DataFrame, supplier_items: pd.DataFrame
) -> LeverScope:
    """What a scenario touches (pure): every SKU when it moves a plan-wide lever (demand, price or cost
    change, cover, frozen months, overtime, fill-rate target), else the SKUs of its family and SKU demand
    changes, the SKUs routed on resources whose capacity it changes, and the SKUs bought from suppliers it
    disrupts (every bought SKU for a lead-time change). Months: the demand window when only demand levers
    move, the disruption months when only disruptions do, else the whole horizon.

    Args:
        products: ``sku, family``; routing: ``sku, resource``; supplier_items: ``supplier, sku``.

    Example:
        >>> p = pd.DataFrame({"sku": ["G1", "G2", "K1"], "family": ["GRILLS", "GRILLS", "KETTLES"]})
        >>> none = pd.DataFrame(columns=["sku", "resource", "supplier"])
        >>> s = lever_scope(Levers(family_changes={"GRILLS": 8}, demand_to="2026-08"), p, none, none)
        >>> (sorted(s.skus), s.label, s.first, f"{s.last:%Y-%m}")
        (['G1', 'G2'], 'family GRILLS', None, '2026-08')
    """
    changed = _changed(levers)
    first = pd.Timestamp(f"{levers.demand_from}-01") if levers.demand_from else None
    last = pd.Timestamp(f"{levers.demand_to}-01") if levers.demand_to else None
    demand_only = bool(changed) and set(changed) <= set(_DEMAND_LEVERS)
    if not changed:
        return LeverScope(None, "all SKUs (no lever changed)")
    if any(name in _ALL_SKU_LEVERS for name in changed):
        return LeverScope(None, "all SKUs", *((first, last) if demand_only else (None, None)))
    skus: set[str] = set()
    labels: list[str] = []
    families = sorted(f for f, v in levers.family_changes.items() if v)
    if families:
        skus |= set(products.loc[products["family"].isin(families), "sku"])
        labels.append(("family " if len(families) == 1 else "families ") + ", ".join(families))
    named = sorted(k for k, v in levers.sku_changes.items() if v)
    if named:
        skus |= set(named)
        labels.append(("SKU " if len(named) == 1 else "SKUs ") + ", ".join(named))
    resources = sorted(r for r, v in levers.capacity_changes.items() if v)
    if resources:
        skus |= set(routing.loc[routing["resource"].isin(resources), "sku"])
        labels.append("SKUs made on " + ", ".join(resources))
    suppliers = sorted(levers.supplier_disruptions)
    if suppliers:
        skus |= set(supplier_items.loc[supplier_items["supplier"].isin(suppliers), "sku"])
        labels.append("SKUs bought from " + ", ".join(suppliers))
    if levers.lead_time_change_days:
        skus |= set(supplier_items["sku"])
        labels.append("every bought SKU")
    if set(changed) == {"supplier_disruptions"}:
        windows = list(levers.supplier_disruptions.values())
        first = pd.Timestamp(f"{min(w[0] for w in windows)}-01")
        last = pd.Timestamp(f"{max(w[1] for w in windows)}-01")
    elif not demand_only:
        first = last = None
    return LeverScope(frozenset(skus), "; ".join(labels), first, last)
