"""The demo company: Halden & Voss Home GmbH, a European maker of kitchen and garden appliances.

Two categories (KITCHEN, GARDEN), eight families, two plants (Ulm, Germany: kitchen; Brno, Czechia: garden),
eight suppliers. Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed gives identical
frames. Periods are month starts, quantities in units, money in EUR, hours in hours.

The demand model per SKU and month ``t`` (months since :data:`FIRST_ACTUAL`) is

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
import itertools
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sop_core.db import models as m
from sop_core.db import repo

log = logging.getLogger(__name__)

COMPANY = "Halden & Voss Home GmbH"
CURRENT_CYCLE = dt.date(2026, 11, 1)
LAST_ACTUAL = dt.date(2026, 10, 1)
FIRST_ACTUAL = dt.date(2022, 11, 1)
INVENTORY_AS_OF = dt.date(2026, 10, 31)
#: Last month covered by the event calendar, the budget and the internal demand model.
HORIZON_END = dt.date(2027, 12, 1)
#: Months of sales history (FIRST_ACTUAL .. LAST_ACTUAL).
HISTORY_MONTHS = 48
#: Syntetos–Boylan cut-off of the average demand interval [months].
ADI_CUTOFF = 1.32
#: A SKU whose sales drift away from every forecast: listed by a large retailer from DRIFT_START on, it
#: sells DRIFT_STEP more of its modelled demand each month (+12 %, +24 %, … +60 % in October 2026). The
#: drift is in the sales history only, not in the expected demand that sizes orders and stock, so the
#: forecasts of the demo's past cycles fall short five months in a row: tracking signal +5 (limit ±4).
DRIFT_SKU = "KT-1007"
DRIFT_START = dt.date(2026, 6, 1)
DRIFT_STEP = 0.12

_MONTHS = pd.date_range(FIRST_ACTUAL, HORIZON_END, freq="MS")
_N_MONTHS = len(_MONTHS)  # 62
_MONTH_DATES = [ts.date() for ts in _MONTHS]
_MOY = np.array([ts.month for ts in _MONTHS])
_RECEIPT_START = dt.date(2024, 11, 1)


# --------------------------------------------------------------------------- company definition
@dataclass(frozen=True)
class _Kind:
    """A product kind inside a family: its name and price range [EUR/unit]."""

    name: str
    price_lo: float
    price_hi: float


@dataclass(frozen=True)
class _Family:
    code: str
    category: str
    prefix: str
    n_fast: int
    n_slow: int  # intermittent long tail (spare parts)
    level: float  # mean units per month of a fast mover at the start of history
    margin: tuple[float, float]  # gross margin range, share of unit price
    season: tuple[float, ...]  # Jan..Dec index of the base demand (normalised to mean 1)
    kinds: tuple[_Kind, ...]
    series: tuple[str, ...]
    variants: tuple[str, ...]
    traded_share: float  # share of fast movers bought from suppliers rather than made
    routing: tuple[tuple[str, float, float], ...]  # (resource, hours lo, hours hi); first is mandatory
    second_route_p: float
    suppliers: tuple[str, ...]
    slow_kinds: tuple[_Kind, ...] = ()
    slow_series: tuple[str, ...] = ()
    slow_suppliers: tuple[str, ...] = ()  # suppliers of the spare parts


_KITCHEN_SERIES = ("Barista", "Crema", "Aroma", "Milano", "Nova", "Pulse", "Vortex", "Loft", "Nordic", "Retro")
_GARDEN_SERIES = ("GreenLine", "TerraCut", "Meadow", "Fairway", "Ember", "Flame", "Patio", "Smokehouse")
_COLOURS = ("Black", "Silver", "White", "Red", "Inox", "Sage", "Cream", "Anthracite")

FAMILIES: tuple[_Family, ...] = (
    _Family(
        "COFFEE", "KITCHEN", "CF", 22, 0, 300, (0.35, 0.50),
        (0.85, 0.80, 0.85, 0.85, 0.85, 0.80, 0.80, 0.85, 0.95, 1.05, 1.45, 1.80),
        (_Kind("Espresso Machine", 150, 550), _Kind("Bean-to-Cup Machine", 400, 1300),
         _Kind("Filter Coffee Maker", 50, 140), _Kind("Capsule Machine", 70, 160)),
        ("Barista 300", "Barista Pro", "Crema One", "Crema Duo", "Aroma Touch", "Milano S", "Milano Plus", "Doppio"),
        _COLOURS, 0.0, (("ULM-ESP", 0.7, 1.3), ("ULM-MLD", 0.08, 0.20)), 0.6, ("BRIGHTWAY", "RHEINWERK"),
    ),
    _Family(
        "BLENDERS", "KITCHEN", "BL", 20, 0, 380, (0.30, 0.45),
        (1.45, 1.05, 0.95, 0.90, 1.00, 1.10, 1.10, 0.90, 0.85, 0.85, 0.95, 1.20),
        (_Kind("Stand Blender 1.5 l", 60, 220), _Kind("High-Speed Blender", 180, 450),
         _Kind("Hand Blender", 30, 90), _Kind("Food Processor", 90, 350)),
        ("Nova", "Pulse", "Vortex", "Fresco", "Optima", "Vita"),
        _COLOURS, 0.1, (("ULM-SMA", 0.25, 0.45), ("ULM-MLD", 0.06, 0.15)), 0.5, ("BRIGHTWAY", "ORIENT"),
    ),
    _Family(
        "KETTLES", "KITCHEN", "KT", 20, 0, 600, (0.22, 0.35),
        (1.00, 0.90, 0.90, 0.85, 0.85, 0.80, 0.80, 0.90, 1.00, 1.05, 1.35, 1.80),
        (_Kind("Electric Kettle 1.7 l", 25, 90), _Kind("Variable-Temperature Kettle", 60, 130),
         _Kind("2-Slice Toaster", 30, 90), _Kind("4-Slice Toaster", 50, 140)),
        ("Classic", "Retro", "Loft", "Nordic", "Studio", "Aurora"),
        _COLOURS, 0.3, (("ULM-SMA", 0.12, 0.22),), 0.0, ("BRIGHTWAY", "ORIENT"),
    ),
    _Family(
        "KITCHEN_ACC", "KITCHEN", "KA", 8, 22, 3000, (0.45, 0.60),
        (1.05, 0.95, 1.00, 0.95, 0.95, 0.90, 0.90, 0.95, 1.00, 1.05, 1.10, 1.20),
        (_Kind("Descaler 500 ml", 9, 14), _Kind("Water Filter Cartridge", 10, 18),
         _Kind("Cleaning Tablets 10-pack", 8, 13), _Kind("Milk Jug 600 ml", 18, 30),
         _Kind("Espresso Cups, set of 2", 14, 25)),
        ("Universal",), ("", ), 1.0, (), 0.0, ("MORAVIA", "RHEINWERK"),
        (_Kind("Brew Unit", 40, 90), _Kind("Grinder Burr Set", 25, 50), _Kind("Drip Tray", 12, 25),
         _Kind("Water Tank", 15, 35), _Kind("Gasket Set", 5, 12), _Kind("Steam Wand", 18, 40),
         _Kind("Blade Assembly", 15, 35), _Kind("Kettle Lid", 6, 14), _Kind("Crumb Tray", 5, 10),
         _Kind("Drive Coupling", 8, 16)),
        _KITCHEN_SERIES, ("SAIGONPC", "BRIGHTWAY"),
    ),
    _Family(
        "MOWERS", "GARDEN", "MW", 22, 0, 190, (0.30, 0.45),
        (0.45, 0.55, 1.05, 1.55, 1.75, 1.55, 1.20, 0.95, 0.80, 0.70, 0.55, 0.60),
        (_Kind("Petrol Lawn Mower 46 cm", 300, 600), _Kind("Cordless Lawn Mower 36 V", 250, 550),
         _Kind("Electric Lawn Mower 38 cm", 120, 250), _Kind("Robotic Mower", 800, 1900)),
        ("GreenLine", "TerraCut", "Meadow", "Fairway", "ProCut"),
        ("S", "M", "L", "XL", "Plus", "Pro"),
        0.1, (("BRN-MOW", 1.0, 2.2), ("BRN-MET", 0.25, 0.55)), 0.7, ("ORIENT", "POLMET"),
    ),
    _Family(
        "TRIMMERS", "GARDEN", "TR", 18, 0, 300, (0.30, 0.45),
        (0.50, 0.55, 0.85, 1.35, 1.60, 1.60, 1.45, 1.15, 0.90, 0.70, 0.55, 0.60),
        (_Kind("Cordless Grass Trimmer 18 V", 60, 140), _Kind("Petrol Brushcutter", 180, 400),
         _Kind("Hedge Trimmer", 80, 220), _Kind("Leaf Blower", 70, 200), _Kind("Chainsaw 35 cm", 150, 350)),
        ("GreenLine", "TerraCut", "Meadow", "ProCut"),
        ("Standard", "Plus", "Pro", "Compact", "Max"),
        0.2, (("BRN-TRM", 0.35, 0.75),), 0.0, ("BRIGHTWAY", "SAIGONPC"),
    ),
    _Family(
        "GRILLS", "GARDEN", "GR", 16, 0, 150, (0.28, 0.42),
        (0.45, 0.50, 0.70, 1.20, 1.65, 1.75, 1.65, 1.25, 0.80, 0.60, 0.50, 0.55),
        (_Kind("Gas Grill 3-Burner", 350, 800), _Kind("Gas Grill 4-Burner", 500, 1100),
         _Kind("Charcoal Kettle Grill 57 cm", 120, 280), _Kind("Electric Grill", 120, 260),
         _Kind("Pellet Smoker", 600, 1200), _Kind("Portable Gas Grill", 150, 300)),
        ("Ember", "Flame", "Smokehouse", "Patio", "Glut"),
        ("Black", "Stainless", "Graphite", "Bronze"),
        0.5, (("BRN-MET", 0.9, 1.8),), 0.0, ("ANATOLIA", "ORIENT"),
    ),
    _Family(
        "GARDEN_PARTS", "GARDEN", "GP", 6, 22, 3200, (0.45, 0.60),
        (0.40, 0.50, 0.90, 1.50, 1.70, 1.60, 1.40, 1.10, 0.90, 0.60, 0.40, 0.40),
        (_Kind("Trimmer Line Spool 2.0 mm", 6, 12), _Kind("Mower Blade 46 cm", 15, 30),
         _Kind("Grill Cover", 25, 50), _Kind("Grill Cleaning Brush", 8, 15), _Kind("Saw Chain 35 cm", 15, 25),
         _Kind("Spark Plug", 4, 8)),
        ("Universal",), ("",), 1.0, (), 0.0, ("BRESCIA", "RHEINWERK", "ORIENT"),
        (_Kind("Drive Belt", 12, 25), _Kind("Grass Box 55 l", 30, 60), _Kind("Rear Wheel 200 mm", 10, 20),
         _Kind("Starter Cord", 5, 10), _Kind("Battery Pack 36 V 4 Ah", 120, 220), _Kind("Charger 36 V", 40, 80),
         _Kind("Burner Tube", 15, 30), _Kind("Ignition Module", 20, 40), _Kind("Cooking Grate", 35, 70),
         _Kind("Boundary Wire 150 m", 40, 70)),
        _GARDEN_SERIES, ("POLMET", "SAIGONPC"),
    ),
)

#: supplier code → (name, base lead time [days], on-time probability, mean days late when late [days],
#: probability of a short delivery)
SUPPLIERS: dict[str, tuple[str, int, float, float, float]] = {
    "BRIGHTWAY": ("Shenzhen Brightway Electrical Co., Ltd.", 80, 0.66, 12.0, 0.15),
    "ORIENT": ("Ningbo Orient Housewares Ltd.", 70, 0.88, 7.0, 0.06),
    "SAIGONPC": ("Saigon Precision Components JSC", 75, 0.72, 10.0, 0.12),
    "POLMET": ("Polmet Kraków Sp. z o.o.", 28, 0.95, 4.0, 0.03),
    "BRESCIA": ("Lame Brescia S.r.l.", 30, 0.96, 3.0, 0.02),
    "ANATOLIA": ("Anatolia Döküm ve Metal A.Ş.", 42, 0.85, 6.0, 0.05),
    "RHEINWERK": ("Rheinwerk Kunststofftechnik GmbH", 18, 0.97, 3.0, 0.02),
    "MORAVIA": ("Moravia Filtry s.r.o.", 14, 0.94, 3.0, 0.04),
}
#: Alternate (priority 2) supplier per preferred supplier.
_ALTERNATE = {
    "BRIGHTWAY": "SAIGONPC", "ORIENT": "BRIGHTWAY", "SAIGONPC": "ORIENT", "POLMET": "ANATOLIA",
    "BRESCIA": "POLMET", "ANATOLIA": "POLMET", "RHEINWERK": "MORAVIA", "MORAVIA": "RHEINWERK",
}

#: resource → (name, plant, overtime cost [EUR/hour])
RESOURCES: dict[str, tuple[str, str, float]] = {
    "ULM-ESP": ("Ulm espresso assembly line", "Ulm", 58.0),
    "ULM-SMA": ("Ulm small appliance assembly line", "Ulm", 52.0),
    "ULM-MLD": ("Ulm injection moulding cell", "Ulm", 61.0),
    "BRN-MOW": ("Brno mower assembly line", "Brno", 41.0),
    "BRN-TRM": ("Brno trimmer & power tool line", "Brno", 39.0),
    "BRN-MET": ("Brno metal press & powder coating", "Brno", 44.0),
}

#: Recurring campaigns: (name, month, first day, last day, scope, uplift %, discount share)
_CAMPAIGNS: tuple[tuple[str, int, int, int, str, float, float], ...] = (
    ("Healthy Start Blender Weeks", 1, 5, 31, "BLENDERS", 30.0, 0.15),
    ("Spring Garden Campaign", 4, 1, 30, "MOWERS", 25.0, 0.12),
    ("Trimmer Trade-in Days", 5, 2, 31, "TRIMMERS", 20.0, 0.10),
    ("Summer BBQ Season Opener", 6, 1, 30, "GRILLS", 25.0, 0.15),
    ("Coffee Week", 9, 23, 30, "COFFEE", 20.0, 0.10),
    ("Christmas Gifting", 12, 1, 24, "KETTLES", 25.0, 0.15),
)
_BLACK_FRIDAY = ("Black Friday & Cyber Monday", 30.0, 0.20)


# --------------------------------------------------------------------------- helpers
def _log_uniform(rng: np.random.Generator, lo: float, hi: float, size: int | None = None) -> Any:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def _nice_price(x: float) -> float:
    """Round a price to a retail price point (…,99 or …,49 for cheap items)."""
    if x < 20:
        return round(np.floor(x) + 0.49, 2) if x - np.floor(x) < 0.5 else round(np.floor(x) + 0.99, 2)
    if x < 100:
        return float(np.floor(x)) + 0.99
    return float(np.round(x / 10.0) * 10.0 - 0.01)


def _nice_qty(x: float) -> float:
    """Round a lot size up to 1, 5, 10, 50 or 100 units depending on its size."""
    for limit, step in ((10, 1), (100, 5), (500, 10), (5000, 50)):
        if x <= limit:
            return float(max(step, np.ceil(x / step) * step))
    return float(np.ceil(x / 100) * 100)


def _black_friday(year: int) -> dt.date:
    nov1 = dt.date(year, 11, 1)
    first_friday = nov1 + dt.timedelta(days=(4 - nov1.weekday()) % 7)
    return first_friday + dt.timedelta(weeks=3)


def _names(rng: np.random.Generator, fam: _Family, n: int, slow: bool) -> list[tuple[str, _Kind]]:
    """``n`` distinct product names with their kind."""
    if slow:
        combos = [(f"{k.name} for {s}", k) for k, s in itertools.product(fam.slow_kinds, fam.slow_series)]
    elif fam.series == ("Universal",):
        combos = [(k.name, k) for k in fam.kinds]
        combos += [(f"{k.name}, {size}", k) for size in ("multipack", "value pack", "pro pack") for k in fam.kinds]
    else:
        combos = [
            (f"{s} {k.name}, {v}", k) for s, k, v in itertools.product(fam.series, fam.kinds, fam.variants)
        ]
    order = rng.permutation(len(combos))
    picked = [combos[i] for i in order[: min(n, len(combos))]]
    edition = 2
    while len(picked) < n:  # large scales: further editions of the same range
        picked += [(f"{name} (Gen {edition})", k) for name, k in (combos[i] for i in order[: n - len(picked)])]
        edition += 1
    return picked


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

    # ---------------------------------------------------------------- products
    prod_rows: list[dict[str, Any]] = []
    sku_meta: list[dict[str, Any]] = []
    for fam in FAMILIES:
        number = 1001
        for slow, n in ((False, fam.n_fast * scale), (True, fam.n_slow * scale)):
            if n == 0:
                continue
            names = _names(rng, fam, n, slow)
            raw_price = np.array([_log_uniform(rng, k.price_lo, k.price_hi) for _, k in names])
            margin = rng.uniform(*fam.margin, n)
            # cheaper models sell more; spread across the range
            rel = (raw_price / np.median(raw_price)) ** -0.8 * rng.lognormal(0.0, 0.45, n)
            traded = np.full(n, True) if slow else rng.random(n) < fam.traded_share
            for i, (name, _kind) in enumerate(names):
                sku = f"{fam.prefix}-{number}"
                number += 1
                price = _nice_price(float(raw_price[i]))
                cost = round(price * (1.0 - margin[i]), 2)
                prod_rows.append({"sku": sku, "name": name, "family": fam.code, "category": fam.category,
                                  "unit_price": price, "unit_cost": cost})
                sku_meta.append({"sku": sku, "fam": fam, "slow": slow, "traded": bool(traded[i]), "rel": rel[i]})
    product = pd.DataFrame(prod_rows)
    n_sku = len(product)
    fam_idx = {f.code: j for j, f in enumerate(FAMILIES)}
    fam_of = np.array([fam_idx[m_["fam"].code] for m_ in sku_meta])
    slow = np.array([m_["slow"] for m_ in sku_meta])
    traded = np.array([m_["traded"] for m_ in sku_meta])
    price = product["unit_price"].to_numpy(float)

    # ---------------------------------------------------------------- demand model (months 0..61)
    t = np.arange(_N_MONTHS)
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
    seas = season[:, _MOY - 1]  # n_sku × months

    # lifecycle: launches (history starts later, ramp-up) and phase-outs (decline, then end)
    start = np.zeros(n_sku, dtype=int)
    end = np.full(n_sku, _N_MONTHS - 1)
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
    qty = np.zeros((n_sku, _N_MONTHS))
    k = 1.0 / rng.uniform(0.12, 0.32, n_sku) ** 2  # gamma shape: CV 12–32 %
    noise = rng.gamma(k[:, None], 1.0 / k[:, None], (n_sku, _N_MONTHS))
    qty_fast = rng.poisson(mean * noise)
    # intermittent tail: occurrence probability and lump size
    p_occ = rng.uniform(0.12, 0.50, n_sku)
    lump = _log_uniform(rng, 1.5, 14.0, n_sku)
    occ_p = np.clip(p_occ[:, None] * np.sqrt(seas) * (1.0 + promo_uplift) * ramp, 0.0, 0.62)
    occurs = rng.random((n_sku, _N_MONTHS)) < occ_p
    shape = rng.uniform(0.7, 4.0, n_sku)  # lump sizes: gamma-Poisson, the smaller the shape, the lumpier
    size_noise = rng.gamma(shape[:, None], 1.0 / shape[:, None], (n_sku, _N_MONTHS))
    qty_slow = occurs * (1 + rng.poisson(np.maximum(lump[:, None] * trend - 1.0, 0.0) * size_noise))
    qty = np.where(slow[:, None], qty_slow, qty_fast).astype(float)
    qty[~active] = 0.0
    qty = _drift(qty, product["sku"].to_numpy())
    # expected monthly demand (for inventory, orders, budget)
    expected = np.where(slow[:, None], occ_p * lump[:, None] * trend, mean) * active

    # net price: promo months at the campaign discount, otherwise a small channel discount
    chan = rng.uniform(0.0, 0.03, (n_sku, _N_MONTHS))
    net = price[:, None] * np.where(discount > 0, 1.0 - discount, 1.0 - chan)
    net = np.round(net, 2)

    ii, tt = np.nonzero(active[:, hist])
    sales_history = pd.DataFrame({
        "sku": product["sku"].to_numpy()[ii],
        "period": np.array(_MONTH_DATES, dtype=object)[tt],
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
    routing = _routing(rng, product, sku_meta, traded)
    resource = _resources(rng, routing, product, qty)

    # ---------------------------------------------------------------- suppliers and receipts
    supplier = pd.DataFrame({"supplier": list(SUPPLIERS), "name": [v[0] for v in SUPPLIERS.values()]})
    supplier_item = _supplier_items(rng, product, sku_meta, traded, expected)
    receipt = _receipts(rng, supplier_item, product, expected, active)
    supplier_item = _lead_time_std(supplier_item, receipt)

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
    open_order = _open_orders(rng, product, receipt, expected, alive, traded)

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


def _drift(qty: np.ndarray, skus: np.ndarray) -> np.ndarray:
    """``qty`` with the sales of :data:`DRIFT_SKU` from :data:`DRIFT_START` to the last history month
    multiplied by 1 + k · :data:`DRIFT_STEP` (k = 1, 2, … months into the drift), rounded to units.
    Deterministic: it draws no random number, so every other figure of the demo stays as it was."""
    hit = np.flatnonzero(skus == DRIFT_SKU)
    if not len(hit):
        return qty
    t0 = _MONTH_DATES.index(DRIFT_START)
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
    uplift = np.zeros((n_sku, _N_MONTHS))
    discount = np.zeros((n_sku, _N_MONTHS))
    rows: list[dict[str, Any]] = []
    fam_code = np.array([f.code for f in FAMILIES])[fam_of]
    month_index = {d: i for i, d in enumerate(_MONTH_DATES)}

    def apply(mask: np.ndarray, ti: int, pct: float, disc: float) -> None:
        sku_up = pct / 100.0 * rng.uniform(0.6, 1.4, mask.sum())
        uplift[mask, ti] = sku_up
        discount[mask, ti] = np.round(disc * rng.uniform(0.8, 1.2, mask.sum()), 3)

    for year in range(FIRST_ACTUAL.year, HORIZON_END.year + 1):
        for name, month, d0, d1, scope, pct, disc in _CAMPAIGNS:
            first = dt.date(year, month, 1)
            if first not in month_index:
                continue
            rows.append({"name": f"{name} {year}", "start": dt.date(year, month, d0),
                         "end": dt.date(year, month, d1), "scope": scope, "uplift_pct": pct})
            apply(fam_code == scope, month_index[first], pct, disc)
        bf = _black_friday(year)
        if bf.replace(day=1) in month_index:
            name, pct, disc = _BLACK_FRIDAY
            rows.append({"name": f"{name} {year}", "start": bf, "end": bf + dt.timedelta(days=3),
                         "scope": "*", "uplift_pct": pct})
            apply(np.ones(n_sku, dtype=bool), month_index[bf.replace(day=1)], pct, disc)
    # retailer flyers on single SKUs: about two a month per 176 SKUs
    skus = product["sku"].to_numpy()
    for ti, first in enumerate(_MONTH_DATES):
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


def _routing(
    rng: np.random.Generator, product: pd.DataFrame, sku_meta: list[dict[str, Any]], traded: np.ndarray
) -> pd.DataFrame:
    rows = []
    for i, meta in enumerate(sku_meta):
        fam: _Family = meta["fam"]
        if traded[i] or not fam.routing:
            continue
        # heavier, pricier models take longer
        weight = (product["unit_price"].iat[i] / np.median([k.price_hi for k in fam.kinds])) ** 0.25
        routes = [fam.routing[0]]
        if len(fam.routing) > 1 and rng.random() < fam.second_route_p:
            routes.append(fam.routing[1])
        for res, lo, hi in routes:
            hours = float(np.clip(rng.uniform(lo, hi) * weight, lo * 0.7, hi * 1.3))
            rows.append({"sku": meta["sku"], "resource": res, "hours_per_unit": round(hours, 3)})
    return pd.DataFrame(rows, columns=["sku", "resource", "hours_per_unit"])


def _resources(
    rng: np.random.Generator, routing: pd.DataFrame, product: pd.DataFrame, qty: np.ndarray
) -> pd.DataFrame:
    """Regular capacity sized so the last 12 months of history run at 74–82 % of it on average."""
    pos = pd.Series(np.arange(len(product)), index=product["sku"])
    rows = []
    for res, (name, plant, ot_cost) in RESOURCES.items():
        r = routing[routing["resource"] == res]
        idx = pos[r["sku"]].to_numpy()
        load = (qty[idx, HISTORY_MONTHS - 12 : HISTORY_MONTHS] * r["hours_per_unit"].to_numpy()[:, None]).sum(0)
        util = rng.uniform(0.74, 0.82)
        cap = float(np.round(max(load.mean(), 1.0) / util, -1))
        rows.append({"resource": res, "name": name, "plant": plant, "capacity_hours": cap,
                     "overtime_hours": float(np.round(cap * rng.uniform(0.12, 0.20), -1)),
                     "overtime_cost_per_hour": ot_cost})
    return pd.DataFrame(rows)


def _supplier_items(
    rng: np.random.Generator,
    product: pd.DataFrame,
    sku_meta: list[dict[str, Any]],
    traded: np.ndarray,
    expected: np.ndarray,
) -> pd.DataFrame:
    rows = []
    monthly = expected[:, HISTORY_MONTHS - 12 : HISTORY_MONTHS + 12].mean(axis=1)
    for i, meta in enumerate(sku_meta):
        if not traded[i]:
            continue
        fam: _Family = meta["fam"]
        pool = fam.slow_suppliers if meta["slow"] else fam.suppliers
        pref = pool[int(rng.integers(len(pool)))]
        base_cost = product["unit_cost"].iat[i]
        moq = _nice_qty(max(5.0, monthly[i] * rng.uniform(0.3, 1.0)))
        lead = SUPPLIERS[pref][1] + int(rng.integers(-5, 11))
        rows.append({"supplier": pref, "sku": meta["sku"], "lead_time_days": float(lead),
                     "moq": moq, "unit_cost": base_cost, "priority": 1})
        if rng.random() < 0.3:
            alt = _ALTERNATE[pref]
            alt_lead = SUPPLIERS[alt][1] + int(rng.integers(-5, 11))
            alt_lead += 3 if alt_lead == lead else 0
            rows.append({"supplier": alt, "sku": meta["sku"], "lead_time_days": float(alt_lead),
                         "moq": _nice_qty(moq * rng.uniform(0.5, 2.0)),
                         "unit_cost": round(base_cost * rng.choice([-1, 1]) * rng.uniform(0.03, 0.12) + base_cost, 2),
                         "priority": 2})
    frame = pd.DataFrame(rows)
    frame["lead_time_std_days"] = 0.0
    return frame


def _receipts(
    rng: np.random.Generator,
    items: pd.DataFrame,
    product: pd.DataFrame,
    expected: np.ndarray,
    active: np.ndarray,
) -> pd.DataFrame:
    """Purchase order lines of the last 24 months with supplier-specific lateness and short deliveries."""
    pos = {s: i for i, s in enumerate(product["sku"])}
    first_t = _MONTH_DATES.index(_RECEIPT_START)
    rows = []
    for sku, grp in items.groupby("sku", sort=False):
        i = pos[sku]
        grp = grp.sort_values("priority")
        monthly = expected[i, first_t:HISTORY_MONTHS].mean()
        moq = float(grp["moq"].iat[0])
        # order cycle: fast movers every two weeks, slow ones every 1–3 months
        interval = 14 if monthly * 0.5 >= moq else int(np.clip(30 * moq / max(monthly, 0.1), 28, 90))
        day = _RECEIPT_START + dt.timedelta(days=int(rng.integers(0, interval)))
        while day <= INVENTORY_AS_OF:
            ti = (day.year - FIRST_ACTUAL.year) * 12 + day.month - FIRST_ACTUAL.month
            if active[i, ti] or active[i, min(ti + 2, _N_MONTHS - 1)]:
                alt = len(grp) > 1 and rng.random() < 0.2
                item = grp.iloc[1 if alt else 0]
                sup = item["supplier"]
                _, _, p_on, late_mean, p_short = SUPPLIERS[sup]
                need = expected[i, ti : ti + 3].mean() * interval / 30.4 * rng.uniform(0.8, 1.25)
                q = max(float(item["moq"]), _nice_qty(need))
                promised = day + dt.timedelta(days=int(item["lead_time_days"]))
                if rng.random() < p_on:
                    delay = -int(rng.integers(0, 4))
                else:
                    delay = 1 + int(min(rng.exponential(late_mean), 3 * late_mean))
                received: dt.date | None = promised + dt.timedelta(days=delay)
                got = q if rng.random() >= p_short else float(np.floor(q * rng.uniform(0.7, 0.97)))
                if received > INVENTORY_AS_OF:
                    received, got = None, 0.0
                rows.append({"supplier": sup, "sku": sku, "order_date": day, "promised_date": promised,
                             "received_date": received, "qty_ordered": q, "qty_received": got})
            day += dt.timedelta(days=interval + int(rng.integers(-3, 4)))
    frame = pd.DataFrame(rows)
    return frame.drop_duplicates(["supplier", "sku", "order_date"]).reset_index(drop=True)


def _lead_time_std(items: pd.DataFrame, receipt: pd.DataFrame) -> pd.DataFrame:
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


def _open_orders(
    rng: np.random.Generator,
    product: pd.DataFrame,
    receipt: pd.DataFrame,
    expected: np.ndarray,
    alive: np.ndarray,
    traded: np.ndarray,
) -> pd.DataFrame:
    """Open purchase orders (the receipts still open) and firm production orders for the next 3 months."""
    now = HISTORY_MONTHS
    first, last = pd.Timestamp(_MONTH_DATES[now]), pd.Timestamp(_MONTH_DATES[now + 2])
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
                q = _nice_qty(expected[i, now + h] * rng.uniform(0.3, 0.9))
                rows.append({"sku": product["sku"].iat[i], "due_period": _MONTH_DATES[now + h],
                             "quantity": q, "source": "production", "supplier": ""})
    frame = pd.concat([po, pd.DataFrame(rows)], ignore_index=True)
    return frame.sort_values(["due_period", "source", "sku", "supplier"]).reset_index(drop=True)


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
    b_index = {d: i for i, d in enumerate(_MONTH_DATES)}
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
