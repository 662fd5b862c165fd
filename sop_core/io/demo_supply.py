"""The supply side of the demo company drawn from its demand: routings and resource capacities, supplier items
with their lead times, two years of purchase-order receipts with each supplier's lateness and short deliveries,
and the open purchase and production orders at the start of the current cycle.

Each function draws from the generator it is given, in a fixed order, so that a seed gives identical frames.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from sop_core.io.demo_company import (
    ALTERNATE,
    FIRST_ACTUAL,
    HISTORY_MONTHS,
    INVENTORY_AS_OF,
    MONTH_DATES,
    N_MONTHS,
    SUPPLIERS,
    Family,
    nice_qty,
    replica,
)

#: The first order date of the generated receipts (24 months before the current cycle).
_RECEIPT_START = dt.date(2024, 11, 1)


def routing(
    rng: np.random.Generator, product: pd.DataFrame, sku_meta: list[dict[str, Any]], traded: np.ndarray
) -> pd.DataFrame:
    """``sku, resource, hours_per_unit`` of every SKU made in house (not traded): its family's first resource,
    and with the family's probability the second; heavier, pricier models take longer."""
    rows = []
    for i, meta in enumerate(sku_meta):
        fam: Family = meta["fam"]
        if traded[i] or not fam.routing:
            continue
        # heavier, pricier models take longer
        weight = (product["unit_price"].iat[i] / np.median([k.price_hi for k in fam.kinds])) ** 0.25
        routes = [fam.routing[0]]
        if len(fam.routing) > 1 and rng.random() < fam.second_route_p:
            routes.append(fam.routing[1])
        for res, lo, hi in routes:
            hours = float(np.clip(rng.uniform(lo, hi) * weight, lo * 0.7, hi * 1.3))
            rows.append({"sku": meta["sku"], "resource": replica(res, meta["copy"]), "hours_per_unit": round(hours, 3)})
    return pd.DataFrame(rows, columns=["sku", "resource", "hours_per_unit"])


def resources(
    rng: np.random.Generator,
    routing: pd.DataFrame,
    product: pd.DataFrame,
    qty: np.ndarray,
    lines: dict[str, tuple[str, str, float]],
) -> pd.DataFrame:
    """The resources ``lines`` (code → name, plant, overtime cost [EUR/h]) with their regular capacity sized so
    the last 12 months of history run at 74–82 % of it on average."""
    pos = pd.Series(np.arange(len(product)), index=product["sku"])
    rows = []
    for res, (name, plant, ot_cost) in lines.items():
        r = routing[routing["resource"] == res]
        idx = pos[r["sku"]].to_numpy()
        load = (qty[idx, HISTORY_MONTHS - 12 : HISTORY_MONTHS] * r["hours_per_unit"].to_numpy()[:, None]).sum(0)
        util = rng.uniform(0.74, 0.82)
        cap = float(np.round(max(load.mean(), 1.0) / util, -1))
        rows.append({"resource": res, "name": name, "plant": plant, "capacity_hours": cap,
                     "overtime_hours": float(np.round(cap * rng.uniform(0.12, 0.20), -1)),
                     "overtime_cost_per_hour": ot_cost})
    return pd.DataFrame(rows)


def supplier_items(
    rng: np.random.Generator,
    product: pd.DataFrame,
    sku_meta: list[dict[str, Any]],
    traded: np.ndarray,
    expected: np.ndarray,
) -> pd.DataFrame:
    """The supplier items of every traded SKU: a preferred supplier (priority 1) from its family's pool and, for
    about 30 %, an alternate (priority 2); lead times [days] around the supplier's, MOQs [units] from demand."""
    rows = []
    monthly = expected[:, HISTORY_MONTHS - 12 : HISTORY_MONTHS + 12].mean(axis=1)
    for i, meta in enumerate(sku_meta):
        if not traded[i]:
            continue
        fam: Family = meta["fam"]
        pool = fam.slow_suppliers if meta["slow"] else fam.suppliers
        pref = pool[int(rng.integers(len(pool)))]
        base_cost = product["unit_cost"].iat[i]
        moq = nice_qty(max(5.0, monthly[i] * rng.uniform(0.3, 1.0)))
        lead = SUPPLIERS[pref][1] + int(rng.integers(-5, 11))
        rows.append({"supplier": replica(pref, meta["copy"]), "sku": meta["sku"], "lead_time_days": float(lead),
                     "moq": moq, "unit_cost": base_cost, "priority": 1})
        if rng.random() < 0.3:
            alt = ALTERNATE[pref]
            alt_lead = SUPPLIERS[alt][1] + int(rng.integers(-5, 11))
            alt_lead += 3 if alt_lead == lead else 0
            rows.append({"supplier": replica(alt, meta["copy"]), "sku": meta["sku"], "lead_time_days": float(alt_lead),
                         "moq": nice_qty(moq * rng.uniform(0.5, 2.0)),
                         "unit_cost": round(base_cost * rng.choice([-1, 1]) * rng.uniform(0.03, 0.12) + base_cost, 2),
                         "priority": 2})
    frame = pd.DataFrame(rows)
    frame["lead_time_std_days"] = 0.0
    return frame


def receipts(
    rng: np.random.Generator,
    items: pd.DataFrame,
    product: pd.DataFrame,
    expected: np.ndarray,
    active: np.ndarray,
    suppliers: dict[str, tuple[str, int, float, float, float]],
) -> pd.DataFrame:
    """Purchase order lines of the last 24 months with supplier-specific lateness and short deliveries (the
    terms of ``suppliers``, as :data:`~sop_core.io.demo_company.SUPPLIERS`)."""
    pos = {s: i for i, s in enumerate(product["sku"])}
    first_t = MONTH_DATES.index(_RECEIPT_START)
    # per SKU (in order of first appearance) its items as (supplier, moq, lead time) by priority
    by_sku: dict[str, list[tuple[int, str, float, float]]] = {}
    for sup, sku, moq_, lead_, prio in zip(items["supplier"], items["sku"], items["moq"], items["lead_time_days"],
                                          items["priority"], strict=True):
        by_sku.setdefault(sku, []).append((int(prio), sup, float(moq_), float(lead_)))
    rows = []
    for sku, entries in by_sku.items():
        i = pos[sku]
        grp = [e[1:] for e in sorted(entries, key=lambda e: e[0])]
        monthly = expected[i, first_t:HISTORY_MONTHS].mean()
        moq = grp[0][1]
        # order cycle: fast movers every two weeks, slow ones every 1–3 months
        interval = 14 if monthly * 0.5 >= moq else int(np.clip(30 * moq / max(monthly, 0.1), 28, 90))
        day = _RECEIPT_START + dt.timedelta(days=int(rng.integers(0, interval)))
        while day <= INVENTORY_AS_OF:
            ti = (day.year - FIRST_ACTUAL.year) * 12 + day.month - FIRST_ACTUAL.month
            if active[i, ti] or active[i, min(ti + 2, N_MONTHS - 1)]:
                alt = len(grp) > 1 and rng.random() < 0.2
                sup, item_moq, item_lead = grp[1 if alt else 0]
                _, _, p_on, late_mean, p_short = suppliers[sup]
                need = expected[i, ti : ti + 3].mean() * interval / 30.4 * rng.uniform(0.8, 1.25)
                q = max(item_moq, nice_qty(need))
                promised = day + dt.timedelta(days=int(item_lead))
                if rng.random() < p_on:
                    delay = -int(rng.integers(0, 4))
                else:
                    delay = 1 + int(min(rng.exponential(late_mean), 3 * late_mean))
                arrived = promised + dt.timedelta(days=delay)
                got = q if rng.random() >= p_short else float(np.floor(q * rng.uniform(0.7, 0.97)))
                received: dt.date | None = arrived
                if arrived > INVENTORY_AS_OF:
                    received, got = None, 0.0
                rows.append({"supplier": sup, "sku": sku, "order_date": day, "promised_date": promised,
                             "received_date": received, "qty_ordered": q, "qty_received": got})
            day += dt.timedelta(days=interval + int(rng.integers(-3, 4)))
    frame = pd.DataFrame(rows)
    return frame.drop_duplicates(["supplier", "sku", "order_date"]).reset_index(drop=True)


def lead_time_std(items: pd.DataFrame, receipt: pd.DataFrame) -> pd.DataFrame:
    """Standard deviation of the realised lead time [days] per supplier item (supplier-wide when few)."""
    done = receipt.dropna(subset=["received_date"])
    lt = (pd.to_datetime(done["received_date"]) - pd.to_datetime(done["order_date"])).dt.days
    per_item = lt.groupby([done["supplier"], done["sku"]]).agg(["std", "count"])
    per_sup = lt.groupby(done["supplier"]).std()
    std = []
    for sup, sku in zip(items["supplier"], items["sku"], strict=True):
        if (sup, sku) in per_item.index and per_item.loc[(sup, sku), "count"] >= 5:
            std.append(per_item.loc[(sup, sku), "std"])
        else:
            std.append(per_sup.get(sup, 3.0))
    out = items.copy()
    out["lead_time_std_days"] = np.round(np.nan_to_num(np.array(std, dtype=float), nan=3.0), 1)
    return out


def open_orders(
    rng: np.random.Generator,
    product: pd.DataFrame,
    receipt: pd.DataFrame,
    expected: np.ndarray,
    alive: np.ndarray,
    traded: np.ndarray,
) -> pd.DataFrame:
    """Open purchase orders (the receipts still open) and firm production orders for the next 3 months."""
    now = HISTORY_MONTHS
    first, last = pd.Timestamp(MONTH_DATES[now]), pd.Timestamp(MONTH_DATES[now + 2])
    open_po = receipt[receipt["received_date"].isna()].copy()
    due = pd.to_datetime(open_po["promised_date"]).dt.to_period("M").dt.to_timestamp()
    open_po["due_period"] = due.clip(first, last).dt.date
    po = (open_po.groupby(["sku", "due_period", "supplier"], as_index=False)["qty_ordered"].sum()
          .rename(columns={"qty_ordered": "quantity"}))
    po["source"] = "purchase"
    rows = []
    for i in np.flatnonzero(alive & ~traded):
        for h, p in ((0, 0.85), (1, 0.55), (2, 0.2)):
            if rng.random() < p:
                q = nice_qty(expected[i, now + h] * rng.uniform(0.3, 0.9))
                rows.append({"sku": product["sku"].iat[i], "due_period": MONTH_DATES[now + h],
                             "quantity": q, "source": "production", "supplier": ""})
    frame = pd.concat([po, pd.DataFrame(rows)], ignore_index=True)
    return frame.sort_values(["due_period", "source", "sku", "supplier"]).reset_index(drop=True)
