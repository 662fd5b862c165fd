"""Demand pattern classification (Syntetos–Boylan).

Each series is placed in one of four quadrants by two statistics of its history:

* ADI, the average demand interval [periods]: the number of periods from the first non-zero demand
  to the end of the series divided by the number of non-zero demands (ADI = 1 means demand every period);
* CV², the squared coefficient of variation of the non-zero demand sizes (population standard deviation).

=============  ===========  ===========
               CV² < 0.49   CV² ≥ 0.49
=============  ===========  ===========
ADI < 1.32     smooth       erratic
ADI ≥ 1.32     intermittent lumpy
=============  ===========  ===========

Reference: Syntetos, A. A., Boylan, J. E. & Croston, J. D. (2005). On the categorization of demand
patterns. Journal of the Operational Research Society 56(5), 495–503.

Leading zeros (before the first non-zero demand) are treated as "not yet launched" and ignored. A series
without any non-zero demand has ADI = inf and CV² = 0 and is classified intermittent.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

#: Cut-off of the average demand interval [periods] (Syntetos, Boylan & Croston 2005).
ADI_CUTOFF = 1.32
#: Cut-off of the squared coefficient of variation of non-zero demand sizes [-].
CV2_CUTOFF = 0.49

Pattern = Literal["smooth", "erratic", "intermittent", "lumpy"]
PATTERNS: tuple[str, ...] = ("smooth", "erratic", "intermittent", "lumpy")


def pattern_of(adi: float, cv2: float) -> Pattern:
    """The Syntetos–Boylan quadrant of one series.

    Args:
        adi: average demand interval [periods] (ADI ≥ 1).
        cv2: squared coefficient of variation of non-zero demand sizes [-].

    Returns:
        "smooth", "erratic", "intermittent" or "lumpy".

    Example:
        >>> pattern_of(1.0, 0.1), pattern_of(1.0, 0.6), pattern_of(2.0, 0.1), pattern_of(2.0, 0.6)
        ('smooth', 'erratic', 'intermittent', 'lumpy')
    """
    sparse = adi >= ADI_CUTOFF
    variable = cv2 >= CV2_CUTOFF
    if sparse:
        return "lumpy" if variable else "intermittent"
    return "erratic" if variable else "smooth"


def classify_demand(
    history: pd.DataFrame, *, id_col: str = "unique_id", time_col: str = "ds", target_col: str = "y"
) -> pd.DataFrame:
    """Classify every series of a long-format history by the Syntetos–Boylan scheme.

    ADI = n / k, where n is the number of periods from the first non-zero demand to the last period of the
    series and k the number of non-zero demands; CV² = (σ_z / μ_z)² over the non-zero demand sizes z
    (population σ). Missing periods must already be filled with zeros (``forecast`` does this).

    Args:
        history: long frame with one row per series and period; ``target_col`` is demand [units].
        id_col: series identifier column.
        time_col: period column (used for ordering only).
        target_col: demand column [units].

    Returns:
        DataFrame[unique_id, adi, cv2, pattern] (the id column keeps the name ``id_col``), one row per
        series, sorted by id.

    Example:
        >>> h = pd.DataFrame({"unique_id": ["a"] * 4, "ds": range(4), "y": [0.0, 2.0, 0.0, 2.0]})
        >>> classify_demand(h).to_dict("records")
        [{'unique_id': 'a', 'adi': 1.5, 'cv2': 0.0, 'pattern': 'intermittent'}]
    """
    frame = history[[id_col, time_col, target_col]].sort_values([id_col, time_col], kind="stable")
    y = frame[target_col].to_numpy(dtype=float)
    ids = frame[id_col].to_numpy()
    positive = y > 0
    # periods since launch: everything from the first non-zero demand on counts
    launched = pd.Series(positive).groupby(ids, sort=False).cummax().to_numpy()
    grouped = pd.DataFrame({"id": ids, "launched": launched, "pos": positive, "z": np.where(positive, y, np.nan)})
    stats = grouped.groupby("id", sort=True).agg(
        n=("launched", "sum"), k=("pos", "sum"), mean=("z", "mean"), std=("z", lambda s: s.std(ddof=0))
    )
    k = stats["k"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        adi = np.where(k > 0, stats["n"].to_numpy(dtype=float) / k, np.inf)
        cv2 = np.where(k > 0, (stats["std"].to_numpy(dtype=float) / stats["mean"].to_numpy(dtype=float)) ** 2, 0.0)
    cv2 = np.nan_to_num(cv2, nan=0.0)
    out = pd.DataFrame({id_col: stats.index.to_numpy(), "adi": adi, "cv2": cv2})
    out["pattern"] = [pattern_of(a, c) for a, c in zip(out["adi"], out["cv2"], strict=True)]
    return out
