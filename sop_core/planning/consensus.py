"""Consensus demand: the statistical forecast with the planners' overrides, spread to SKUs (pure functions).

An override names a level (``sku``, ``family``, ``category`` or ``total``), an item of that level (a SKU,
family or category code; ``"Total"`` or ``"*"`` for the total), a period and either

* ``value`` — the absolute quantity the item should have in that period [units], or
* ``pct`` — a change in percent of the item's *statistical* forecast [%] (``+10`` = 10 % more).

Rules (the arithmetic planners can check by hand):

1. An override of an aggregate (family, category, total) is spread to its SKUs in proportion to their
   statistical forecast of that period: q_i = V · ŷ_i / Σ_j ŷ_j. When the statistical forecast of every SKU
   of the item is zero, V is spread equally: q_i = V / n.
2. A ``pct`` override always applies to the statistical forecast: q_i = ŷ_i · (1 + p / 100) (a
   proportional spread of the changed aggregate). A SKU with ŷ_i = 0 stays at 0 under a pct override.
3. Levels are applied from the top down (total → category → family → SKU) and the lower level wins: a SKU
   covered by a family override and a SKU override takes the SKU override. The aggregate of a higher-level
   override then equals its target only for the SKUs no lower override touches.
4. Of several overrides of the same level, item and period the latest wins (``created_at``, then ``id``).
5. A row with ``value`` uses the value (``pct`` is ignored); a row with neither is ignored.
6. Consensus quantities are clipped at zero; :func:`validate_edits` refuses a negative value and a pct
   below −100 % before they are stored.

Reference: the top-down proportional disaggregation of Gross & Sohl (1990), "Disaggregation methods to
expedite product line forecasting", Journal of Forecasting 9(3), method A (proportions of the forecast).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: Levels from the top down (the order overrides are applied in; later levels win).
LEVEL_ORDER: tuple[str, ...] = ("total", "category", "family", "sku")
TOTAL_ITEM = "Total"
#: Reason codes an override must carry (fixed list; "other" needs a comment to be useful).
REASON_CODES: tuple[str, ...] = (
    "promotion",
    "new customer",
    "lost customer",
    "market intelligence",
    "supply constraint",
    "price change",
    "phase-out",
    "other",
)
OVERRIDE_COLUMNS = ["level", "item", "period", "value", "pct"]


def normalise_item(level: str, item: str) -> str:
    """The item code as stored in the hierarchy: ``"*"``/``"total"`` → ``"Total"`` at the total level."""
    return TOTAL_ITEM if level == "total" else str(item)


def latest_overrides(overrides: pd.DataFrame) -> pd.DataFrame:
    """One override per (level, item, period): the latest by ``created_at`` then ``id`` (rule 4).

    Args:
        overrides: DataFrame[level, item, period, value, pct, (created_at), (id)].

    Returns:
        DataFrame[level, item, period, value, pct, …] with the total item normalised to ``"Total"`` and
        ``period`` as datetime64; rows with neither value nor pct dropped.
    """
    if overrides is None or overrides.empty:
        return pd.DataFrame(columns=OVERRIDE_COLUMNS)
    ov = overrides.copy()
    for col in ("value", "pct"):
        if col not in ov:
            ov[col] = np.nan
        ov[col] = pd.to_numeric(ov[col], errors="coerce").astype(float)
    ov["item"] = [normalise_item(lv, it) for lv, it in zip(ov["level"], ov["item"], strict=True)]
    ov["period"] = pd.to_datetime(ov["period"])
    ov = ov[ov["value"].notna() | ov["pct"].notna()]
    order = [c for c in ("created_at", "id") if c in ov]
    if order:
        ov = ov.sort_values(order, kind="stable")
    ov = ov.drop_duplicates(["level", "item", "period"], keep="last")
    return ov.reset_index(drop=True)


def apply_overrides(stat: pd.DataFrame, products: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    """Consensus per SKU and period = statistical forecast with the overrides applied (module rules 1–6).

    Args:
        stat: DataFrame[sku, period, qty] — statistical forecast ŷ [units per period].
        products: DataFrame[sku, family, category] — the hierarchy.
        overrides: DataFrame[level, item, period, value, pct, (author), (created_at), (id)]; value [units],
            pct [%].

    Returns:
        DataFrame[sku, period, statistical, qty, level, author] — ``qty`` is the consensus [units],
        ``level`` and ``author`` those of the override that set it ("" when none), sorted by sku and period.

    Example:
        Family F with SKUs A (ŷ = 30) and B (ŷ = 10) and a family value override of 60 gives
        A = 60 · 30/40 = 45 and B = 60 · 10/40 = 15.
    """
    out = stat[["sku", "period", "qty"]].rename(columns={"qty": "statistical"}).copy()
    out["period"] = pd.to_datetime(out["period"])
    out["statistical"] = out["statistical"].astype(float)
    hier = products[["sku", "family", "category"]].drop_duplicates("sku").astype({"sku": str})
    out["sku"] = out["sku"].astype(str)
    out = out.merge(hier, on="sku", how="left")
    out["total"] = TOTAL_ITEM
    out["qty"] = out["statistical"]
    out["level"] = ""
    out["author"] = ""
    ov = latest_overrides(overrides)
    if "author" not in ov:
        ov["author"] = ""
    for level in LEVEL_ORDER:
        rows = ov[ov["level"] == level]
        if rows.empty:
            continue
        key = level
        rows = rows[["item", "period", "value", "pct", "author"]].rename(columns={"item": key})
        merged = out[[key, "period", "statistical"]].merge(rows, on=[key, "period"], how="left")
        hit = (merged["value"].notna() | merged["pct"].notna()).to_numpy()
        unmatched = len(rows) - merged.loc[hit, [key, "period"]].drop_duplicates().shape[0]
        if unmatched:
            log.info("%d %s override(s) match no SKU-period of the forecast and are ignored", unmatched, level)
        if not hit.any():
            continue
        grp = merged.groupby([key, "period"], sort=False)["statistical"]
        total = grp.transform("sum").to_numpy(dtype=float)
        count = grp.transform("size").to_numpy(dtype=float)
        s = merged["statistical"].to_numpy(dtype=float)
        value = merged["value"].to_numpy(dtype=float)
        pct = merged["pct"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(total > 0, s / np.where(total > 0, total, 1.0), 1.0 / count)
        new = np.where(~np.isnan(value), value * share, s * (1.0 + np.nan_to_num(pct) / 100.0))
        qty = out["qty"].to_numpy(dtype=float).copy()
        qty[hit] = np.maximum(new[hit], 0.0)
        out["qty"] = qty
        out.loc[hit, "level"] = level
        out.loc[hit, "author"] = merged.loc[hit, "author"].fillna("").astype(str).to_numpy()
    out = out.sort_values(["sku", "period"], kind="stable").reset_index(drop=True)
    return out[["sku", "period", "statistical", "qty", "level", "author"]]


def validate_edits(edits: pd.DataFrame, reasons: tuple[str, ...] = REASON_CODES) -> list[str]:
    """Problems of a grid of override edits (empty list: fine).

    Every row with a value or pct needs a reason from ``reasons``; value ≥ 0 [units]; pct ≥ −100 [%];
    not both value and pct.

    Args:
        edits: DataFrame[period, value, pct, reason, (comment)].
        reasons: the allowed reason codes.
    """
    problems: list[str] = []
    for r in edits.itertuples(index=False):
        value = getattr(r, "value", np.nan)
        pct = getattr(r, "pct", np.nan)
        value = np.nan if value is None else float(value)
        pct = np.nan if pct is None else float(pct)
        if np.isnan(value) and np.isnan(pct):
            continue
        label = f"{pd.Timestamp(r.period):%Y-%m}"
        reason = getattr(r, "reason", None)
        if reason is None or (isinstance(reason, float) and np.isnan(reason)) or str(reason).strip() == "":
            problems.append(f"{label}: a reason code is required")
        elif str(reason) not in reasons:
            problems.append(f"{label}: unknown reason {reason!r} (choose one of: {', '.join(reasons)})")
        if not np.isnan(value) and not np.isnan(pct):
            problems.append(f"{label}: give either a quantity or a percentage, not both")
        if not np.isnan(value) and value < 0:
            problems.append(f"{label}: the quantity must not be negative")
        if not np.isnan(pct) and pct < -100:
            problems.append(f"{label}: the change must not be below −100 %")
    return problems
