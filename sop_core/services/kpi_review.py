"""The KPI page of one segment in one call: the KPI summary with targets and lights, the monthly trends and
the open exceptions of the monitor."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from sop_core.services import kpi, kpi_targets, monitor


@dataclass(frozen=True)
class KpiReview:
    """What the KPI page shows of a segment before any drill-down."""

    segment_label: str  # kpi_targets.segment_label, e.g. "ABC class A"
    summary: pd.DataFrame  # kpi.kpi_summary; attrs as_of (ISO date) and accuracy_source
    trends: pd.DataFrame  # kpi.kpi_trends: key, kpi, period, value, target (display units)
    exceptions: pd.DataFrame  # monitor.exception_list: the open exceptions, newest first


def review(engine: Engine, segment: str = "all") -> KpiReview:
    """The KPI review of a segment (``all``, ``family:<code>`` or ``abc:A|B|C``), see :class:`KpiReview`.

    Raises:
        KpiError: on a malformed segment.
    """
    return KpiReview(
        segment_label=kpi_targets.segment_label(segment),
        summary=kpi.kpi_summary(engine, segment=segment),
        trends=kpi.kpi_trends(engine, segment),
        exceptions=monitor.exception_list(engine),
    )
