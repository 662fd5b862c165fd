"""Known events (campaigns, promotions, Black Friday …) as a multiplicative uplift on demand.

An event of a series in a period multiplies its demand: y_t = b_t · (1 + u_t), where b_t is the baseline
demand (what the period would have sold without the event) and u_t the event's uplift as a fraction (0.3
for "+30 %"; 0 in periods without an event). An engine that has no event feature (the statistical models)
therefore

1. fits the **event-adjusted baseline** of the history, b_t = y_t / (1 + u_t), so that past events do not
   distort the level and the seasonal pattern, and
2. multiplies the baseline forecast of every future period by (1 + u_t) of the events planned in it:
   ŷ_t = b̂_t · (1 + u_t), and the interval bounds alike (the event scales the whole distribution).

In a period without an event, u_t = 0 and nothing changes. An uplift of −90 % or below counts as −90 %
(factor :data:`MIN_FACTOR`): a period an event emptied tells little about the baseline, and the division
must stay finite.

The "auto" engine applies the same rule to its statistical members (the LightGBM member takes u_t as a
feature); Prophet takes u_t as an additive regressor (:mod:`sop_core.planning.forecast.prophet_engine`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Smallest factor 1 + u an event can have (an uplift of −90 % or below counts as −90 %).
MIN_FACTOR = 0.1
#: Forecast columns an event scales.
FORECAST_COLUMNS: tuple[str, ...] = ("yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95")


def uplift_factor(frame: pd.DataFrame, uplift: pd.DataFrame | None) -> np.ndarray:
    """The factor 1 + u_t of every row of ``frame`` (``unique_id, ds``); 1 where no event is known.

    Args:
        frame: rows with ``unique_id`` and ``ds`` (period start).
        uplift: ``unique_id, ds, uplift`` — known event uplift u [fraction] per series and period, or None.

    Returns:
        array of factors (≥ :data:`MIN_FACTOR`), aligned with the rows of ``frame``.
    """
    if uplift is None or uplift.empty or frame.empty:
        return np.ones(len(frame))
    u = uplift.assign(ds=pd.to_datetime(uplift["ds"])).groupby(["unique_id", "ds"])["uplift"].max()
    keys = pd.MultiIndex.from_arrays([frame["unique_id"].to_numpy(), pd.to_datetime(frame["ds"]).to_numpy()])
    found = u.reindex(keys).fillna(0.0).to_numpy(dtype=float)
    factors: np.ndarray = np.maximum(1.0 + found, MIN_FACTOR)
    return factors


def remove_uplift(history: pd.DataFrame, uplift: pd.DataFrame | None) -> pd.DataFrame:
    """The event-adjusted baseline of a history: ``y`` divided by 1 + u_t of its period.

    Example:
        >>> hist = pd.DataFrame({"unique_id": "a", "ds": pd.to_datetime(["2025-10-01", "2025-11-01"]),
        ...                      "y": [100.0, 130.0]})
        >>> up = pd.DataFrame({"unique_id": ["a"], "ds": pd.to_datetime(["2025-11-01"]), "uplift": [0.3]})
        >>> remove_uplift(hist, up)["y"].round(6).tolist()
        [100.0, 100.0]
    """
    factor = uplift_factor(history, uplift)
    if np.all(factor == 1.0):
        return history
    return history.assign(y=history["y"].to_numpy(dtype=float) / factor)


def apply_uplift(forecast: pd.DataFrame, uplift: pd.DataFrame | None,
                 columns: Sequence[str] = FORECAST_COLUMNS) -> pd.DataFrame:
    """A baseline forecast with the future events applied: ``columns`` multiplied by 1 + u_t of their period.

    Example:
        >>> fc = pd.DataFrame({"unique_id": "a", "ds": pd.to_datetime(["2026-10-01", "2026-11-01"]),
        ...                    "yhat": [100.0, 100.0]})
        >>> up = pd.DataFrame({"unique_id": ["a"], "ds": pd.to_datetime(["2026-11-01"]), "uplift": [0.3]})
        >>> apply_uplift(fc, up)["yhat"].round(6).tolist()
        [100.0, 130.0]
    """
    factor = uplift_factor(forecast, uplift)
    if np.all(factor == 1.0):
        return forecast
    out = forecast.copy()
    for c in columns:
        if c in out.columns:
            out[c] = out[c].to_numpy(dtype=float) * factor
    return out
