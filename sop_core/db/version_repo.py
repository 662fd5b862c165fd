"""Queries for frozen plan versions and their input lines. Functions take a session and never commit."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.guards import version_frozen
from sop_core.db.models_cycle import PlanVersion, PlanVersionLine


def version(session: Session, cycle_id: int, plan_version: int) -> PlanVersion | None:
    """The stored row of one plan version (None while it is not frozen)."""
    return session.scalar(
        select(PlanVersion).where(PlanVersion.cycle_id == cycle_id, PlanVersion.version == plan_version)
    )


def newest_frozen(session: Session, cycle_id: int) -> PlanVersion | None:
    """The cycle's frozen version with the highest number (None when none is frozen)."""
    return session.scalar(
        select(PlanVersion)
        .where(PlanVersion.cycle_id == cycle_id, PlanVersion.status == "frozen")
        .order_by(PlanVersion.version.desc())
        .limit(1)
    )


def versions(session: Session, cycle_id: int) -> list[PlanVersion]:
    """The stored versions of a cycle, by number."""
    return list(
        session.scalars(select(PlanVersion).where(PlanVersion.cycle_id == cycle_id).order_by(PlanVersion.version))
    )


def version_numbers(session: Session, cycle_id: int) -> set[int]:
    """The numbers of the stored versions of a cycle."""
    return set(session.scalars(select(PlanVersion.version).where(PlanVersion.cycle_id == cycle_id)))


def version_lines(session: Session, cycle_id: int, plan_version: int) -> pd.DataFrame:
    """The ``plan_version_line`` rows of one version (empty while it is not frozen)."""
    return repo.read_frame(
        session, PlanVersionLine, PlanVersionLine.cycle_id == cycle_id, PlanVersionLine.plan_version == plan_version
    )


def last_frozen_before(session: Session, month: dt.date) -> tuple[int, int] | None:
    """``(cycle id, version)`` of the newest frozen version of a cycle before ``month`` (None: there is none)."""
    row = session.execute(
        select(PlanVersion.cycle_id, PlanVersion.version)
        .join(m.PlanCycle, m.PlanCycle.id == PlanVersion.cycle_id)
        .where(m.PlanCycle.month < month, PlanVersion.status == "frozen")
        .order_by(m.PlanCycle.month.desc(), PlanVersion.version.desc())
        .limit(1)
    ).first()
    return (int(row[0]), int(row[1])) if row else None


def add_version(session: Session, row: PlanVersion, lines: pd.DataFrame) -> int:
    """Store a frozen version row and its ``plan_version_line`` rows; returns the row id."""
    repo.insert_frame(session, PlanVersionLine, lines, cycle_id=row.cycle_id, plan_version=row.version)
    session.add(row)
    session.flush()
    return row.id


def is_frozen(session: Session, cycle_id: int, plan_version: int) -> bool:
    """True when the plan version is frozen (a frozen version row, or every sign-off role signed)."""
    return version_frozen(session.connection(), cycle_id, plan_version)
