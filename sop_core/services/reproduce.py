"""Reproduction of a signed plan: re-run the forecast and the plan of a frozen version from its stored
inputs and compare every number with what was stored at sign-off.

Quantities in units, money in the company currency, periods are month starts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from sop_core.db import forecast_repo, master_repo, plan_repo, stock_repo, version_repo
from sop_core.db.engine import session_scope
from sop_core.planning import levers as lev
from sop_core.planning import scenario as sc
from sop_core.planning.forecast.chunks import ChunkRunner
from sop_core.services.cycle import WorkflowError, cycle_row, month_label
from sop_core.services.forecasting import calendar_frame, data_hash, event_uplift, statistical_forecast
from sop_core.services.snapshot import PLAN_FIELDS, inputs_from_json, inputs_hash, package_versions
from sop_core.units import INTERVAL_LEVELS, Progress

log = logging.getLogger(__name__)

#: Tolerance of :func:`reproduce`: |a − b| ≤ ABS_TOL + REL_TOL·|b|.
REL_TOL = 1e-9
ABS_TOL = 1e-6


@dataclass
class ReproduceReport:
    """What :func:`reproduce` found: ``ok`` when every number matched."""

    cycle: str
    plan_version: int
    checked: int = 0
    mismatches: int = 0
    first: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mismatches == 0

    def summary(self) -> str:
        if self.ok:
            return f"cycle {self.cycle} plan version {self.plan_version}: all {self.checked} numbers match"
        return (
            f"cycle {self.cycle} plan version {self.plan_version}: {self.mismatches} of {self.checked} numbers "
            f"differ; first: {self.first}"
        )


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ok: np.ndarray = np.abs(a - b) <= ABS_TOL + REL_TOL * np.abs(b)
    return ok


def first_mismatch(stored: pd.DataFrame, fresh: pd.DataFrame, fields: tuple[str, ...] = PLAN_FIELDS) -> str | None:
    """The first differing number of two line frames (``sku, period`` + ``fields``), None when equal."""
    bad, _n, first = compare(stored, fresh, fields, "plan line")
    return first if bad else None


def compare(stored: pd.DataFrame, fresh: pd.DataFrame, fields: tuple[str, ...], what: str) -> tuple[int, int, str | None]:
    """``(numbers that differ, numbers checked, the first difference in words)`` of two line frames
    (``sku, period`` + ``fields``; a row on one side only counts every field as differing)."""
    a = stored[["sku", "period", *fields]].assign(period=pd.to_datetime(stored["period"]))
    b = fresh[["sku", "period", *fields]].assign(period=pd.to_datetime(fresh["period"]))
    both = a.merge(b, on=["sku", "period"], how="outer", suffixes=("_stored", "_new"), indicator=True)
    both = both.sort_values(["sku", "period"], kind="stable").reset_index(drop=True)
    n = len(both) * len(fields)
    bad = 0
    first: str | None = None
    missing = both[both["_merge"] != "both"]
    if len(missing):
        bad += len(missing) * len(fields)
        r = missing.iloc[0]
        side = "stored only" if r["_merge"] == "left_only" else "reproduced only"
        first = f"{what} {r['sku']} {pd.Timestamp(r['period']):%Y-%m}: {side}"
    both = both[both["_merge"] == "both"]
    for f in fields:
        x, y = both[f + "_stored"].to_numpy(float), both[f + "_new"].to_numpy(float)
        ok = _close(y, x) | (np.isnan(x) & np.isnan(y))
        if (~ok).any():
            bad += int((~ok).sum())
            if first is None:
                r = both[~ok].iloc[0]
                first = (
                    f"{what} {r['sku']} {pd.Timestamp(r['period']):%Y-%m} {f}: stored {r[f + '_stored']!r}, "
                    f"reproduced {r[f + '_new']!r}"
                )
    return bad, n, first


def forecast_history(history: pd.DataFrame, horizon: int, level: tuple[int, ...] = INTERVAL_LEVELS,
                     events: pd.DataFrame | None = None, products: pd.DataFrame | None = None, *,
                     workers: int = 1, progress: Progress | None = None,
                     chunk_runner: ChunkRunner | None = None) -> pd.DataFrame:
    """The statistical forecast of ``history`` (``sku, period, quantity``) with the engine of
    :func:`sop_core.services.demand.run_forecast` and the event calendar ``events`` (``start, scope,
    uplift_pct``; scopes name SKUs or the families of ``products``), on ``workers`` processes or on
    ``chunk_runner`` when given (the figures do not depend on them): ``sku, period, yhat, yhat_lo_*, yhat_hi_*,
    model`` [units]."""
    long = history.rename(columns={"sku": "unique_id", "period": "ds", "quantity": "y"})[["unique_id", "ds", "y"]]
    long = long.assign(ds=pd.to_datetime(long["ds"]))
    uplift = None
    if events is not None and not events.empty:
        if products is None:
            raise ValueError("forecast_history: events need the products (sku, family) to find their SKUs")
        uplift = event_uplift(events, products, sorted(long["unique_id"].astype(str).unique()))
    frame = statistical_forecast(long, horizon, uplift, level=tuple(level), workers=workers, progress=progress,
                                 chunk_runner=chunk_runner)
    return frame.rename(columns={"unique_id": "sku", "ds": "period"})


def reproduce(engine: Engine, cycle_id: int, progress: Progress | None = None) -> ReproduceReport:
    """Re-run the forecast and the plan of the cycle's newest frozen version from its stored inputs and
    compare every number (history hash, snapshot hash, forecast rows, plan lines).

    Raises:
        WorkflowError: the cycle has no frozen plan version.
    """
    report = progress or (lambda _f, _m: None)
    with session_scope(engine) as s:
        label = month_label(cycle_row(s, cycle_id).month)
        pv = version_repo.newest_frozen(s, cycle_id)
        if pv is None:
            raise WorkflowError(f"cycle {label} has no signed-off plan version to reproduce")
        snap, version = dict(pv.inputs), pv.version
        stored_inputs_hash, stored_data_hash, cutoff = pv.inputs_hash, pv.data_hash, pv.history_cutoff
        stored_versions = dict(pv.package_versions or {})
        history = stock_repo.sales(s, last=cutoff)
        stored_fc = forecast_repo.forecast_rows(s, pv.forecast_run_id) if pv.forecast_run_id else None
        stored_lines = plan_repo.plan_lines(s, cycle_id, version)
        products = master_repo.products(s)
    out = ReproduceReport(cycle=label, plan_version=version)

    def note(bad: int, n: int, first: str | None) -> None:
        out.checked += n
        out.mismatches += bad
        if bad and out.first is None:
            out.first = first

    report(0.05, "Checking the stored inputs…")
    now_versions = package_versions()
    for pkg, ver in stored_versions.items():
        if now_versions.get(pkg) != ver:
            out.notes.append(f"{pkg} {ver} at sign-off, {now_versions.get(pkg)} now")
    h = data_hash(history)
    note(int(h != stored_data_hash), 1, f"sales history up to {cutoff:%Y-%m} changed since sign-off (hash differs)")
    note(
        int(inputs_hash(stored_data_hash, snap) != stored_inputs_hash),
        1,
        "the stored input snapshot was changed (inputs hash differs)",
    )
    fcst = snap["forecast"]
    report(0.15, "Re-running the statistical forecast…")
    fresh = forecast_history(history, int(fcst["horizon"]), tuple(fcst.get("level") or INTERVAL_LEVELS),
                             calendar_frame(fcst.get("events")), products)
    if stored_fc is not None:
        note(*compare(stored_fc, fresh, ("yhat",), "forecast"))
    report(0.8, "Re-computing the plan…")
    demand = fresh[["sku", "period", "yhat"]].rename(columns={"yhat": "qty"})
    if snap.get("base_overrides"):
        over = pd.DataFrame(snap["base_overrides"], columns=["sku", "period", "qty"])
        over["period"] = pd.to_datetime(over["period"])
        demand = demand.merge(over, on=["sku", "period"], how="outer", suffixes=("", "_o"))
        demand["qty"] = demand["qty_o"].where(demand["qty_o"].notna(), demand["qty"]).fillna(0.0)
        demand = demand[["sku", "period", "qty"]]
    inputs = inputs_from_json(snap["plan_inputs"], demand)
    result = sc.evaluate(inputs, lev.Levers.from_dict(snap["levers"]))
    note(*compare(stored_lines, result.lines, PLAN_FIELDS, "plan line"))
    report(1.0, out.summary())
    log.info(out.summary())
    return out
