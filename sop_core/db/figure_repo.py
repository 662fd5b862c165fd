"""Queries of the stored figures (:mod:`sop_core.db.models_figures`). Functions take a session and never commit."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sop_core.db.models_figures import StoredFigure


def stored(session: Session, name: str, args: str, stamp: str) -> dict[str, bytes] | None:
    """The parts of the figure ``name`` of ``args`` computed from the data stamped ``stamp`` (part → payload), or
    None when it is not stored for that stamp."""
    rows = session.execute(
        select(StoredFigure.part, StoredFigure.payload).where(
            StoredFigure.name == name, StoredFigure.args == args, StoredFigure.stamp == stamp
        )
    ).all()
    return {part: payload for part, payload in rows} if rows else None


def is_stored(session: Session, name: str, args: str, stamp: str) -> bool:
    """True when the figure ``name`` of ``args`` is stored for the data stamped ``stamp``."""
    return session.scalar(
        select(StoredFigure.part).where(
            StoredFigure.name == name, StoredFigure.args == args, StoredFigure.stamp == stamp
        ).limit(1)
    ) is not None


def store(session: Session, name: str, args: str, stamp: str, parts: dict[str, bytes]) -> None:
    """Store the figure ``name`` of ``args`` for ``stamp``, replacing what was stored for those arguments."""
    session.execute(delete(StoredFigure).where(StoredFigure.name == name, StoredFigure.args == args))
    session.add_all(StoredFigure(name=name, args=args, part=part, stamp=stamp, payload=payload)
                    for part, payload in parts.items())
