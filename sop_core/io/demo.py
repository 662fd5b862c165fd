"""The demo company's data: Halden & Voss Home GmbH, a European maker of kitchen and garden appliances.

Two categories (KITCHEN, GARDEN), eight families, two plants (Ulm, Germany: kitchen; Brno, Czechia: garden),
eight suppliers (the catalogue: :mod:`sop_core.io.demo_company`; the supply side: :mod:`sop_core.io.demo_supply`).
Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed gives identical frames. Periods are
month starts, quantities in units, money in EUR, hours in hours.

The demand model per SKU and month ``t`` (months since :data:`~sop_core.io.demo_company.FIRST_ACTUAL`) is

    mean[t] = level · (1 + growth)^(t/12) · season[family][month] · ramp[t] · decline[t] · (1 + uplift[t])

Fast movers draw ``quantity ~ Poisson(mean · Gamma(k, 1/k))`` (gamma-Poisson, coefficient of variation
``1/sqrt(k)``); the long tail of spare parts draws a demand occurrence ``Bernoulli(p)`` times a lump
``1 + Poisson((size − 1) · Gamma(a, 1/a))`` (lumpy when ``a`` is small), which makes it intermittent in the sense of Syntetos & Boylan (2005): average
demand interval ADI ≥ 1.32 months. Capacity of each resource is sized from the generated load so that the
last twelve months run at 74–82 % of regular hours on average, above 100 % in the seasonal peaks.

Reference: A. A. Syntetos, J. E. Boylan, J. D. Croston (2005), "On the categorization of demand patterns",
Journal of the Operational Research Society 56(5), 495–503.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import numpy as np
import pandas as pd

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.io import demo_supply
from sop_core.io.demo_company import (
    BLACK_FRIDAY,
    CAMPAIGNS,
    FAMILIES,
    FIRST_ACTUAL,
    HISTORY_MONTHS,
    HORIZON_END,
    INVENTORY_AS_OF,
    MONTH_DATES,
    MONTH_OF_YEAR,
    N_MONTHS,
    nice_price,
    product_names,
    resources_at,
    suppliers_at,
)

log = logging.getLogger(__name__)

#: Syntetos–Boylan cut-off of the average demand interval [months].
ADI_CUTOFF = 1.32
#: A SKU whose sales drift away from every forecast: listed by a large retailer from DRIFT_START on, it
#: sells DRIFT_STEP more of its modelled demand each month (+12 %, +24 %, … +60 % in October 2026). The
#: drift is in the sales history only, not in the expected demand that sizes orders and stock, so the
#: forecasts of the demo's past cycles fall short five months in a row: tracking signal +5 (limit ±4).
DRIFT_SKU = "KT-1007"
DRIFT_START = dt.date(2026, 6, 1)
DRIFT_STEP = 0.12


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, size: int | None = None) -> Any:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def _black_friday(year: int) -> dt.date:
    nov1 = dt.date(year, 11, 1)
    first_friday = nov1 + dt.timedelta(days=(4 - nov1.weekday()) % 7)
    return first_friday + dt.timedelta(weeks=3)


# --------------------------------------------------------------------------- generator
def generate(seed: int = 7, scale: int = 1) -> dict[str, pd.DataFrame]:
    """The demo company's input tables.

    Args:
        seed: seed of ``numpy.random.default_rng``; the same seed gives identical frames.
        scale: multiplies the number of SKUs per family (1 → 176 SKUs, 10 → 1,760 SKUs).

    Returns:
        One DataFrame per input table name of :data:`sop_core.db.models.INPUT_TABLES`, with exactly the
        columns of :func:`sop_core.db.repo.input_columns`; dates as ``datetime.date``.
    """
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    rng = np.random.default_rng(seed)

    product, sku_meta = _products(rng, scale)
    n_sku = len(product)
    fam_idx = {f.code: j for j, f in enumerate(FAMILIES)}
    fam_of = np.array([fam_idx[m_["fam"].code] for m_ in sku_meta])
    slow = np.array([m_["slow"] for m_ in sku_meta])
    traded = np.array([m_["traded"] for m_ in sku_meta])
    price = product["unit_price"].to_numpy(float)

    # ---------------------------------------------------------------- demand model (months 0..61)
    t = np.arange(N_MONTHS)
    level = np.zeros(n_sku)  # the intermittent tail draws its demand from p_occ and lump below
    for j, fam in enumerate(FAMILIES):
        sel = (fam_of == j) & ~slow
        if sel.any():
            rel = np.array([sku_meta[i]["rel"] for i in np.flatnonzero(sel)])
            level[sel] = fam.level * rel / rel.mean()
    growth = rng.normal(0.04, 0.06, n_sku)
    season = np.empty((n_sku, 12))
    for j, fam in enumerate(FAMILIES):
        base = np.asarray(fam.season) / np.mean(fam.season)
        sel = np.flatnonzero(fam_of == j)
        jitter = rng.lognormal(0.0, 0.06, (len(sel), 12))
        s = base * jitter
        season[sel] = s / s.mean(axis=1, keepdims=True)
    seas = season[:, MONTH_OF_YEAR - 1]  # n_sku × months

    # lifecycle: launches (history starts later, ramp-up) and phase-outs (decline, then end)
    start = np.zeros(n_sku, dtype=int)
    end = np.full(n_sku, N_MONTHS - 1)
    fast_idx = rng.permutation(np.flatnonzero(~slow))
    n_launch, n_phase = round(0.14 * len(fast_idx)), round(0.09 * len(fast_idx))
    launch, phase = fast_idx[:n_launch], fast_idx[n_launch : n_launch + n_phase]
    start[launch] = rng.integers(6, HISTORY_MONTHS - 2, n_launch)
    # two thirds of the phase-outs have ended within the history, the rest are still declining
    end[phase] = np.where(np.arange(n_phase) % 3 < 2, rng.integers(30, HISTORY_MONTHS - 1, n_phase),
                          rng.integers(HISTORY_MONTHS, HISTORY_MONTHS + 6, n_phase))
    slow_launch = rng.permutation(np.flatnonzero(slow))[: round(0.08 * slow.sum())]
    start[slow_launch] = rng.integers(6, 30, len(slow_launch))
    since = t[None, :] - start[:, None]
    ramp = np.where(since >= 0, 1.0 - np.exp(-(since + 1) / 2.5), 0.0)
    to_end = end[:, None] - t[None, :]
    decline = np.where(to_end >= 9, 1.0, np.clip(0.08 + 0.92 * to_end / 9.0, 0.0, 1.0))
    decline = np.where(to_end < 0, 0.0, decline)
    active = (since >= 0) & (to_end >= 0)
    trend = (1.0 + growth[:, None]) ** (t[None, :] / 12.0)

    # promotions from the event calendar
    event_rows, promo_uplift, discount = _events(rng, product, fam_of, start, end, 2 * scale)
    mean = level[:, None] * trend * seas * ramp * decline * (1.0 + promo_uplift)

    hist = slice(0, HISTORY_MONTHS)
    qty = np.zeros((n_sku, N_MONTHS))
    k = 1.0 / rng.uniform(0.12, 0.32, n_sku) ** 2  # gamma shape: CV 12–32 %
    noise = rng.gamma(k[:, None], 1.0 / k[:, None], (n_sku, N_MONTHS))
    qty_fast = rng.poisson(mean * noise)
    # intermittent tail: occurrence probability and lump size
    p_occ = rng.uniform(0.12, 0.50, n_sku)
    lump = _log_uniform(rng, 1.5, 14.0, n_sku)
    occ_p = np.clip(p_occ[:, None] * np.sqrt(seas) * (1.0 + promo_uplift) * ramp, 0.0, 0.62)
    occurs = rng.random((n_sku, N_MONTHS)) < occ_p
    shape = rng.uniform(0.7, 4.0, n_sku)  # lump sizes: gamma-Poisson, the smaller the shape, the lumpier
    size_noise = rng.gamma(shape[:, None], 1.0 / shape[:, None], (n_sku, N_MONTHS))
    qty_slow = occurs * (1 + rng.poisson(np.maximum(lump[:, None] * trend - 1.0, 0.0) * size_noise))
    qty = np.where(slow[:, None], qty_slow, qty_fast).astype(float)
    qty[~active] = 0.0
    qty = _drift(qty, product["sku"].to_numpy())
    # expected monthly demand (for inventory, orders, budget)
    expected = np.where(slow[:, None], occ_p * lump[:, None] * trend, mean) * active

    # net price: promo months at the campaign discount, otherwise a small channel discount
    chan = rng.uniform(0.0, 0.03, (n_sku, N_MONTHS))
    net = price[:, None] * np.where(discount > 0, 1.0 - discount, 1.0 - chan)
    net = np.round(net, 2)

    ii, tt = np.nonzero(active[:, hist])
    sales_history = pd.DataFrame({
        "sku": product["sku"].to_numpy()[ii],
        "period": np.array(MONTH_DATES, dtype=object)[tt],
        "quantity": qty[ii, tt],
        "net_price": net[ii, tt],
        "promo": (discount[ii, tt] > 0).astype(int),
    })

    # product economics that depend on demand: importance → service target
    annual_value = (qty[:, HISTORY_MONTHS - 12 : HISTORY_MONTHS] * price[:, None]).sum(axis=1)
    order = np.argsort(-annual_value)
    cum = np.cumsum(annual_value[order]) / max(annual_value.sum(), 1.0)
    abc = np.empty(n_sku, dtype="<U1")
    abc[order] = np.where(cum <= 0.8, "A", np.where(cum <= 0.95, "B", "C"))
    target = np.select([abc == "A", abc == "B"], [0.98, 0.95], 0.92) + rng.choice([-0.01, 0.0, 0.01], n_sku)
    product["holding_rate"] = np.round(rng.uniform(0.20, 0.30, n_sku), 3)
    product["order_cost"] = np.round(np.where(traded, rng.uniform(40, 120, n_sku), rng.uniform(150, 500, n_sku)), 0)
    product["service_target"] = np.round(np.clip(target, 0.90, 0.99), 2)

    # ---------------------------------------------------------------- plants, routing, capacity
    routing = demo_supply.routing(rng, product, sku_meta, traded)
    resource = demo_supply.resources(rng, routing, product, qty, resources_at(scale))

    # ---------------------------------------------------------------- suppliers and receipts
    suppliers = suppliers_at(scale)
    supplier = pd.DataFrame({"supplier": list(suppliers), "name": [v[0] for v in suppliers.values()]})
    supplier_item = demo_supply.supplier_items(rng, product, sku_meta, traded, expected)
    receipt = demo_supply.receipts(rng, supplier_item, product, expected, active, suppliers)
    supplier_item = demo_supply.lead_time_std(supplier_item, receipt)

    # ---------------------------------------------------------------- inventory and open orders
    now = HISTORY_MONTHS  # index of CURRENT_CYCLE
    alive = active[:, now - 1]
    recent = qty[:, now - 3 : now].mean(axis=1)
    ahead = expected[:, now : now + 2].mean(axis=1)
    cover = rng.uniform(0.5, 2.5, n_sku)
    v = rng.random(n_sku)
    cover = np.where(v < 0.05, 0.0, np.where(v > 0.92, rng.uniform(4.0, 8.0, n_sku), cover))
    on_hand = np.round(cover * np.maximum(0.5 * recent + 0.5 * ahead, np.where(slow, 2.0, 0.0)))
    inventory = pd.DataFrame({"sku": product["sku"][alive].to_numpy(), "as_of": INVENTORY_AS_OF,
                              "on_hand": on_hand[alive].astype(float)})
    open_order = demo_supply.open_orders(rng, product, receipt, expected, alive, traded)

    budget = _budget(rng, fam_of, qty, net, product["unit_cost"].to_numpy(float))
    event = pd.DataFrame(event_rows)

    frames = {
        "product": product,
        "supplier": supplier,
        "resource": resource,
        "sales_history": sales_history,
        "inventory": inventory,
        "open_order": open_order,
        "supplier_item": supplier_item,
        "receipt": receipt,
        "routing": routing,
        "event": event,
        "budget": budget,
    }
    out: dict[str, pd.DataFrame] = {}
    for table in m.INPUT_TABLES:
        out[table] = frames[table][repo.input_columns(table)].reset_index(drop=True)
    log.info("demo company generated: %s", {k_: len(v_) for k_, v_ in out.items()})
    return out


def _products(rng: np.random.Generator, scale: int) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The products (``sku, name, family, category, unit_price, unit_cost``) family by family, fast movers then
    the long tail, ``scale`` times the family's counts; and per SKU its facts for the demand model: ``sku``,
    ``fam`` (its :class:`~sop_core.io.demo_company.Family`), ``slow`` (long tail), ``traded`` (bought, not
    made), ``rel`` (its demand relative to the family's level: cheaper models sell more) and ``copy`` (0 ..
    scale − 1: the copy of the family's catalogue it belongs to, with its own suppliers and lines)."""
    prod_rows: list[dict[str, Any]] = []
    sku_meta: list[dict[str, Any]] = []
    for fam in FAMILIES:
        number = 1001
        for slow, n in ((False, fam.n_fast * scale), (True, fam.n_slow * scale)):
            if n == 0:
                continue
            names = product_names(rng, fam, n, slow)
            raw_price = np.array([_log_uniform(rng, k.price_lo, k.price_hi) for _, k in names])
            margin = rng.uniform(*fam.margin, n)
            # cheaper models sell more; spread across the range
            rel = (raw_price / np.median(raw_price)) ** -0.8 * rng.lognormal(0.0, 0.45, n)
            traded = np.full(n, True) if slow else rng.random(n) < fam.traded_share
            for i, (name, _kind) in enumerate(names):
                copy = i // (n // scale)  # which copy of the family's catalogue (0 at scale 1)
                sku = f"{fam.prefix}-{number}"
                number += 1
                price = nice_price(float(raw_price[i]))
                cost = round(price * (1.0 - margin[i]), 2)
                prod_rows.append({"sku": sku, "name": name, "family": fam.code, "category": fam.category,
                                  "unit_price": price, "unit_cost": cost})
                sku_meta.append({"sku": sku, "fam": fam, "slow": slow, "traded": bool(traded[i]), "rel": rel[i],
                                 "copy": copy})
    return pd.DataFrame(prod_rows), sku_meta


def _drift(qty: np.ndarray, skus: np.ndarray) -> np.ndarray:
    """``qty`` with the sales of :data:`DRIFT_SKU` from :data:`DRIFT_START` to the last history month
    multiplied by 1 + k · :data:`DRIFT_STEP` (k = 1, 2, … months into the drift), rounded to units.
    Deterministic: it draws no random number, so every other figure of the demo stays as it was."""
    hit = np.flatnonzero(skus == DRIFT_SKU)
    if not len(hit):
        return qty
    t0 = MONTH_DATES.index(DRIFT_START)
    factor = 1.0 + DRIFT_STEP * np.arange(1, HISTORY_MONTHS - t0 + 1)
    out = qty.copy()
    out[hit[0], t0:HISTORY_MONTHS] = np.round(qty[hit[0], t0:HISTORY_MONTHS] * factor)
    return out


def _events(
    rng: np.random.Generator,
    product: pd.DataFrame,
    fam_of: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    flyers_per_month: int,
) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """Event calendar (past and future) and the per SKU × month promo uplift and discount it implies."""
    n_sku = len(product)
    uplift = np.zeros((n_sku, N_MONTHS))
    discount = np.zeros((n_sku, N_MONTHS))
    rows: list[dict[str, Any]] = []
    fam_code = np.array([f.code for f in FAMILIES])[fam_of]
    month_index = {d: i for i, d in enumerate(MONTH_DATES)}

    def apply(mask: np.ndarray, ti: int, pct: float, disc: float) -> None:
        sku_up = pct / 100.0 * rng.uniform(0.6, 1.4, mask.sum())
        uplift[mask, ti] = sku_up
        discount[mask, ti] = np.round(disc * rng.uniform(0.8, 1.2, mask.sum()), 3)

    for year in range(FIRST_ACTUAL.year, HORIZON_END.year + 1):
        for name, month, d0, d1, scope, pct, disc in CAMPAIGNS:
            first = dt.date(year, month, 1)
            if first not in month_index:
                continue
            rows.append({"name": f"{name} {year}", "start": dt.date(year, month, d0),
                         "end": dt.date(year, month, d1), "scope": scope, "uplift_pct": pct})
            apply(fam_code == scope, month_index[first], pct, disc)
        bf = _black_friday(year)
        if bf.replace(day=1) in month_index:
            name, pct, disc = BLACK_FRIDAY
            rows.append({"name": f"{name} {year}", "start": bf, "end": bf + dt.timedelta(days=3),
                         "scope": "*", "uplift_pct": pct})
            apply(np.ones(n_sku, dtype=bool), month_index[bf.replace(day=1)], pct, disc)
    # retailer flyers on single SKUs: about two a month per 176 SKUs
    skus = product["sku"].to_numpy()
    for ti, first in enumerate(MONTH_DATES):
        if first.month == 11:
            continue
        for i in rng.choice(n_sku, size=flyers_per_month, replace=False):
            if not (start[i] <= ti <= end[i]) or discount[i, ti] > 0:
                continue
            pct = float(rng.choice([20.0, 30.0, 40.0, 50.0]))
            day = int(rng.integers(1, 15))
            rows.append({"name": f"Retailer flyer {skus[i]}", "start": first.replace(day=day),
                         "end": first.replace(day=day + 13), "scope": skus[i], "uplift_pct": pct})
            mask = np.zeros(n_sku, dtype=bool)
            mask[i] = True
            apply(mask, ti, pct, 0.12)
    return rows, uplift, discount


def _budget(
    rng: np.random.Generator,
    fam_of: np.ndarray,
    qty: np.ndarray,
    net: np.ndarray,
    unit_cost: np.ndarray,
) -> pd.DataFrame:
    """Budget per family and month of 2026 and 2027: last year's actuals (or plan) × growth, at +2 % price.

    The margin budget is the budget revenue at last year's gross margin rate of the same family and month,
    ``Σ quantity · (net price − unit cost) / Σ quantity · net price`` (costs held flat: the +2 % price
    goes to the margin rate too), rounded to 100 EUR.
    """
    revenue = qty * net
    gross = qty * (net - unit_cost[:, None])
    rows = []
    b_index = {d: i for i, d in enumerate(MONTH_DATES)}
    for j, fam in enumerate(FAMILIES):
        sel = fam_of == j
        growth = rng.uniform(0.03, 0.08)
        vol_plan: dict[dt.date, tuple[float, float, float]] = {}
        for year in (2026, 2027):
            for month in range(1, 13):
                period = dt.date(year, month, 1)
                ref = b_index[dt.date(year - 1, month, 1)]
                if ref < HISTORY_MONTHS:
                    vol = qty[sel, ref].sum()
                    price = revenue[sel, ref].sum() / max(vol, 1.0)
                    unit_margin = gross[sel, ref].sum() / max(vol, 1.0)
                else:  # last year's month not yet closed: plan on last year's budget
                    vol, price, unit_margin = vol_plan[dt.date(year - 1, month, 1)]
                    vol = vol / (1.0 + growth)
                    price = price / 1.02
                    unit_margin = unit_margin - 0.02 * price
                bud_vol = float(np.round(vol * (1.0 + growth) * rng.uniform(0.97, 1.03)))
                bud_price = price * 1.02
                bud_unit_margin = unit_margin + 0.02 * price  # same unit cost, price +2 %
                vol_plan[period] = (bud_vol, bud_price, bud_unit_margin)
                rows.append({"family": fam.code, "period": period, "volume": bud_vol,
                             "revenue": float(np.round(bud_vol * bud_price, -2)),
                             "margin": float(np.round(bud_vol * bud_unit_margin, -2))})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- summary
def intermittent_skus(history: pd.DataFrame) -> list[str]:
    """SKUs whose average demand interval over their active history is ≥ 1.32 months.

    ADI = (months from the SKU's first to its last history row) / (months with quantity > 0)
    (Syntetos, Boylan & Croston 2005). SKUs that never sold count as intermittent.
    """
    h = history.assign(nonzero=history["quantity"] > 0)
    per = h.groupby("sku").agg(months=("period", "size"), nonzero=("nonzero", "sum"))
    adi = per["months"] / per["nonzero"].replace(0, np.nan)
    return sorted(per.index[(adi >= ADI_CUTOFF) | adi.isna()])


def summary(frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Headline counts of a demo data set.

    Returns:
        skus, families, categories, months (of sales history), suppliers, resources, intermittent_share
        (0..1, share of SKUs with ADI ≥ 1.32, three decimals) and annual_revenue (EUR, Σ quantity ×
        net_price over the last 12 history months).
    """
    product = frames["product"]
    hist = frames["sales_history"]
    periods = pd.to_datetime(hist["period"])
    last = periods.max()
    recent = periods > last - pd.DateOffset(months=12)
    revenue = float((hist["quantity"] * hist["net_price"])[recent].sum())
    return {
        "skus": int(product["sku"].nunique()),
        "families": int(product["family"].nunique()),
        "categories": int(product["category"].nunique()),
        "months": int(periods.dt.to_period("M").nunique()),
        "suppliers": int(len(frames["supplier"])),
        "resources": int(len(frames["resource"])),
        "intermittent_share": round(len(intermittent_skus(hist)) / max(product["sku"].nunique(), 1), 3),
        "annual_revenue": round(revenue, 2),
    }
