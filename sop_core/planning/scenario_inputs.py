"""What a scenario starts from: :class:`ScenarioInputs` (demand, products, stock, open orders, capacity,
suppliers, the safety-stock policy) and their dense form :class:`InputGrid` (SKUs × months). Pure."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import pandas as pd

from sop_core.planning.levers import ScenarioInputError
from sop_core.units import SKU_PLAN_MAX_SKUS

if TYPE_CHECKING:
    from sop_core.planning.scenario_result import ScenarioResult

log = logging.getLogger(__name__)

T = TypeVar("T")

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


#: The constrained plan's item: one per SKU, or one per family × make/buy (:mod:`sop_core.planning.scenario_family`).
PlanLevel = Literal["family", "sku"]


def plan_level(n_skus: int, max_skus: int = SKU_PLAN_MAX_SKUS) -> PlanLevel:
    """The constrained plan's item for a plan of ``n_skus`` SKUs: ``sku`` up to ``max_skus``
    (:data:`sop_core.units.SKU_PLAN_MAX_SKUS`), ``family`` above.

    >>> plan_level(176), plan_level(17_600)
    ('sku', 'family')
    """
    return "sku" if n_skus <= max_skus else "family"


@dataclass(frozen=True)
class InputGrid:
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

    @cached_property
    def family_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """The families (sorted) and each SKU's position among them."""
        names, codes = np.unique(self.families, return_inverse=True)
        return names, codes


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
            policy (:func:`sop_core.services.supply.inventory_policy`) [units/month, units/month, months,
            months, months, cycle service level share, units, bool: lead time is a supplier's]; optional:
            without it the safety stock is 0.
        elasticities: family → own-price elasticity learned from the sales history (used when
            ``Levers.price_elasticity`` is None; families without one do not react to price).
        level: the constrained plan's item: ``sku`` (one item per SKU, the default: the split of supply
            to SKUs is part of the optimisation) or ``family`` (family × make/buy for what the SKUs' own stock
            leaves, then split over the SKUs by need; coarser and much faster, for large plans:
            :func:`plan_level`, :mod:`sop_core.planning.scenario_family`).
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
    level: PlanLevel = "sku"

    @cached_property
    def grid(self) -> InputGrid:
        return build_grid(self)

    @cached_property
    def _cache(self) -> dict[str, ScenarioResult]:
        return {}

    @cached_property
    def _derived(self) -> dict[str, Any]:
        return {}

    def derived(self, name: str, compute: Callable[[], T]) -> T:
        """What ``compute()`` works out from these inputs alone, whatever the levers: worked out once and kept under
        ``name`` (the inputs are read only; shared by sessions, a race works it out twice, the same)."""
        memo = self._derived
        if name not in memo:
            memo[name] = compute()
        value: T = memo[name]
        return value

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


def _require(frame: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScenarioInputError(f"{name}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}")


def build_grid(inputs: ScenarioInputs) -> InputGrid:
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

    return InputGrid(
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
