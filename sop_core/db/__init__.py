"""The data layer: the schema, engine and sessions, migrations and repository functions.

Importing any part of it maps the whole schema (:mod:`sop_core.db.schema`).
"""

from sop_core.db import schema
from sop_core.db.engine import make_engine, session_scope
from sop_core.db.migrate import upgrade

__all__ = ["make_engine", "schema", "session_scope", "upgrade"]
