"""Pricing services: the own-price elasticity per product family, learned from the sales history.

Loads ``sku, family, period, quantity, net_price, promo`` through :mod:`sop_core.db.stock_repo` and
estimates with :mod:`sop_core.planning.elasticity` (log-log demand with SKU fixed effects, month-of-year dummies,
a promotion dummy and a trend; the model, the checks and the fallback are described there). The result
is what the Reconciliation page shows next to its price-elasticity lever and what
``python -m sop_core elasticity`` prints.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from sop_core.db import stock_repo
from sop_core.db.engine import session_scope
from sop_core.planning import elasticity

__all__ = ["COLUMNS", "family_elasticities"]

#: Columns of :func:`family_elasticities`.
COLUMNS = elasticity.COLUMNS

#: Results kept, keyed by database and data stamp (newest last).
_CACHE_SIZE = 8
_cache: OrderedDict[tuple[str, tuple[Any, ...]], pd.DataFrame] = OrderedDict()
_lock = threading.Lock()


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

        The result is kept per database and per state of the sales history and product families: it is
        computed again only after an import changes them.
    """
    with session_scope(engine) as s:
        stamp = stock_repo.price_history_stamp(s)
        key = (engine.url.render_as_string(hide_password=True), stamp)
        with _lock:
            hit = _cache.get(key)
            if hit is not None:
                _cache.move_to_end(key)
                return hit.copy(deep=True)
        rows = stock_repo.price_history(s)
    families = {family for _sku, family in stamp[-1]}
    frame = elasticity.family_elasticities(rows, families)
    with _lock:
        _cache[key] = frame
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return frame.copy(deep=True)
