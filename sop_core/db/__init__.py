"""The data layer: models, engine, migrations and repository functions."""

from sop_core.db.engine import make_engine, session_scope
from sop_core.db.migrate import upgrade

__all__ = ["make_engine", "session_scope", "upgrade"]
