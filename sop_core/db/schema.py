"""The whole schema: every mapped table of S&OP Studio in one place.

:mod:`.models` holds the declarative base and the core tables; :mod:`.models_cycle` (plan versions,
decisions), :mod:`.models_monitor` (KPI targets and exceptions), :mod:`.models_accounts` (failed sign-ins) and
:mod:`.models_figures` (stored figures) build on it. Importing this module maps all of them, so :data:`metadata` is
complete — the migrations compare against it — and every mapper can be configured. ``sop_core.db`` imports it, so
any use of the data layer sees the whole schema.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from sop_core.db.models import CORE_MODELS, Base
from sop_core.db.models_accounts import ACCOUNT_MODELS
from sop_core.db.models_cycle import CYCLE_MODELS
from sop_core.db.models_figures import FIGURE_MODELS
from sop_core.db.models_monitor import MONITOR_MODELS

#: Every table, parents first (delete in reverse).
ALL_MODELS: tuple[type[Base], ...] = (*CORE_MODELS, *MONITOR_MODELS, *CYCLE_MODELS, *ACCOUNT_MODELS, *FIGURE_MODELS)

#: The metadata of every table (what Alembic's autogenerate compares the database with).
metadata: MetaData = Base.metadata
