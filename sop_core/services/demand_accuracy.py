"""Accuracy of the demand review: earlier cycles' forecasts against the actuals that arrived since.

Compares earlier cycles' stored forecasts (seasonal naive, statistical, consensus) with the actuals (formulas
in :mod:`sop_core.planning.accuracy`), the stored backtest of a run, and the changes of the consensus against
the previous cycle. Quantities are in units, periods are month starts, ratios are fractions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from sop_core.db import cycle_repo, forecast_repo, master_repo, override_repo, stock_repo
from sop_core.db import models as m
from sop_core.db.engine import session_scope
from sop_core.db.models_cycle import PlanVersion
from sop_core.planning import accuracy as metrics
from sop_core.planning import consensus as cons
from sop_core.planning import forecast as fc
from sop_core.planning.forecast.hierarchy import Level
from sop_core.services import figures
from sop_core.services.demand import CONSENSUS_INPUTS, consensus_sums, key_frame, latest_run
from sop_core.services.forecasting import FREQ, long_history
from sop_core.units import INTERVAL_LEVELS

#: A tracking signal beyond ± this many MADs flags an item for review.
TRACKING_LIMIT = 4.0
#: Seasonal period of monthly data (seasonal naive and the MASE scale) [months].
SEASON = 12


def changes_vs_last_cycle(engine: Engine, cycle_id: int, by: Literal["sku", "family", "category"] = "family",
                          top: int = 10) -> pd.DataFrame:
    """The biggest changes of this cycle's consensus against the previous cycle's consensus.

    Sums over the months both cycles forecast (the overlap of their horizons); computed once per data version
    (:mod:`sop_core.services.figures`).

    Returns:
        DataFrame[item, last_cycle, this_cycle, change, change_pct] [units; change_pct a fraction, NaN when
        last cycle was 0], the ``top`` largest |change| first; empty without an earlier cycle. ``attrs``
        carries ``previous`` ("YYYY-MM") and ``months`` (the number of overlapping months).
    """
    stamp = figures.data_stamp(engine, *CONSENSUS_INPUTS)
    return figures.once(engine, "changes_vs_last_cycle", (cycle_id, by, top), stamp,
                        lambda: _changes_vs_last_cycle(engine, cycle_id, by, top, stamp), tables=figures.ONE_TABLE)


def _changes_vs_last_cycle(engine: Engine, cycle_id: int, by: str, top: int, stamp: str) -> pd.DataFrame:
    cols = ["item", "last_cycle", "this_cycle", "change", "change_pct"]
    with session_scope(engine) as s:
        cur = cycle_repo.cycle(s, cycle_id)
        prev = cycle_repo.previous_cycle(s, cur.month) if cur is not None else None
        if prev is None:
            return pd.DataFrame(columns=cols)
        prev_id, prev_label = prev.id, f"{prev.month:%Y-%m}"
        runs = [forecast_repo.latest_run(s, c) for c in (prev_id, cycle_id)]
        months = sorted(set.intersection(*(set(forecast_repo.run_periods(s, r.id)) for r in runs if r is not None))
                        ) if all(r is not None for r in runs) else []
        products = master_repo.products(s)
    sums = []
    for cid in (prev_id, cycle_id):  # the overlap of two horizons of consecutive months: one range
        per_sku = _sku_totals(engine, cid, months[0].date(), months[-1].date(), stamp) if months else pd.Series(
            dtype=float, name="qty", index=pd.Index([], name="item"))
        item = per_sku.index.map(products.set_index("sku")[by]) if by != "sku" else per_sku.index
        sums.append(per_sku.groupby(pd.Index(item, name="item")).sum())
    out = pd.concat(sums, axis=1, keys=["last_cycle", "this_cycle"]).fillna(0.0).rename_axis("item").reset_index()
    out["change"] = out["this_cycle"] - out["last_cycle"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change_pct"] = np.where(out["last_cycle"] > 0, out["change"] / out["last_cycle"], np.nan)
    out = out.reindex(out["change"].abs().sort_values(ascending=False, kind="stable").index).head(top)
    out = out[cols].reset_index(drop=True)
    out.attrs.update(previous=prev_label, months=len(months))
    return out


def _sku_totals(engine: Engine, cycle_id: int, first: dt.date, last: dt.date, stamp: str) -> pd.Series:
    """Each SKU's consensus summed over the months ``first`` … ``last`` (:func:`consensus_sums`), kept once per data
    version (``stamp``: :data:`CONSENSUS_INPUTS`)."""
    return figures.once(engine, "sku_consensus_totals", (cycle_id, first, last), stamp,
                        lambda: consensus_sums(engine, cycle_id, "sku", first_period=first, last_period=last,
                                               monthly=False).set_index("item")["qty"])


# ---------------------------------------------------------------------------- accuracy
PAIR_COLUMNS = ["cycle", "sku", "period", "y", "naive", "statistical", "consensus", "level", "author"]


def frozen_pairs(engine: Engine, cycle_id: int | None = None) -> pd.DataFrame:
    """Earlier cycles' forecasts against the actuals that arrived since (one row per cycle, SKU and month),
    computed once per data version (:mod:`sop_core.services.figures`).

    For every plan cycle of a month before ``cycle_id``'s month (every cycle when None): the statistical
    forecast as stored then (the run its plan was frozen on, else its newest finished run), its consensus
    (overrides applied) and the seasonal naive forecast made at the same cutoff (the month before the cycle),
    joined to ``sales_history``.

    Returns:
        DataFrame[cycle, sku, period, y, naive, statistical, consensus, level, author] [units]; ``cycle``
        "YYYY-MM", ``level`` / ``author`` of the override that set the consensus ("" when none).
    """
    return _pairs(engine, cycle_id, _accuracy_stamp(engine))


def _pairs(engine: Engine, cycle_id: int | None, stamp: str) -> pd.DataFrame:
    """:func:`frozen_pairs` of the data stamped ``stamp`` (:func:`_accuracy_stamp`)."""
    return figures.once(engine, "frozen_pairs", (cycle_id,), stamp, lambda: _frozen_pairs(engine, cycle_id, stamp),
                        tables=figures.ONE_TABLE)


def _accuracy_stamp(engine: Engine) -> str:
    """The stamp of what the accuracy on the actuals reads: cycles, their runs, overrides and frozen versions,
    the sales history and the products."""
    return figures.data_stamp(engine, m.PlanCycle, m.ForecastRun, m.ForecastOverride, PlanVersion, m.SalesHistory,
                              m.Product)


def _frozen_pairs(engine: Engine, cycle_id: int | None, stamp: str) -> pd.DataFrame:
    frames = []
    with session_scope(engine) as s:
        cur = cycle_repo.cycle(s, cycle_id) if cycle_id is not None else None
        earlier = cycle_repo.cycles_before(s, cur.month if cur is not None else None)
        last_actual = stock_repo.last_sales_period(s)
        products = master_repo.products(s)
        inputs = []
        for c in reversed(earlier):  # oldest first
            run = forecast_repo.frozen_run(s, c.id)
            if run is None or last_actual is None:
                continue
            # the months after the cutoff that have actuals: an override changes its own month only, so the
            # consensus of these months needs these months' rows only
            rows = forecast_repo.forecast_demand(s, run.id, c.month, last_actual)
            inputs.append((c.month, rows, override_repo.overrides(s, c.id)))
    history = _sales(engine, stamp)
    hist = history.rename(columns={"sku": "unique_id", "period": "ds", "quantity": "y"})
    actual = history.rename(columns={"quantity": "y"})
    for month, rows, overrides in inputs:
        if rows.empty:
            continue
        cutoff = pd.Timestamp(month) - pd.DateOffset(months=1)
        detail = cons.apply_overrides(rows.rename(columns={"quantity": "qty"}), products, overrides).rename(
            columns={"qty": "consensus"})
        detail = detail[detail["period"] > cutoff]
        pairs = detail.merge(actual, on=["sku", "period"], how="inner")
        if pairs.empty:
            continue
        pairs["naive"] = metrics.seasonal_naive_at(
            hist[hist["ds"] <= cutoff], pairs.rename(columns={"sku": "unique_id", "period": "ds"}), cutoff, SEASON)
        pairs["cycle"] = f"{month:%Y-%m}"
        frames.append(pairs[PAIR_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def _sales(engine: Engine, stamp: str) -> pd.DataFrame:
    """The whole sales history (:func:`sop_core.db.stock_repo.sales`), read once per data version (``stamp``:
    :func:`_accuracy_stamp`, which covers the sales history)."""

    def read() -> pd.DataFrame:
        with session_scope(engine) as s:
            return stock_repo.sales(s)

    return figures.once(engine, "sales_history", (), stamp, read)


def _mase_scale(first_cycle: str, covered: pd.DataFrame, history: pd.DataFrame) -> pd.Series:
    """The MASE denominator per level item, mean_t |Y_s − Y_{s−12}|, over the history before the cycle
    ``first_cycle`` ("YYYY-MM") of the item's *covered* SKUs (``covered``: ``item, sku``) only: Y_s is their sum in
    month s, gaps being 0. NaN for items without such history."""
    first = pd.Timestamp(f"{first_cycle}-01")
    train = history[(history["period"] < first) & history["sku"].isin(covered["sku"])]
    if train.empty:
        return pd.Series(np.nan, index=pd.Index(covered["item"].unique(), name="unique_id"))
    full = fc.prepare_history(long_history(train), FREQ).rename(columns={"unique_id": "sku"})
    full = full.merge(covered[["item", "sku"]].drop_duplicates(), on="sku")
    agg = full.groupby(["item", "ds"], as_index=False)["y"].sum().rename(columns={"item": "unique_id"})
    return metrics.mase_scale(agg, SEASON)


def _mase(pairs: pd.DataFrame, forecast_col: str, scale: pd.Series) -> pd.Series:
    """MASE per level item (Hyndman & Koehler 2006, season m = 12):

        MASE = mean_t |y_t − ŷ_t| / mean_t |Y_s − Y_{s−12}|

    The numerator runs over the item's evaluated months (``pairs``: ``item, y`` and ``forecast_col``, the SKU pairs
    summed to the item); the scale is :func:`_mase_scale` of the SKUs whose forecasts were evaluated, before the
    earliest evaluated cycle — so sales of SKUs the forecasts did not cover (imported later, other businesses)
    change neither part."""
    mae = (pairs["y"] - pairs[forecast_col]).abs().groupby(pairs["item"]).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        return (mae / scale.reindex(mae.index)).where(lambda x: np.isfinite(x))


def accuracy_vs_actuals(engine: Engine, cycle_id: int | None, level: Level = "sku") -> pd.DataFrame:
    """Accuracy of earlier cycles' forecasts on the actuals since, per item of ``level``.

    Pairs of :func:`frozen_pairs` are summed to the level per cycle and month, then pooled over cycles.

    Returns:
        DataFrame[item, n, actual, wmape_naive, wmape_statistical, wmape_consensus, mape, mase, bias,
        tracking_signal, flagged]: WMAPE of the three forecasts; MAPE, MASE, bias and tracking signal of the
        consensus (formulas in :mod:`sop_core.planning.accuracy`); ``flagged`` when |tracking signal| > 4. Sorted by
        |tracking signal| descending.
    """
    stamp = _accuracy_stamp(engine)
    return figures.once(engine, "accuracy_vs_actuals", (cycle_id, level), stamp,
                        lambda: _accuracy_vs_actuals(engine, cycle_id, level, stamp), tables=figures.ONE_TABLE)


def _accuracy_vs_actuals(engine: Engine, cycle_id: int | None, level: Level, stamp: str) -> pd.DataFrame:
    cols = ["item", "n", "actual", "wmape_naive", "wmape_statistical", "wmape_consensus", "mape", "mase", "bias",
            "tracking_signal", "flagged"]
    pairs = _pairs(engine, cycle_id, stamp)
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    with session_scope(engine) as s:
        products = master_repo.products(s)
    pairs = pairs.assign(item=key_frame(pairs, products, level))
    agg = pairs.groupby(["cycle", "item", "period"], as_index=False)[["y", "naive", "statistical", "consensus"]].sum(
        min_count=1)
    fva = metrics.value_added(agg, by=["item"])
    acc = metrics.accuracy_table(agg, by=["item"], forecast_col="consensus").set_index("item")
    out = fva.set_index("item")[["n", "actual", "wmape_naive", "wmape_statistical", "wmape_consensus"]]
    out = out.join(acc[["mape", "bias", "tracking_signal"]])
    out["mase"] = _mase(agg, "consensus", _mase_scale(agg["cycle"].min(), pairs[["item", "sku"]], _sales(engine, stamp)))
    out["flagged"] = out["tracking_signal"].abs() > TRACKING_LIMIT
    out = out.reset_index().reindex(columns=cols)
    return out.reindex(out["tracking_signal"].abs().sort_values(ascending=False, kind="stable").index).reset_index(
        drop=True)


def tracking_flags(engine: Engine, cycle_id: int | None, level: Level = "sku") -> pd.DataFrame:
    """Items whose consensus tracking signal on earlier cycles lies beyond ±4 MADs (review them)."""
    acc = accuracy_vs_actuals(engine, cycle_id, level)
    return acc[acc["flagged"].astype(bool)].reset_index(drop=True)


def fva_table(engine: Engine, cycle_id: int | None) -> pd.DataFrame:
    """Forecast value added on earlier cycles: naive → statistical → consensus.

    Rows: ``All`` (every SKU-month), per hierarchy ``Level`` (forecasts summed to that level first), per
    ``Override level`` and per ``Author`` (the SKU-months whose consensus that level's / author's overrides
    set).

    Returns:
        DataFrame[group, name, n, actual, wmape_naive, wmape_statistical, wmape_consensus, fva_statistical,
        fva_consensus]: FVA = WMAPE(previous step) − WMAPE(step), fractions (> 0: the step added value).
    """
    stamp = _accuracy_stamp(engine)
    return figures.once(engine, "fva_table", (cycle_id,), stamp, lambda: _fva_table(engine, cycle_id, stamp),
                        tables=figures.ONE_TABLE)


def _fva_table(engine: Engine, cycle_id: int | None, stamp: str) -> pd.DataFrame:
    cols = ["group", "name", "n", "actual", "wmape_naive", "wmape_statistical", "wmape_consensus",
            "fva_statistical", "fva_consensus"]
    pairs = _pairs(engine, cycle_id, stamp)
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    with session_scope(engine) as s:
        products = master_repo.products(s)
    parts = [metrics.value_added(pairs).assign(group="All", name="all SKU-months")]
    for level in fc.LEVELS[1:]:
        agg = pairs.assign(item=key_frame(pairs, products, level)).groupby(
            ["cycle", "item", "period"], as_index=False)[["y", "naive", "statistical", "consensus"]].sum(min_count=1)
        parts.append(metrics.value_added(agg).assign(group="Level", name=level))
    touched = pairs[pairs["level"] != ""]
    if not touched.empty:
        parts.append(metrics.value_added(touched, by=["level"]).rename(columns={"level": "name"})
                     .assign(group="Override level"))
        parts.append(metrics.value_added(touched, by=["author"]).rename(columns={"author": "name"})
                     .assign(group="Author"))
    return pd.concat(parts, ignore_index=True)[cols]


def backtest_accuracy(engine: Engine, cycle_id: int, level: Level, item: str) -> dict[str, Any]:
    """Accuracy of the backtest stored with the cycle's newest run for one item.

    Returns:
        dict: ``method`` (text) and, when the run stored them, ``wmape``, ``mape``, ``mase``, ``bias``,
        ``tracking_signal`` of the item (from ``<metric>_by_level``) and ``coverage_80`` / ``coverage_95``
        (fractions); missing metrics are None.
    """
    run = latest_run(engine, cycle_id)
    bt = (run or {}).get("backtest") or {}
    out: dict[str, Any] = {"method": bt.get("method", "no backtest stored")}
    key = cons.normalise_item(level, item)
    for name in ("wmape", "mape", "mase", "bias", "tracking_signal"):
        out[name] = ((bt.get(f"{name}_by_level") or {}).get(level) or {}).get(key)
    for lv in INTERVAL_LEVELS:
        cov = bt.get("coverage") or {}
        out[f"coverage_{lv}"] = cov.get(str(lv), cov.get(lv)) if isinstance(cov, dict) else None
    return out


def item_accuracy(engine: Engine, cycle_id: int, level: Level, item: str) -> pd.DataFrame:
    """Accuracy of one item: the stored backtest of the statistical forecast, and naive / statistical /
    consensus forecasts of earlier cycles against the actuals since.

    Returns:
        DataFrame[forecast, n, wmape, mape, mase, bias, tracking_signal] — ratios as fractions, the tracking
        signal in MADs; rows "Backtest (statistical)", "Seasonal naive", "Statistical", "Consensus".
    """
    stamp = _accuracy_stamp(engine)
    return figures.once(engine, "item_accuracy", (cycle_id, level, item), stamp,
                        lambda: _item_accuracy(engine, cycle_id, level, item, stamp), tables=figures.ONE_TABLE)


def _item_accuracy(engine: Engine, cycle_id: int, level: Level, item: str, stamp: str) -> pd.DataFrame:
    cols = ["forecast", "n", "wmape", "mape", "mase", "bias", "tracking_signal"]
    bt = backtest_accuracy(engine, cycle_id, level, item)
    rows = [{"forecast": "Backtest (statistical)", "n": None, **{c: bt.get(c) for c in cols[2:]}}]
    pairs = _pairs(engine, cycle_id, stamp)
    if not pairs.empty:
        with session_scope(engine) as s:
            products = master_repo.products(s)
        key = cons.normalise_item(level, item)
        mine = pairs[key_frame(pairs, products, level) == key]
        agg = mine.groupby(["cycle", "period"], as_index=False)[["y", "naive", "statistical", "consensus"]].sum()
        agg["item"] = key
        scale = _mase_scale(agg["cycle"].min(), mine[["sku"]].assign(item=key), _sales(engine, stamp)) if len(agg) \
            else None
        for label, col in (("Seasonal naive", "naive"), ("Statistical", "statistical"), ("Consensus", "consensus")):
            if scale is None:
                break
            t = metrics.accuracy_table(agg, by=[], forecast_col=col).iloc[0]
            mase = _mase(agg, col, scale).get(key)
            rows.append({"forecast": label, "n": int(t["n"]), "wmape": t["wmape"], "mape": t["mape"],
                         "mase": mase, "bias": t["bias"], "tracking_signal": t["tracking_signal"]})
    return pd.DataFrame(rows, columns=cols)
