"""The KPI page of one segment in one call: the KPI summary with targets and lights, the monthly trends and
the open exceptions of the monitor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from sop_core.db.models_monitor import KpiException, KpiTarget
from sop_core.services import figures, kpi, kpi_targets, monitor
from sop_core.services.kpi_measures import KPI_INPUTS


@dataclass(frozen=True)
class KpiReview:
    """What the KPI page shows of a segment before any drill-down."""

    segment_label: str  # kpi_targets.segment_label, e.g. "ABC class A"
    summary: pd.DataFrame  # kpi.kpi_summary; attrs as_of (ISO date) and accuracy_source
    trends: pd.DataFrame  # kpi.kpi_trends: key, kpi, period, value, target (display units)
    exceptions: pd.DataFrame  # monitor.exception_list: the open exceptions, newest first


#: How a :class:`KpiReview` is stored (:mod:`sop_core.services.figures`).
REVIEW_TABLES: figures.Tables[KpiReview] = figures.Tables(
    lambda r: {"label": pd.DataFrame({"segment_label": [r.segment_label]}), "summary": r.summary, "trends": r.trends,
               "exceptions": r.exceptions},
    lambda t: KpiReview(segment_label=str(t["label"].at[0, "segment_label"]), summary=t["summary"], trends=t["trends"],
                        exceptions=t["exceptions"]),
)


def review(engine: Engine, segment: str = "all") -> KpiReview:
    """The KPI review of a segment (``all``, ``family:<code>`` or ``abc:A|B|C``), see :class:`KpiReview`, computed
    once per data version and day (:mod:`sop_core.services.figures`).

    Raises:
        KpiError: on a malformed segment.
    """
    stamp = figures.data_stamp(engine, *KPI_INPUTS, KpiTarget, KpiException)
    return figures.once(
        engine, "kpi_review", (segment, dt.date.today()), stamp,
        lambda: KpiReview(
            segment_label=kpi_targets.segment_label(segment),
            summary=kpi.kpi_summary(engine, segment=segment),
            trends=kpi.kpi_trends(engine, segment),
            exceptions=monitor.exception_list(engine),
        ),
        tables=REVIEW_TABLES,
    )
