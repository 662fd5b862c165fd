"""KPI services: the KPI summary per segment with targets and traffic lights, monthly trends and the SKU
drill-down (page "KPIs", ``python -m sop_core kpi``); the targets themselves in :mod:`sop_core.services.kpi_targets`.

How each KPI is derived from the tables the company holds (sales_history, inventory, receipt,
open_order, product, supplier_item and the forecast runs), measured at ``as_of`` — by default the date
of the newest inventory snapshot — for a *segment*: ``all`` SKUs, one family (``family:<code>``) or
one ABC class (``abc:A``; classes from the 12 months to ``as_of``, see
:func:`sop_core.services.kpi_measures.abc_xyz_classes`):

* **Fill rate (projected)** (customer): there are no customer order lines, so "ordered" is the
  forecast demand of the first ``fill_rate_months`` month(s) after ``as_of`` and "shipped" is the part
  of it that stock on hand plus open purchase and production orders can serve in the lost-sales
  projection (:func:`sop_core.planning.supply_math.projected_inventory`): Σ(D − shortage) / Σ D. The forecast is the
  newest finished run of the newest cycle starting no later than the month after ``as_of``.
* **OTIF** (supplier): share of the deliveries received in the 12 months to ``as_of`` on or before the
  promised date and in full. **Supplier fill rate**: Σ qty_received / Σ qty_ordered of those deliveries.
* **Supplier reliability**: share of the quantity ordered in those deliveries placed with suppliers
  whose own OTIF meets the OTIF target (:func:`sop_core.planning.kpi_formulas.supplier_reliability`).
* **Inventory turns**: COGS of the last 12 months (Σ sales quantity × unit cost) / average inventory
  value at cost (mean over the inventory snapshots of the same 12 months; with one snapshot, it).
* **Days of supply**: inventory value at cost / average daily COGS of the last 3 months.
* **Stockouts**: stocked SKUs sold in the last 3 months whose on hand at ``as_of`` is 0.
* **Excess**: SKUs whose on hand exceeds 180 days of their average daily demand of the last 3 months.
* **Forecast error (WMAPE)** and **forecast bias** (:mod:`sop_core.planning.accuracy`): actual sales of the 12
  months to ``as_of`` against the forecast the planners had when each month began (the newest run of
  the newest cycle not after that month). When no earlier run covers a month with actuals, the
  stored backtest of the newest run stands in (overall, or per family for a family segment; no
  value for an ABC segment or for the bias of a family). ``frame.attrs["accuracy_source"]`` says which.

Targets and traffic lights: each KPI has a default target, an amber tolerance and a direction
(:data:`sop_core.services.kpi_targets.KPI_DEFINITIONS`). A target stored in ``kpi_target`` for the segment
wins, then one stored for ``all``, then the default. Lights follow :func:`sop_core.planning.kpi_formulas.traffic_light`: green when the
target is met, amber when missed by no more than the tolerance, red beyond, grey without a value.

Monthly trends (:func:`kpi_trends`) are estimates where the data are thin: OTIF and supplier fill
rate by month of receipt; turns = 12 · COGS of the month / inventory value and days of supply =
inventory value / (COGS of the month / days in it), the inventory value of a month being its own
snapshot when one exists, else the nearest snapshot (earlier first) — with a single snapshot, the
inventory is held at today's value, so the curves show the effect of demand only; forecast error and
bias by month from earlier forecast runs only.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine

from sop_core.db import forecast_repo, master_repo, stock_repo
from sop_core.db.engine import session_scope
from sop_core.formatting import is_missing
from sop_core.planning import accuracy as metrics
from sop_core.planning import kpi_formulas as kpi
from sop_core.services import supply as supply_service
from sop_core.services.inventory_policy import inventory_policy
from sop_core.services.kpi_measures import abc_xyz_classes, load_kpi_data, measure_kpis, month_start
from sop_core.services.kpi_targets import KPI_DEFINITIONS, KpiError, kpi_targets

log = logging.getLogger(__name__)


SUMMARY_COLUMNS = ["kpi", "value", "unit", "target", "status", "gap"]
STATUS_LABELS = {"green": "On target", "amber": "Watch", "red": "Off target", "grey": "No data"}


def _display(key: str, raw: float) -> float:
    d = KPI_DEFINITIONS[key]
    if is_missing(raw):
        return float("nan")
    value = round(float(raw) * (100.0 if d.unit == "%" else 1.0), 0 if d.unit == "SKUs" else 1)
    return int(value) if d.unit == "SKUs" else value


# --------------------------------------------------------------------------- segments
def segments(engine: Engine) -> list[str]:
    """Every segment a target can be set for: ``all``, ``family:<code>`` per family, ``abc:A|B|C``."""
    with session_scope(engine) as s:
        families = sorted(master_repo.products(s)["family"].dropna().unique())
    return ["all", *(f"family:{f}" for f in families), "abc:A", "abc:B", "abc:C"]


def segment_skus(engine: Engine, segment: str, as_of: dt.date | None = None) -> set[str] | None:
    """The SKUs of a segment (None for ``all``).

    Raises:
        KpiError: on a malformed segment.
    """
    if segment == "all":
        return None
    kind, _, code = segment.partition(":")
    if kind == "family" and code:
        with session_scope(engine) as s:
            products = master_repo.products(s)
        return set(products.loc[products["family"] == code, "sku"])
    if kind == "abc" and code in ("A", "B", "C"):
        classes = abc_xyz_classes(engine, as_of)
        return set(classes.loc[classes["abc"] == code, "sku"])
    raise KpiError(f"unknown segment {segment!r}: use all, family:<code> or abc:A|B|C")


def kpi_summary(
    engine: Engine, as_of: dt.date | None = None, *, fill_rate_months: int = 1, segment: str = "all"
) -> pd.DataFrame:
    """The KPIs of a segment with their targets and traffic lights (definitions in the module docstring).

    Args:
        engine: the database.
        as_of: the measurement date (default: the newest inventory snapshot).
        fill_rate_months: months after ``as_of`` over which the projected fill rate is taken [months].
        segment: ``all``, ``family:<code>`` or ``abc:A|B|C``.

    Returns:
        One row per KPI, indexed by its key (see :data:`sop_core.services.kpi_targets.KPI_DEFINITIONS`), with columns ``kpi``
        (label), ``value`` and ``target`` in the display unit (percentages as 0–100, rounded to 0.1,
        counts as integers), ``unit``, ``status`` (green / amber / red / grey), ``gap`` (value −
        target; |value| − target for the bias), ``tolerance`` and ``direction``. ``frame.attrs`` holds ``as_of`` (ISO date),
        ``segment`` and ``accuracy_source``.
    """
    skus = segment_skus(engine, segment, as_of)
    targets = kpi_targets(engine, segment)
    data = load_kpi_data(engine, as_of, 12, fill_rate_months, skus)
    measures = measure_kpis(data, skus, segment, float(targets.loc["otif", "target"]))
    rows = []
    for key, d in KPI_DEFINITIONS.items():
        value = _display(key, measures[key])
        target = float(targets.loc[key, "target"])
        target_shown: float = int(target) if d.unit == "SKUs" and target.is_integer() else target
        direction = str(targets.loc[key, "direction"])
        size = abs(value) if direction == "abs_lower" and not is_missing(value) else value
        gap = float("nan") if is_missing(value) else round(size - target, 0 if d.unit == "SKUs" else 1)
        if d.unit == "SKUs" and not is_missing(gap):
            gap = int(gap)
        status = kpi.traffic_light(None if is_missing(value) else float(value), target, d.tolerance, direction)
        rows.append(
            {
                "key": key,
                "kpi": d.label,
                "value": value,
                "unit": d.unit,
                "target": target_shown,
                "status": status,
                "gap": gap,
                "tolerance": d.tolerance,
                "direction": direction,
            }
        )
    columns = ["key", *SUMMARY_COLUMNS, "tolerance", "direction"]
    frame = pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in columns}).set_index("key")
    frame.attrs.update(
        as_of=pd.Timestamp(measures["as_of"]).date().isoformat(),
        segment=segment,
        accuracy_source=measures["accuracy_source"],
    )
    return frame


def kpi_trends(engine: Engine, segment: str = "all", *, months: int = 12, as_of: dt.date | None = None) -> pd.DataFrame:
    """Monthly history of the KPIs the data allow (estimates as described in the module docstring).

    Args:
        engine: the database.
        segment: ``all``, ``family:<code>`` or ``abc:A|B|C``.
        months: months of history up to the month of ``as_of`` [months].
        as_of: the last day looked at (default: the newest inventory snapshot).

    Returns:
        Long format ``key, kpi, period, value, target`` (display units, period = month start), in the
        order of :data:`KPI_DEFINITIONS`, for
        ``otif``, ``supplier_fill_rate``, ``inventory_turns``, ``days_of_supply`` and, when earlier
        forecast runs score actual months, ``forecast_wmape`` and ``forecast_bias``.
    """
    skus = segment_skus(engine, segment, as_of)
    data = load_kpi_data(engine, as_of, months, 1, skus)
    targets = kpi_targets(engine, segment)
    periods = pd.date_range(
        month_start(data.as_of) - relativedelta(months=months - 1), month_start(data.as_of), freq="MS"
    )
    parts = []
    otif = kpi.monthly_otif(data.receipts)
    if len(otif):
        parts += [
            otif.assign(key="otif", value=100 * otif["otif"]),
            otif.assign(key="supplier_fill_rate", value=100 * otif["fill_rate"]),
        ]
    unit_cost = data.products["unit_cost"].astype(float)
    cogs = (data.sales["quantity"] * data.sales["sku"].map(unit_cost).fillna(0.0)).groupby(data.sales["period"]).sum()
    cogs = cogs.reindex(periods, fill_value=0.0)
    snaps = data.snapshots.assign(value=data.snapshots["on_hand"] * data.snapshots["sku"].map(unit_cost).fillna(0.0))
    if len(snaps) and cogs.sum() > 0:
        by_month = snaps.groupby(snaps["as_of"].dt.to_period("M").dt.to_timestamp())["value"].sum()
        value = by_month.reindex(periods.union(by_month.index)).ffill().bfill().reindex(periods)
        turns = kpi.monthly_turns_and_cover(cogs, value)
        parts += [
            turns.assign(key="inventory_turns", value=turns["inventory_turns"]),
            turns.assign(key="days_of_supply", value=turns["days_of_supply"]),
        ]
    if len(data.scored):
        rows = [
            {
                "period": period,
                "wmape": metrics.wmape(f["y"].to_numpy(float), f["yhat"].to_numpy(float)),
                "bias": metrics.bias(f["y"].to_numpy(float), f["yhat"].to_numpy(float)),
            }
            for period, f in data.scored.groupby("period")
        ]
        acc = pd.DataFrame(rows)
        parts += [
            acc.assign(key="forecast_wmape", value=100 * acc["wmape"]),
            acc.assign(key="forecast_bias", value=100 * acc["bias"]),
        ]
    if not parts:
        return pd.DataFrame(columns=["key", "kpi", "period", "value", "target"])
    out = pd.concat([p[["key", "period", "value"]] for p in parts], ignore_index=True)
    out = out[out["period"].isin(periods)]
    out["value"] = out["value"].astype(float).round(2)
    out.insert(1, "kpi", out["key"].map(lambda k: KPI_DEFINITIONS[k].label))
    out["target"] = out["key"].map(targets["target"]).astype(float)
    order = {key: i for i, key in enumerate(KPI_DEFINITIONS)}
    out = out.assign(_order=out["key"].map(order)).sort_values(["_order", "period"], ignore_index=True)
    return out.drop(columns="_order")


# --------------------------------------------------------------------------- SKU drill-down
@dataclass(frozen=True)
class SkuDetail:
    """What the drill-down of one SKU shows."""

    sku: str
    name: str
    family: str
    history: pd.DataFrame  # period, quantity: monthly sales
    projection: pd.DataFrame  # sop_core.planning.supply_math.projected_inventory columns for the cycle's horizon
    policy: dict[str, Any]  # the SKU's row of the cycle's inventory policy (empty without a cycle)


def sku_detail(engine: Engine, sku: str, cycle_id: int | None = None, *, history_months: int = 24) -> SkuDetail:
    """Sales history, projected inventory and policy numbers (safety stock, reorder point, EOQ) of a SKU, the
    policy being the cycle's (:func:`sop_core.services.inventory_policy.inventory_policy`).

    Args:
        engine: the database.
        sku: the SKU.
        cycle_id: the plan cycle whose forecast drives the projection (default: the newest cycle with a
            forecast); without a forecast the projection is empty.
        history_months: months of sales history shown [months].

    Raises:
        KpiError: when the SKU does not exist.
    """
    with session_scope(engine) as s:
        products = master_repo.products(s).set_index("sku")
        if sku not in products.index:
            raise KpiError(f"unknown SKU {sku!r}")
        as_of = stock_repo.latest_inventory_date(s) or dt.date.today()
        first = month_start(as_of) - relativedelta(months=history_months - 1)
        history = stock_repo.sales(s, first, as_of, sku=sku)
        found = forecast_repo.latest_cycle_with_forecast(s) if cycle_id is None else None
        cycle_id = found[0] if found is not None else cycle_id
    history = history.groupby("period", as_index=False)["quantity"].sum()
    try:
        projection = supply_service.projected_inventory(engine, cycle_id, sku=sku) if cycle_id else pd.DataFrame()
    except supply_service.SupplyDataError:
        projection = pd.DataFrame()
    policy = inventory_policy(engine, cycle_id) if cycle_id else pd.DataFrame(columns=["sku"])
    row = policy[policy["sku"] == sku]
    return SkuDetail(
        sku=sku,
        name=str(products.at[sku, "name"]),
        family=str(products.at[sku, "family"]),
        history=history,
        projection=projection,
        policy=row.iloc[0].to_dict() if len(row) else {},
    )
