"""Pricing services: the own-price elasticity per product family, learned from the sales history.

Loads ``sku, family, period, quantity, net_price, promo`` through :mod:`sop_core.db.stock_repo` and
estimates with :mod:`sop_core.planning.elasticity` (log-log demand with SKU fixed effects, month-of-year dummies,
a promotion dummy and a trend; the model, the checks and the fallback are described there). The result
is what the Reconciliation page shows next to its price-elasticity lever and what
``python -m sop_core elasticity`` prints.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import master_repo, stock_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.planning import elasticity
from sop_core.services import figures

__all__ = ["COLUMNS", "family_elasticities"]

#: Columns of :func:`family_elasticities`.
COLUMNS = elasticity.COLUMNS


def _to_tables(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"families": frame, "pooled": pd.DataFrame({k: [v] for k, v in frame.attrs["pooled"].items()})}


def _from_tables(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    frame = tables["families"]
    frame.attrs["pooled"] = {k: _plain(v) for k, v in tables["pooled"].iloc[0].items()}
    return frame


def _plain(value: Any) -> Any:  # noqa: ANN401 - a number, a text or a flag of the pooled estimate
    return value.item() if hasattr(value, "item") else value


#: How the estimate is stored: the families' table and the pooled estimate (``attrs["pooled"]``) as one row.
ELASTICITY_TABLES: figures.Tables[pd.DataFrame] = figures.Tables(_to_tables, _from_tables)


def family_elasticities(engine: Engine) -> pd.DataFrame:
    """The own-price elasticity e of every product family, estimated from the stored sales history.

    Args:
        engine: the database.

    Returns:
        One row per family of the product table, sorted: ``family``; ``elasticity`` (e [% demand per % price],
        NaN when not estimable); ``std_error`` (of e; ``se_type`` says which: ``cluster(sku)`` or ``HC1``);
        ``n`` (SKU-months used: quantity and net price > 0); ``skus``; ``se_type``; ``used`` (bool: the data
        support e); ``value_used`` (e when used, else the fallback: the estimate over all families when
        usable, else 0); ``reason`` (plain text). ``attrs["pooled"]`` holds the estimate over all families.

        The result is a figure of the sales history and the product table (:func:`sop_core.services.figures.once`):
        computed again only after an import changes them, and stored ahead with the pages' figures.
    """

    def compute() -> pd.DataFrame:
        with session_scope(engine) as s:
            rows = stock_repo.price_history(s)
            families = set(master_repo.products(s)["family"].astype(str))
        return elasticity.family_elasticities(rows, families)

    stamp = figures.data_stamp(engine, m.SalesHistory, m.Product)
    return figures.once(engine, "family_elasticities", (), stamp, compute, tables=ELASTICITY_TABLES)
