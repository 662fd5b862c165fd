"""ABC/XYZ segmentation of the SKUs and the cycle service level target of each segment.

ABC by annual value (Pareto), XYZ by the coefficient of variation of the per-period demand; each of the nine
cells has a default cycle service level target. No database, no user interface.

Reference: Silver, Pyke & Thomas, *Inventory and Production Management in Supply Chains*, 4th ed. (2017),
ch. 2 (ABC classification) and ch. 7 (differentiated service by class).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Upper cumulative share of annual value for class A and class B (the rest is C).
ABC_LIMITS = (0.80, 0.95)
#: Upper coefficient of variation for class X and class Y (the rest is Z).
XYZ_LIMITS = (0.5, 1.0)


def demand_stats(history: pd.DataFrame, *, ddof: int = 1) -> pd.DataFrame:
    """Mean and standard deviation of demand per SKU from a long history.

    Args:
        history: ``sku``, ``period`` and ``quantity`` [units/period], one row per SKU and period
            (periods without a row are not filled: pass zeros explicitly).
        ddof: delta degrees of freedom of the standard deviation: 1 = sample (default), 0 = population.

    Returns:
        ``sku, demand_mean, demand_std, periods`` with mean and deviation in [units/period].
    """
    for col in ("sku", "quantity"):
        if col not in history.columns:
            raise ValueError(f"history: missing column {col}")
    grouped = history.groupby("sku")["quantity"]
    out = pd.DataFrame(
        {"demand_mean": grouped.mean(), "demand_std": grouped.std(ddof=ddof), "periods": grouped.size()}
    ).reset_index()
    out["demand_std"] = out["demand_std"].fillna(0.0)
    return out


def abc_xyz(
    frame: pd.DataFrame,
    abc_limits: tuple[float, float] = ABC_LIMITS,
    xyz_limits: tuple[float, float] = XYZ_LIMITS,
) -> pd.DataFrame:
    """ABC classification by annual value and XYZ classification by demand variability.

    ABC (Pareto; Silver, Pyke & Thomas, 4th ed., §2.3): SKUs are sorted by annual value, largest
    first (ties by SKU), and the cumulative share *including the SKU itself* decides:
    A when cum_share ≤ 80 %, B when ≤ 95 %, C otherwise. (So a single SKU holding more than 80 % of
    the value is B: the rule is applied as stated, without rounding up to the first crossing.)
    SKUs with no value are C.

    XYZ: coefficient of variation CV = σ_d / d̄ of the per-period demand; X when CV < 0.5,
    Y when CV < 1.0, Z otherwise (zero mean demand is Z). The deviation is taken as given in
    ``demand_std``; :func:`demand_stats` computes it as the *sample* standard deviation (ddof = 1),
    which is what this module assumes when it builds the input itself.

    Args:
        frame: one row per ``sku`` with ``annual_value`` [currency/year] (annual demand × unit cost or
            price), ``demand_mean`` d̄ [units/period] and ``demand_std`` σ_d [units/period].
        abc_limits: upper cumulative shares of class A and class B [share].
        xyz_limits: upper CV of class X and class Y [dimensionless].

    Returns:
        The input columns plus ``value_share``, ``cum_share`` [share], ``cv`` [dimensionless],
        ``abc``, ``xyz`` and ``class`` (e.g. "AX"), sorted by annual value, largest first.

    Raises:
        ValueError: when a column is missing or a value is negative.

    Example:
        >>> f = pd.DataFrame({"sku": ["a", "b", "c"], "annual_value": [70.0, 20.0, 10.0],
        ...                   "demand_mean": [10.0, 10.0, 0.0], "demand_std": [2.0, 10.0, 0.0]})
        >>> abc_xyz(f)["class"].tolist()
        ['AX', 'BZ', 'CZ']
    """
    missing = [c for c in ("sku", "annual_value", "demand_mean", "demand_std") if c not in frame.columns]
    if missing:
        raise ValueError(f"abc_xyz: missing column(s) {', '.join(missing)}")
    if (frame["annual_value"] < 0).any():
        raise ValueError("abc_xyz: annual_value must be ≥ 0")
    out = frame.sort_values(["annual_value", "sku"], ascending=[False, True], ignore_index=True).copy()
    total = float(out["annual_value"].sum())
    out["value_share"] = out["annual_value"] / total if total > 0 else 0.0
    out["cum_share"] = out["value_share"].cumsum()
    eps = 1e-9
    a_max, b_max = abc_limits
    out["abc"] = np.select(
        [
            (out["annual_value"] > 0) & (out["cum_share"] <= a_max + eps),
            (out["annual_value"] > 0) & (out["cum_share"] <= b_max + eps),
        ],
        ["A", "B"],
        default="C",
    )
    mean = out["demand_mean"].to_numpy(dtype=float)
    std = out["demand_std"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cv"] = np.where(mean > 0, std / np.where(mean > 0, mean, 1.0), np.inf)
    x_max, y_max = xyz_limits
    out["xyz"] = np.select([out["cv"] < x_max, out["cv"] < y_max], ["X", "Y"], default="Z")
    out["class"] = out["abc"] + out["xyz"]
    return out


def abc_xyz_matrix(classes: pd.DataFrame) -> pd.DataFrame:
    """Count of SKUs per ABC (rows A, B, C) and XYZ (columns X, Y, Z) class.

    Args:
        classes: output of :func:`abc_xyz` (columns ``abc`` and ``xyz``).

    Returns:
        A 3 × 3 frame of counts, index ``A, B, C`` and columns ``X, Y, Z`` (zeros included).
    """
    counts = pd.crosstab(classes["abc"], classes["xyz"]) if not classes.empty else pd.DataFrame()
    return counts.reindex(index=["A", "B", "C"], columns=["X", "Y", "Z"], fill_value=0).fillna(0).astype(int)


#: Default cycle service level (CSL) target per ABC × XYZ cell [share]: more value and steadier demand
#: earn a higher target (Silver, Pyke & Thomas, 4th ed., §2.3 and ch. 7 on "differentiated service by
#: class"; the numbers are company defaults, not textbook constants).
DEFAULT_SERVICE_TARGETS: dict[str, float] = {
    "AX": 0.98, "AY": 0.97, "AZ": 0.95,
    "BX": 0.97, "BY": 0.95, "BZ": 0.93,
    "CX": 0.95, "CY": 0.92, "CZ": 0.90,
}  # fmt: skip


def service_targets(classes: pd.DataFrame, targets: dict[str, float] | None = None) -> pd.Series:
    """Cycle service level target of every SKU from its ABC/XYZ cell.

    Args:
        classes: output of :func:`abc_xyz` (column ``class``, e.g. "AX").
        targets: CSL target per cell [share]; default :data:`DEFAULT_SERVICE_TARGETS`.

    Returns:
        CSL target per row of ``classes`` [share], same index.
    """
    table = DEFAULT_SERVICE_TARGETS if targets is None else targets
    return classes["class"].map(table).astype(float)


def service_target_matrix(targets: dict[str, float] | None = None) -> pd.DataFrame:
    """The default cycle service level targets as a 3 × 3 frame (rows A, B, C; columns X, Y, Z) [share]."""
    table = DEFAULT_SERVICE_TARGETS if targets is None else targets
    return pd.DataFrame({x: [table[a + x] for a in "ABC"] for x in "XYZ"}, index=list("ABC"))

