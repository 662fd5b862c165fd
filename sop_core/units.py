"""Shared units and constants: each fact the package uses in more than one place, once.

Time: a month is 365.25 / 12 days on average (30.4375), the basis of every days-of-cover and daily-demand
figure. Horizons are in months. Interval levels are the central coverages of the forecast's prediction
intervals, in percent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

#: Mean days per month [days/month], 365.25 / 12: daily demand = monthly demand / DAYS_PER_MONTH.
DAYS_PER_MONTH: float = 365.25 / 12
#: Months the statistical forecast looks ahead by default [months].
FORECAST_HORIZON: int = 18
#: Months the constrained plan and its scenarios cover [months]; never more than the forecast horizon.
PLAN_HORIZON: int = 18
#: Most SKUs the constrained plan solves with one LP item per SKU [SKUs]; a larger plan is solved per family ×
#: make/buy and split to the SKUs by need (:mod:`sop_core.planning.scenario_family`), so that a what-if lever
#: answers within a second (the SKU-level LP of 864 SKUs takes about 0.6 s, of 3,463 SKUs about 4 s: bench/whatif.py).
SKU_PLAN_MAX_SKUS: int = 1_000
#: Months held out at the end of the history to score forecast accuracy [months].
BACKTEST_HORIZON: int = 6
#: Central coverages of the forecast's prediction intervals [%].
INTERVAL_LEVELS: tuple[int, ...] = (80, 95)
#: The roles of a team, from least to most rights.
ROLES: tuple[str, ...] = ("viewer", "demand_planner", "supply_planner", "finance", "executive", "admin")
#: The roles that sign a cycle's plan off; when all four have signed a plan version, it is frozen.
SIGNOFF_ROLES: tuple[str, ...] = ("demand_planner", "supply_planner", "finance", "executive")

#: A progress callback: ``progress(fraction_done in [0, 1], what_is_being_done)``.
Progress: TypeAlias = Callable[[float, str], None]
#: Most rows a page sends to the browser in one table or per-row chart [rows]; larger frames are cut with a note.
MAX_ROWS_TO_BROWSER: int = 10_000
#: Rows a table shows at a time; a larger table gets a search box and a page number, and only the page is sent [rows].
TABLE_PAGE_ROWS: int = 1_000
#: Most rows a chart draws, one per resource or item (the busiest first); its table below has every row [rows].
MAX_CHART_ROWS: int = 40
#: Most matches a search picker lists at once [options].
MAX_PICKER_OPTIONS: int = 50
