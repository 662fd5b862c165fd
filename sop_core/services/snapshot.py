"""The frozen snapshot of a plan version: what its plan was computed on (as JSON), the hashes that seal it
and the package versions that computed it.

Money is in the company currency, quantities in units, periods are month starts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

import sop_core
from sop_core.db import models as m
from sop_core.db import override_repo, repo, version_repo
from sop_core.db.models_cycle import PlanVersion
from sop_core.planning import levers as lev
from sop_core.planning import scenario as sc
from sop_core.planning import scenario_inputs as sci
from sop_core.services import plan

#: The prediction interval levels of a forecast run that does not name its own [%].
#: The numbers of a plan line that a frozen version seals (:func:`results_hash`) and reproduction checks.
PLAN_FIELDS = ("demand_qty", "supply_qty", "inventory_qty", "revenue", "cost")


def package_versions() -> dict[str, str]:
    """Versions of the packages whose code computes forecast and plan: package name → version text."""
    out = {"sop_core": sop_core.__version__}
    for name in ("pandas", "numpy", "statsforecast", "scipy", "SQLAlchemy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - required dependencies
            out[name] = "unknown"
    return out


def inputs_hash(data_hash: str, inputs: dict[str, Any]) -> str:
    """sha256 (hex) of the history hash and the canonical JSON of the snapshot."""
    text = data_hash + "\n" + json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def results_hash(lines: pd.DataFrame) -> str:
    """sha256 (hex) of plan lines (``sku, period`` and :data:`PLAN_FIELDS`, sorted, exact float repr)."""
    frame = lines.sort_values(["sku", "period"], kind="stable")
    digest = hashlib.sha256()
    for row in frame[["sku", "period", *PLAN_FIELDS]].itertuples(index=False):
        digest.update(
            (f"{row[0]},{pd.Timestamp(row[1]):%Y-%m-%d}," + ",".join(repr(float(x)) for x in row[2:]) + "\n").encode()
        )
    return digest.hexdigest()


@dataclass
class Snapshot:
    """One plan version as it is frozen (:func:`build_snapshot`)."""

    inputs: dict[str, Any]
    data_hash: str
    components: pd.DataFrame  # plan_version_line rows
    lines: pd.DataFrame  # plan lines (evaluated)
    kpis: dict[str, float | None]
    run_id: int | None
    scenario_id: int | None
    cutoff: dt.date | None


def _records(frame: pd.DataFrame, cols: list[str]) -> list[list[Any]]:
    out = []
    for row in frame[cols].itertuples(index=False):
        out.append([f"{v:%Y-%m-%d}" if isinstance(v, (pd.Timestamp, dt.date)) else v for v in row])

    def clean(x: Any) -> Any:
        x = x.item() if isinstance(x, np.generic) else x
        return None if isinstance(x, float) and not np.isfinite(x) else x  # JSON has no NaN (PostgreSQL)

    return [[clean(x) for x in r] for r in out]


def inputs_to_json(inputs: sci.ScenarioInputs) -> dict[str, Any]:
    """Every field of the scenario inputs but the demand as JSON (frames as columns + rows, exact floats)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(inputs):
        if f.name == "demand":
            continue
        value = getattr(inputs, f.name)
        if isinstance(value, pd.DataFrame):
            dates = [c for c in value.columns if pd.api.types.is_datetime64_any_dtype(value[c])]
            out[f.name] = {"columns": [str(c) for c in value.columns], "dates": dates,
                           "rows": _records(value, list(value.columns))}
        else:
            out[f.name] = value
    return out


def inputs_from_json(data: dict[str, Any], demand: pd.DataFrame) -> sci.ScenarioInputs:
    """The scenario inputs stored by :func:`inputs_to_json`, with ``demand``."""
    kwargs: dict[str, Any] = {"demand": demand}
    for name, value in data.items():
        if isinstance(value, dict) and "columns" in value and "rows" in value:
            frame = pd.DataFrame(value["rows"], columns=value["columns"])
            for col in value.get("dates", []):
                frame[col] = pd.to_datetime(frame[col])
            kwargs[name] = frame
        else:
            kwargs[name] = value
    return sci.ScenarioInputs(**kwargs)


def build_snapshot(
    *,
    label: str,
    version: int,
    stat: pd.DataFrame,
    inputs: sci.ScenarioInputs,
    levers: lev.Levers,
    run: dict[str, Any],
    data_hash: str,
    scenario: dict[str, Any] | None,
    overrides: list[dict[str, Any]],
) -> Snapshot:
    """The frozen snapshot of one plan version (pure: no database).

    Args:
        label: the cycle ``YYYY-MM``; version: the plan version.
        stat: ``sku, period, qty`` — the statistical forecast [units].
        inputs: what the plan was evaluated on (demand after overrides, products, stock, open orders).
        levers: the scenario levers of the plan.
        run: ``id, engine, horizon, freq, level, history_cutoff`` of the forecast run, and ``events`` (the
            event calendar the run used, :func:`sop_core.services.forecasting.event_calendar`) when it has one.
        data_hash: sha256 of the sales history the forecast used.
        scenario: ``id, name`` of the source scenario (None: baseline).
        overrides: the cycle's override rows (for the record).
    """
    result = sc.evaluate(inputs, levers)
    joined = _stat_and_base(stat, inputs)
    changed = joined[joined["qty_stat"] != joined["qty_base"]]
    snap = {
        "cycle": label,
        "plan_version": version,
        "forecast": {k: run.get(k) for k in ("id", "engine", "horizon", "freq", "level", "history_cutoff")}
        | ({"events": run["events"]} if run.get("events") is not None else {}),
        "scenario": scenario,
        "levers": levers.to_dict(),
        "base_overrides": _records(changed.rename(columns={"qty_base": "qty"}), ["sku", "period", "qty"]),
        "overrides": overrides,
        "plan_inputs": inputs_to_json(inputs),
    }
    lines = result.lines
    return Snapshot(
        inputs=snap,
        data_hash=data_hash,
        components=_components(lines, joined),
        lines=lines,
        kpis=plan.kpis_json(result.kpis),
        run_id=run.get("id"),
        scenario_id=scenario["id"] if scenario else None,
        cutoff=pd.Timestamp(run["history_cutoff"]).date() if run.get("history_cutoff") else None,
    )


def _stat_and_base(stat: pd.DataFrame, inputs: sci.ScenarioInputs) -> pd.DataFrame:
    """``sku, period, qty_stat, qty_base``: the statistical forecast and the demand the plan starts from (0 where a
    side has no row)."""
    stat = stat.assign(period=pd.to_datetime(stat["period"]))
    base = inputs.demand.assign(period=pd.to_datetime(inputs.demand["period"]))
    return stat.merge(base, on=["sku", "period"], how="outer", suffixes=("_stat", "_base")).fillna(0.0)


def _components(lines: pd.DataFrame, joined: pd.DataFrame) -> pd.DataFrame:
    """Per plan line, what the plan started from (``plan_version_line`` rows): the plan's demand, served and revenue
    with the statistical forecast ``stat_qty`` and the starting demand ``base_qty``."""
    comp = lines[["sku", "family", "period", "demand_qty", "served_qty", "revenue"]].merge(
        joined.rename(columns={"qty_stat": "stat_qty", "qty_base": "base_qty"}), on=["sku", "period"], how="left"
    )
    comp[["stat_qty", "base_qty"]] = comp[["stat_qty", "base_qty"]].fillna(0.0)
    return comp


def plan_components(stat: pd.DataFrame, inputs: sci.ScenarioInputs, levers: lev.Levers) -> pd.DataFrame:
    """The ``plan_version_line`` rows of ``levers`` evaluated on ``inputs`` (what :func:`build_snapshot` seals, without
    the rest of the snapshot): ``sku, family, period, demand_qty, served_qty, revenue, stat_qty, base_qty``."""
    return _components(sc.evaluate(inputs, levers).lines, _stat_and_base(stat, inputs))


def store_frozen_version(
    session: Session, cycle_id: int, version: int, snap: Snapshot, user: str, at: dt.datetime, *, write_lines: bool
) -> int:
    """Write the frozen ``plan_version`` row and its ``plan_version_line`` rows (and, with
    ``write_lines``, the plan lines themselves); returns the version row id."""
    if write_lines:
        repo.insert_frame(
            session, m.PlanLine, snap.lines, cycle_id=cycle_id, plan_version=version, scenario_id=snap.scenario_id
        )
    row = PlanVersion(
        cycle_id=cycle_id,
        version=version,
        status="frozen",
        scenario_id=snap.scenario_id,
        forecast_run_id=snap.run_id,
        history_cutoff=snap.cutoff,
        data_hash=snap.data_hash,
        inputs=snap.inputs,
        inputs_hash=inputs_hash(snap.data_hash, snap.inputs),
        results_hash=results_hash(snap.lines),
        package_versions=package_versions(),
        totals=snap.kpis,
        frozen_by=user,
        frozen_at=at,
    )
    return version_repo.add_version(session, row, snap.components)


def override_records(session: Session, cycle_id: int) -> list[dict[str, Any]]:
    """The cycle's forecast overrides as JSON records (``level, item, period, value, pct, reason, author``)."""
    frame = override_repo.overrides(session, cycle_id).sort_values("id")
    cols = ["level", "item", "period", "value", "pct", "reason", "author"]
    if frame.empty:
        return []
    frame = frame[cols].astype(object).where(pd.notna(frame[cols]), None)
    frame["period"] = frame["period"].map(lambda p: f"{pd.Timestamp(p):%Y-%m-%d}")
    records: list[dict[str, Any]] = frame.to_dict("records")
    return records
