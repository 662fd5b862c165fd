"""The what-if levers of a scenario (:class:`Levers`), what they change in words (:func:`describe_levers`) and which
SKUs and months they act on (:func:`lever_scope`). Pure: no database, no user interface."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sop_core.errors import SopError


class ScenarioInputError(SopError):
    """Inputs or levers that cannot be evaluated (the message names what is wrong)."""


_PCT_DICTS = ("family_changes", "sku_changes", "capacity_changes")


def _month_text(value: Any) -> str:
    """``YYYY-MM`` of a month given as text, date or timestamp."""
    try:
        return str(pd.Timestamp(str(value) if isinstance(value, str) and len(value) == 7 else value).strftime("%Y-%m"))
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
