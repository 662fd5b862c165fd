"""Coherent forecasts for the hierarchy SKU → family → category → total (forecast reconciliation).

Base forecasts ŷ of every node of the hierarchy (SKUs, families, categories, total) are made coherent by
ỹ = S·G·ŷ with S the summing matrix (n nodes × b SKUs) and

* bottom-up: G = [0 | I] (the SKU forecasts are kept, every aggregate is their sum);
* MinT-OLS: G = (SᵀS)⁻¹Sᵀ (W = I);
* MinT-WLS structural: G = (SᵀW⁻¹S)⁻¹SᵀW⁻¹ with W = diag(S·1), the number of SKUs under each node.

Reconciled SKU forecasts are clipped at zero and every aggregate is the sum of its SKUs (exactly coherent).
SKU interval bounds move with their point forecast (the widths are kept).

References: Hyndman, Ahmed, Athanasopoulos & Shang (2011), Optimal combination forecasts for hierarchical
time series, CSDA 55(9); Wickramasuriya, Athanasopoulos & Hyndman (2019), Optimal forecast reconciliation
for hierarchical and grouped time series through trace minimization, JASA 114(526), 804–819; FPP3 §11.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from sop_core.planning.forecast.hierarchy import TOTAL_ITEM

Method = Literal["bottom_up", "ols", "wls_struct"]
METHODS: tuple[str, ...] = ("bottom_up", "ols", "wls_struct")


def summing_matrix(products: pd.DataFrame, skus: list[str], *, sku_col: str = "sku") -> tuple[np.ndarray, list[tuple[str, str]]]:
    """The summing matrix S and its row labels ``(level, item)``: total, categories, families, then SKUs.

    Args:
        products: product master with ``sku_col``, ``family`` and ``category``.
        skus: the bottom series, in column order.
        sku_col: SKU column of ``products``.

    Returns:
        (S with shape (n, b) of 0/1, labels of the n rows).
    """
    master = products.drop_duplicates(sku_col).set_index(sku_col).reindex(skus)
    rows: list[np.ndarray] = [np.ones(len(skus))]
    labels: list[tuple[str, str]] = [("total", TOTAL_ITEM)]
    for level in ("category", "family"):
        for item in sorted(master[level].astype(str).unique()):
            rows.append((master[level].astype(str) == item).to_numpy(dtype=float))
            labels.append((level, item))
    rows.extend(np.eye(len(skus)))
    labels.extend(("sku", s) for s in skus)
    return np.vstack(rows), labels


def reconcile(
    base: pd.DataFrame,
    products: pd.DataFrame,
    method: Method = "wls_struct",
    *,
    sku_col: str = "sku",
) -> pd.DataFrame:
    """Reconcile base forecasts given at every level into coherent SKU forecasts.

    Args:
        base: long frame ``level, unique_id, ds, yhat`` (+ optional ``yhat_lo_<l>, yhat_hi_<l>``, ``model``)
            with a row for every node (level "sku", "family", "category", "total") and period [units]; a
            missing aggregate node forecast counts as the sum of its SKUs.
        products: product master with ``sku_col``, ``family`` and ``category``.
        method: "bottom_up", "ols" or "wls_struct".
        sku_col: SKU column of ``products``.

    Returns:
        SKU-level frame ``unique_id, ds, yhat, …`` (the columns of the SKU rows of ``base``) with the reconciled
        point forecasts, ≥ 0; :func:`sop_core.planning.forecast.hierarchy.aggregate` of it gives the coherent
        aggregates.

    Raises:
        ValueError: unknown method or no SKU rows.

    Example:
        >>> p = pd.DataFrame({"sku": ["a", "b"], "family": ["F", "F"], "category": ["C", "C"]})
        >>> b = pd.DataFrame({"level": ["sku", "sku", "family", "category", "total"],
        ...                   "unique_id": ["a", "b", "F", "C", "Total"], "ds": ["2025-01-01"] * 5,
        ...                   "yhat": [10.0, 20.0, 36.0, 36.0, 36.0]})
        >>> reconcile(b, p, "ols")["yhat"].round(6).tolist()
        [12.571429, 22.571429]
    """
    if method not in METHODS:
        raise ValueError(f"unknown reconciliation method {method!r}; expected one of {', '.join(METHODS)}")
    sku_rows = base[base["level"] == "sku"].drop(columns="level")
    if sku_rows.empty:
        raise ValueError("reconcile: no SKU forecasts")
    if method == "bottom_up":
        return sku_rows.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    skus = sorted(sku_rows["unique_id"].astype(str).unique())
    S, labels = summing_matrix(products, skus, sku_col=sku_col)
    wide = base.assign(key=list(zip(base["level"], base["unique_id"].astype(str), strict=True)))
    table = wide.pivot_table(index="key", columns="ds", values="yhat", aggfunc="sum")
    bottom = table.reindex([("sku", s) for s in skus]).fillna(0.0).to_numpy()
    y = table.reindex(labels).to_numpy()
    sums = S @ bottom
    y = np.where(np.isnan(y), sums, y)
    if method == "ols":
        w_inv = np.ones(S.shape[0])
    else:
        w_inv = 1.0 / S.sum(axis=1)
    st_w = S.T * w_inv
    G = np.linalg.solve(st_w @ S, st_w)
    rec = G @ y  # (b, periods)
    rec_frame = pd.DataFrame(rec, index=skus, columns=table.columns).stack().rename("rec").reset_index()
    rec_frame.columns = ["unique_id", "ds", "rec"]
    out = sku_rows.assign(unique_id=sku_rows["unique_id"].astype(str)).merge(rec_frame, on=["unique_id", "ds"], how="left")
    new = np.clip(out["rec"].to_numpy(dtype=float), 0.0, None)
    delta = new - out["yhat"].to_numpy(dtype=float)
    for c in [c for c in out.columns if c.startswith(("yhat_lo_", "yhat_hi_"))]:
        out[c] = np.clip(out[c].to_numpy(dtype=float) + delta, 0.0, None)
    out["yhat"] = new
    return out.drop(columns="rec").sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
