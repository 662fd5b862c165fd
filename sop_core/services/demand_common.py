"""Shared constants and the error type of the demand services."""

from __future__ import annotations

from sop_core.errors import SopError

FREQ = "MS"
LEVEL = (80, 95)
#: The backtest stored with every run: one window, this many months before the last actual.
BACKTEST_HORIZON = 6
SUMMARY_MONTHS = (3, 6, 12)
#: Roles allowed to start a forecast run.
RUN_ROLES = ("demand_planner", "admin")
VIEW_COLUMNS = ["period", "actual", "forecast", "lo_80", "hi_80", "lo_95", "hi_95"]


class DemandError(SopError):
    """A demand-review request that cannot be served (message is one line for the user)."""


#: Cycle states in which overrides may still change (later states lock them).
EDITABLE_STATES = ("draft", "demand_review")
#: A tracking signal beyond ± this many MADs flags an item for review.
TRACKING_LIMIT = 4.0
#: Seasonal period of monthly data (seasonal naive and the MASE scale) [months].
SEASON = 12


class OverridesLocked(DemandError):
    """The cycle has moved past the demand review: its overrides can no longer change."""


class OverrideConflict(DemandError):
    """Someone else changed the same overrides since they were read (optimistic locking)."""
