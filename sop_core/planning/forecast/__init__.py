"""Demand forecasting: statistical, automatic (backtest choice), LightGBM and Prophet engines, backtests,
demand classification, hierarchy and reconciliation.

Public contract (long format ``unique_id, ds, y``; see :mod:`sop_core.planning.forecast.core`):

* :func:`forecast` ``(history, horizon, freq="MS", engine="statistical", level=(80, 95)) ->
  unique_id, ds, yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95, model``
* :func:`backtest` ``(history, horizon, windows, engine) -> unique_id, cutoff, ds, y, yhat, model``
* :func:`classify_demand` ``(history) -> unique_id, adi, cv2, pattern`` (Syntetos–Boylan)
* :func:`aggregate` ``(frame, products, level)`` — bottom-up sums to family / category / total
* :func:`reconcile` ``(base, products, method)`` — coherent SKU forecasts from base forecasts of every level
* :func:`spread_override` — an override of any level spread to its SKUs in proportion

Pure functions on DataFrames: no database, no user interface.
"""

from __future__ import annotations

from sop_core.planning.forecast.classify import ADI_CUTOFF, CV2_CUTOFF, PATTERNS, classify_demand
from sop_core.planning.forecast.core import ENGINES, backtest, check_engine, forecast, forecast_details, prepare_history
from sop_core.planning.forecast.hierarchy import LEVELS, TOTAL_ITEM, aggregate, bounds_from_squares, spread_override
from sop_core.planning.forecast.reconcile import METHODS as RECONCILE_METHODS
from sop_core.planning.forecast.reconcile import reconcile
from sop_core.planning.forecast.statistical import StatisticalForecaster, season_length_for

__all__ = [
    "ADI_CUTOFF",
    "CV2_CUTOFF",
    "ENGINES",
    "RECONCILE_METHODS",
    "LEVELS",
    "PATTERNS",
    "TOTAL_ITEM",
    "StatisticalForecaster",
    "aggregate",
    "bounds_from_squares",
    "backtest",
    "check_engine",
    "classify_demand",
    "forecast",
    "forecast_details",
    "prepare_history",
    "reconcile",
    "season_length_for",
    "spread_override",
]
