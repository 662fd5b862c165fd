"""Queries for the decision log of the executive review. Functions take a session and never commit."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from sop_core.db import repo
from sop_core.db.models_cycle import Decision


def decisions(session: Session, cycle_id: int) -> pd.DataFrame:
    """Every decision of a cycle (every column of ``decision``), by id."""
    return repo.read_frame(session, Decision, Decision.cycle_id == cycle_id)


def decision(session: Session, decision_id: int) -> Decision | None:
    return session.get(Decision, decision_id)


def add_decision(session: Session, row: Decision) -> int:
    """Store a decision; returns its id."""
    session.add(row)
    session.flush()
    return row.id
