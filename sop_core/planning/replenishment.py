"""Replenishment proposals: the orders of the items projected below their reorder point, with a sourcing alternative.

No database, no user interface: a function of the projected inventory, the item policy and the supplier items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PROPOSAL_COLUMNS = [
    "sku", "trigger_period", "projected_closing", "reorder_point", "quantity", "supplier", "order_date",
    "due_date", "lead_time_days", "unit_cost", "order_value", "supplier_otif", "stockout_period", "arrives_late",
    "alternate_supplier", "alternate_otif", "alternate_lead_time_days", "lead_time_diff_days", "unit_cost_diff",
    "cost_diff", "switch_recommended", "reason",
]  # fmt: skip


def _round_up(qty: float, moq: float) -> float:
    return float(max(np.ceil(qty - 1e-9), moq if moq > 0 else 0.0))


def replenishment_proposals(
    projection: pd.DataFrame,
    items: pd.DataFrame,
    sources: pd.DataFrame,
    *,
    as_of: pd.Timestamp | str,
    otif_target: float = 0.90,
    in_full_target: float = 0.95,
    in_house_lead_time_days: float = 30.0,
) -> pd.DataFrame:
    """Proposed orders for items projected below their reorder point, with a sourcing alternative.

    Rule (reorder-point system, Silver, Pyke & Thomas, 4th ed., §6.2, on the projected available
    balance of MRP, Vollmann et al., ch. 7): the *trigger* is the first period whose projected
    closing stock (on hand + open orders − demand, no new orders) is below the reorder point ROP.
    The order is placed at the start of that period (not before ``as_of``) and is due one lead
    time later; quantity Q = max(order quantity, ROP + d̄ − closing) rounded up to whole units and
    to the supplier's MOQ. ``arrives_late`` when the due date falls after the start of the first
    projected stock-out period.

    Sourcing: the preferred supplier is priority 1. When its OTIF is below ``otif_target``, its
    in-full rate below ``in_full_target`` (it delivers short) or the order arrives late, the best
    alternate (lowest priority number > 1, then highest OTIF) is shown with its lead-time and cost
    difference; switching is recommended when the alternate's OTIF is higher and, for a late
    order, it arrives sooner.

    Args:
        projection: :func:`sop_core.planning.supply_math.projected_inventory` rows (``sku, period, closing,
            shortage, demand``).
        items: one row per ``sku`` with ``reorder_point`` [units], ``order_qty`` Q [units/order]
            and ``demand_mean`` d̄ [units/period].
        sources: supplier items ``sku, supplier, priority, lead_time_days`` [days], ``unit_cost``
            [currency/unit], ``moq`` [units], ``otif`` and ``in_full`` [share, NaN when unmeasured].
            Items without a source are made in house (supplier "in-house").
        as_of: planning date; no order is dated before it.
        otif_target: OTIF below which a supplier is unreliable [share].
        in_full_target: in-full rate below which a supplier delivers short [share].
        in_house_lead_time_days: lead time of in-house production [days].

    Returns:
        One row per proposed order (:data:`PROPOSAL_COLUMNS`), most urgent first.
    """
    today = pd.Timestamp(as_of)
    if projection.empty or items.empty:
        return pd.DataFrame(columns=PROPOSAL_COLUMNS)
    rop = items.set_index("sku")
    proj = projection.assign(period=pd.to_datetime(projection["period"]))
    proj = proj[proj["sku"].isin(rop.index)].sort_values(["sku", "period"])
    proj["rop"] = proj["sku"].map(rop["reorder_point"]).astype(float)
    below = proj[proj["closing"] < proj["rop"]].groupby("sku", sort=False).head(1)
    short = proj[(proj["shortage"] > 0) | ((proj["closing"] <= 0) & (proj["demand"] > 0))]
    first_short = short.groupby("sku")["period"].min().to_dict()
    src = sources.sort_values(["sku", "priority", "supplier"])
    records = src.to_dict("records")
    starts = {sku: (int(i[0]), int(i[-1]) + 1) for sku, i in src.reset_index(drop=True).groupby("sku").indices.items()}
    rows = []
    for sku, period, closing, trig_rop in zip(below["sku"], below["period"], below["closing"], below["rop"], strict=True):
        start, end = starts.get(sku, (0, 0))
        options = records[start:end]  # the item's sources by priority, then supplier
        pref = options[0] if options else None
        lead = float(pref["lead_time_days"]) if pref is not None else in_house_lead_time_days
        moq = float(pref["moq"]) if pref is not None else 0.0
        need = float(trig_rop) + float(rop.at[sku, "demand_mean"]) - float(closing)
        base_q = float(np.nan_to_num(rop.at[sku, "order_qty"]))
        qty = _round_up(max(base_q, need), moq)
        order_date = max(today, period)
        due = order_date + pd.Timedelta(days=round(lead))
        stockout = first_short.get(sku, pd.NaT)
        late = bool(pd.notna(stockout) and due > stockout)
        cost = float(pref["unit_cost"]) if pref is not None else np.nan
        otif = float(pref["otif"]) if pref is not None else np.nan
        in_full = float(pref["in_full"]) if pref is not None else np.nan
        reasons = []
        if pref is not None and pd.notna(otif) and otif < otif_target:
            reasons.append(f"OTIF {100 * otif:.0f} % < {100 * otif_target:.0f} %")
        if pref is not None and pd.notna(in_full) and in_full < in_full_target:
            reasons.append(f"in full {100 * in_full:.0f} % < {100 * in_full_target:.0f} %")
        if late:
            reasons.append("arrives after the projected stock-out")
        row = {
            "sku": sku, "trigger_period": period, "projected_closing": float(closing),
            "reorder_point": float(trig_rop), "quantity": qty,
            "supplier": pref["supplier"] if pref is not None else "in-house", "order_date": order_date,
            "due_date": due, "lead_time_days": lead, "unit_cost": cost, "order_value": qty * cost,
            "supplier_otif": otif, "stockout_period": stockout, "arrives_late": late,
            "alternate_supplier": None, "alternate_otif": np.nan, "alternate_lead_time_days": np.nan,
            "lead_time_diff_days": np.nan, "unit_cost_diff": np.nan, "cost_diff": np.nan,
            "switch_recommended": False, "reason": "; ".join(reasons),
        }  # fmt: skip
        # the best alternate: the lowest priority number, then the highest OTIF (unmeasured last), then supplier
        alternates = sorted(options[1:], key=lambda o: (o["priority"], pd.isna(o["otif"]),
                                                         -o["otif"] if pd.notna(o["otif"]) else 0.0))
        if reasons and alternates:
            alt = alternates[0]
            alt_qty = _round_up(max(base_q, need), float(alt["moq"]))
            alt_lead = float(alt["lead_time_days"])
            alt_otif = float(alt["otif"])
            better = pd.isna(otif) or (pd.notna(alt_otif) and alt_otif > otif)
            sooner = alt_lead < lead
            row |= {
                "alternate_supplier": alt["supplier"], "alternate_otif": alt_otif,
                "alternate_lead_time_days": alt_lead, "lead_time_diff_days": alt_lead - lead,
                "unit_cost_diff": float(alt["unit_cost"]) - cost,
                "cost_diff": alt_qty * float(alt["unit_cost"]) - qty * cost,
                "switch_recommended": bool(better and (sooner or not late)),
            }  # fmt: skip
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=PROPOSAL_COLUMNS)
    out = pd.DataFrame(rows)[PROPOSAL_COLUMNS]
    return out.sort_values(["order_date", "arrives_late", "sku"], ascending=[True, False, True], ignore_index=True)
