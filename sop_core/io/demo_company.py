"""The demo company, Halden & Voss Home GmbH, as a catalogue: its calendar, its eight product families (two
categories, KITCHEN and GARDEN, made in two plants: Ulm, Germany, kitchen; Brno, Czechia, garden), its eight
suppliers, its six resources and its recurring campaigns; and the conventions its generated figures follow
(retail price points, lot sizes, product names). :mod:`sop_core.io.demo` draws the company's data from it.

Periods are month starts, quantities in units, money in EUR, hours in hours.

>>> (FIRST_ACTUAL, LAST_ACTUAL, CURRENT_CYCLE), N_MONTHS
((datetime.date(2022, 11, 1), datetime.date(2026, 10, 1), datetime.date(2026, 11, 1)), 62)
>>> nice_price(12.3), nice_price(57.0), nice_price(432.0), nice_qty(7.2), nice_qty(233.0)
(12.49, 57.99, 429.99, 8.0, 240.0)
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

COMPANY = "Halden & Voss Home GmbH"
#: The month of the demo's open planning cycle; the history ends the month before.
CURRENT_CYCLE = dt.date(2026, 11, 1)
LAST_ACTUAL = dt.date(2026, 10, 1)
FIRST_ACTUAL = dt.date(2022, 11, 1)
INVENTORY_AS_OF = dt.date(2026, 10, 31)
#: Last month covered by the event calendar, the budget and the internal demand model.
HORIZON_END = dt.date(2027, 12, 1)
#: Months of sales history (FIRST_ACTUAL .. LAST_ACTUAL).
HISTORY_MONTHS = 48

_MONTHS = pd.date_range(FIRST_ACTUAL, HORIZON_END, freq="MS")
N_MONTHS = len(_MONTHS)  # 62
#: The months of the generated data, FIRST_ACTUAL .. HORIZON_END, as ``datetime.date``.
MONTH_DATES = [ts.date() for ts in _MONTHS]
#: The calendar month (1..12) of each of MONTH_DATES.
MONTH_OF_YEAR = np.array([ts.month for ts in _MONTHS])


@dataclass(frozen=True)
class ProductKind:
    """A product kind inside a family: its name and price range [EUR/unit]."""

    name: str
    price_lo: float
    price_hi: float


@dataclass(frozen=True)
class Family:
    """A product family: its catalogue, demand level and season, margins, how it is sourced and made."""

    code: str
    category: str
    prefix: str
    n_fast: int
    n_slow: int  # intermittent long tail (spare parts)
    level: float  # mean units per month of a fast mover at the start of history
    margin: tuple[float, float]  # gross margin range, share of unit price
    season: tuple[float, ...]  # Jan..Dec index of the base demand (normalised to mean 1)
    kinds: tuple[ProductKind, ...]
    series: tuple[str, ...]
    variants: tuple[str, ...]
    traded_share: float  # share of fast movers bought from suppliers rather than made
    routing: tuple[tuple[str, float, float], ...]  # (resource, hours lo, hours hi); first is mandatory
    second_route_p: float
    suppliers: tuple[str, ...]
    slow_kinds: tuple[ProductKind, ...] = ()
    slow_series: tuple[str, ...] = ()
    slow_suppliers: tuple[str, ...] = ()  # suppliers of the spare parts


_KITCHEN_SERIES = ("Barista", "Crema", "Aroma", "Milano", "Nova", "Pulse", "Vortex", "Loft", "Nordic", "Retro")
_GARDEN_SERIES = ("GreenLine", "TerraCut", "Meadow", "Fairway", "Ember", "Flame", "Patio", "Smokehouse")
_COLOURS = ("Black", "Silver", "White", "Red", "Inox", "Sage", "Cream", "Anthracite")

FAMILIES: tuple[Family, ...] = (
    Family(
        "COFFEE", "KITCHEN", "CF", 22, 0, 300, (0.35, 0.50),
        (0.85, 0.80, 0.85, 0.85, 0.85, 0.80, 0.80, 0.85, 0.95, 1.05, 1.45, 1.80),
        (ProductKind("Espresso Machine", 150, 550), ProductKind("Bean-to-Cup Machine", 400, 1300),
         ProductKind("Filter Coffee Maker", 50, 140), ProductKind("Capsule Machine", 70, 160)),
        ("Barista 300", "Barista Pro", "Crema One", "Crema Duo", "Aroma Touch", "Milano S", "Milano Plus", "Doppio"),
        _COLOURS, 0.0, (("ULM-ESP", 0.7, 1.3), ("ULM-MLD", 0.08, 0.20)), 0.6, ("BRIGHTWAY", "RHEINWERK"),
    ),
    Family(
        "BLENDERS", "KITCHEN", "BL", 20, 0, 380, (0.30, 0.45),
        (1.45, 1.05, 0.95, 0.90, 1.00, 1.10, 1.10, 0.90, 0.85, 0.85, 0.95, 1.20),
        (ProductKind("Stand Blender 1.5 l", 60, 220), ProductKind("High-Speed Blender", 180, 450),
         ProductKind("Hand Blender", 30, 90), ProductKind("Food Processor", 90, 350)),
        ("Nova", "Pulse", "Vortex", "Fresco", "Optima", "Vita"),
        _COLOURS, 0.1, (("ULM-SMA", 0.25, 0.45), ("ULM-MLD", 0.06, 0.15)), 0.5, ("BRIGHTWAY", "ORIENT"),
    ),
    Family(
        "KETTLES", "KITCHEN", "KT", 20, 0, 600, (0.22, 0.35),
        (1.00, 0.90, 0.90, 0.85, 0.85, 0.80, 0.80, 0.90, 1.00, 1.05, 1.35, 1.80),
        (ProductKind("Electric Kettle 1.7 l", 25, 90), ProductKind("Variable-Temperature Kettle", 60, 130),
         ProductKind("2-Slice Toaster", 30, 90), ProductKind("4-Slice Toaster", 50, 140)),
        ("Classic", "Retro", "Loft", "Nordic", "Studio", "Aurora"),
        _COLOURS, 0.3, (("ULM-SMA", 0.12, 0.22),), 0.0, ("BRIGHTWAY", "ORIENT"),
    ),
    Family(
        "KITCHEN_ACC", "KITCHEN", "KA", 8, 22, 3000, (0.45, 0.60),
        (1.05, 0.95, 1.00, 0.95, 0.95, 0.90, 0.90, 0.95, 1.00, 1.05, 1.10, 1.20),
        (ProductKind("Descaler 500 ml", 9, 14), ProductKind("Water Filter Cartridge", 10, 18),
         ProductKind("Cleaning Tablets 10-pack", 8, 13), ProductKind("Milk Jug 600 ml", 18, 30),
         ProductKind("Espresso Cups, set of 2", 14, 25)),
        ("Universal",), ("", ), 1.0, (), 0.0, ("MORAVIA", "RHEINWERK"),
        (ProductKind("Brew Unit", 40, 90), ProductKind("Grinder Burr Set", 25, 50), ProductKind("Drip Tray", 12, 25),
         ProductKind("Water Tank", 15, 35), ProductKind("Gasket Set", 5, 12), ProductKind("Steam Wand", 18, 40),
         ProductKind("Blade Assembly", 15, 35), ProductKind("Kettle Lid", 6, 14), ProductKind("Crumb Tray", 5, 10),
         ProductKind("Drive Coupling", 8, 16)),
        _KITCHEN_SERIES, ("SAIGONPC", "BRIGHTWAY"),
    ),
    Family(
        "MOWERS", "GARDEN", "MW", 22, 0, 190, (0.30, 0.45),
        (0.45, 0.55, 1.05, 1.55, 1.75, 1.55, 1.20, 0.95, 0.80, 0.70, 0.55, 0.60),
        (ProductKind("Petrol Lawn Mower 46 cm", 300, 600), ProductKind("Cordless Lawn Mower 36 V", 250, 550),
         ProductKind("Electric Lawn Mower 38 cm", 120, 250), ProductKind("Robotic Mower", 800, 1900)),
        ("GreenLine", "TerraCut", "Meadow", "Fairway", "ProCut"),
        ("S", "M", "L", "XL", "Plus", "Pro"),
        0.1, (("BRN-MOW", 1.0, 2.2), ("BRN-MET", 0.25, 0.55)), 0.7, ("ORIENT", "POLMET"),
    ),
    Family(
        "TRIMMERS", "GARDEN", "TR", 18, 0, 300, (0.30, 0.45),
        (0.50, 0.55, 0.85, 1.35, 1.60, 1.60, 1.45, 1.15, 0.90, 0.70, 0.55, 0.60),
        (ProductKind("Cordless Grass Trimmer 18 V", 60, 140), ProductKind("Petrol Brushcutter", 180, 400),
         ProductKind("Hedge Trimmer", 80, 220), ProductKind("Leaf Blower", 70, 200), ProductKind("Chainsaw 35 cm", 150, 350)),
        ("GreenLine", "TerraCut", "Meadow", "ProCut"),
        ("Standard", "Plus", "Pro", "Compact", "Max"),
        0.2, (("BRN-TRM", 0.35, 0.75),), 0.0, ("BRIGHTWAY", "SAIGONPC"),
    ),
    Family(
        "GRILLS", "GARDEN", "GR", 16, 0, 150, (0.28, 0.42),
        (0.45, 0.50, 0.70, 1.20, 1.65, 1.75, 1.65, 1.25, 0.80, 0.60, 0.50, 0.55),
        (ProductKind("Gas Grill 3-Burner", 350, 800), ProductKind("Gas Grill 4-Burner", 500, 1100),
         ProductKind("Charcoal Kettle Grill 57 cm", 120, 280), ProductKind("Electric Grill", 120, 260),
         ProductKind("Pellet Smoker", 600, 1200), ProductKind("Portable Gas Grill", 150, 300)),
        ("Ember", "Flame", "Smokehouse", "Patio", "Glut"),
        ("Black", "Stainless", "Graphite", "Bronze"),
        0.5, (("BRN-MET", 0.9, 1.8),), 0.0, ("ANATOLIA", "ORIENT"),
    ),
    Family(
        "GARDEN_PARTS", "GARDEN", "GP", 6, 22, 3200, (0.45, 0.60),
        (0.40, 0.50, 0.90, 1.50, 1.70, 1.60, 1.40, 1.10, 0.90, 0.60, 0.40, 0.40),
        (ProductKind("Trimmer Line Spool 2.0 mm", 6, 12), ProductKind("Mower Blade 46 cm", 15, 30),
         ProductKind("Grill Cover", 25, 50), ProductKind("Grill Cleaning Brush", 8, 15), ProductKind("Saw Chain 35 cm", 15, 25),
         ProductKind("Spark Plug", 4, 8)),
        ("Universal",), ("",), 1.0, (), 0.0, ("BRESCIA", "RHEINWERK", "ORIENT"),
        (ProductKind("Drive Belt", 12, 25), ProductKind("Grass Box 55 l", 30, 60), ProductKind("Rear Wheel 200 mm", 10, 20),
         ProductKind("Starter Cord", 5, 10), ProductKind("Battery Pack 36 V 4 Ah", 120, 220), ProductKind("Charger 36 V", 40, 80),
         ProductKind("Burner Tube", 15, 30), ProductKind("Ignition Module", 20, 40), ProductKind("Cooking Grate", 35, 70),
         ProductKind("Boundary Wire 150 m", 40, 70)),
        _GARDEN_SERIES, ("POLMET", "SAIGONPC"),
    ),
)

def n_skus(scale: int) -> int:
    """The number of SKUs of the demo company at ``scale`` (every family's fast movers and long tail, ``scale``
    times).

    >>> n_skus(1), n_skus(100)
    (176, 17600)
    """
    return scale * sum(f.n_fast + f.n_slow for f in FAMILIES)


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
ALTERNATE = {
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

def replica(code: str, copy: int) -> str:
    """The code of supplier or resource ``code`` in copy ``copy`` of the catalogue: the code itself in the
    first copy (0), ``code-2``, ``code-3``, … in the further copies of a larger demo (``scale`` > 1).

    >>> replica("BRIGHTWAY", 0), replica("ULM-ESP", 2)
    ('BRIGHTWAY', 'ULM-ESP-3')
    """
    return code if copy == 0 else f"{code}-{copy + 1}"


def suppliers_at(scale: int) -> dict[str, tuple[str, int, float, float, float]]:
    """:data:`SUPPLIERS` of a demo with ``scale`` copies of the catalogue: each copy buys from its own
    suppliers, on the terms of the first copy's; the further copies' names end in ``(site k)``.

    >>> list(suppliers_at(2))[7:10], suppliers_at(2)["ORIENT-2"][0]
    (['MORAVIA', 'BRIGHTWAY-2', 'ORIENT-2'], 'Ningbo Orient Housewares Ltd. (site 2)')
    """
    out: dict[str, tuple[str, int, float, float, float]] = {}
    for k in range(scale):
        for code, (name, lead, on_time, late, short) in SUPPLIERS.items():
            out[replica(code, k)] = (name if k == 0 else f"{name} (site {k + 1})", lead, on_time, late, short)
    return out


def resources_at(scale: int) -> dict[str, tuple[str, str, float]]:
    """:data:`RESOURCES` of a demo with ``scale`` copies of the catalogue: each copy is made on its own
    lines of the same plants (``ULM-ESP-2`` is "Ulm espresso assembly line 2")."""
    out: dict[str, tuple[str, str, float]] = {}
    for k in range(scale):
        for code, (name, plant, ot_cost) in RESOURCES.items():
            out[replica(code, k)] = (name if k == 0 else f"{name} {k + 1}", plant, ot_cost)
    return out


#: Recurring campaigns: (name, month, first day, last day, scope, uplift %, discount share)
CAMPAIGNS: tuple[tuple[str, int, int, int, str, float, float], ...] = (
    ("Healthy Start Blender Weeks", 1, 5, 31, "BLENDERS", 30.0, 0.15),
    ("Spring Garden Campaign", 4, 1, 30, "MOWERS", 25.0, 0.12),
    ("Trimmer Trade-in Days", 5, 2, 31, "TRIMMERS", 20.0, 0.10),
    ("Summer BBQ Season Opener", 6, 1, 30, "GRILLS", 25.0, 0.15),
    ("Coffee Week", 9, 23, 30, "COFFEE", 20.0, 0.10),
    ("Christmas Gifting", 12, 1, 24, "KETTLES", 25.0, 0.15),
)
BLACK_FRIDAY = ("Black Friday & Cyber Monday", 30.0, 0.20)


def nice_price(x: float) -> float:
    """Round a price to a retail price point (…,99 or …,49 for cheap items)."""
    if x < 20:
        return float(round(np.floor(x) + 0.49, 2) if x - np.floor(x) < 0.5 else round(np.floor(x) + 0.99, 2))
    if x < 100:
        return float(np.floor(x)) + 0.99
    return float(np.round(x / 10.0) * 10.0 - 0.01)


def nice_qty(x: float) -> float:
    """Round a lot size up to 1, 5, 10, 50 or 100 units depending on its size."""
    for limit, step in ((10, 1), (100, 5), (500, 10), (5000, 50)):
        if x <= limit:
            return float(max(step, np.ceil(x / step) * step))
    return float(np.ceil(x / 100) * 100)


def product_names(rng: np.random.Generator, fam: Family, n: int, slow: bool) -> list[tuple[str, ProductKind]]:
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
