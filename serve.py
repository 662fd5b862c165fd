"""Serve the app (``make run``): ``streamlit run app.py`` with the arguments given, in a process that has imported
the modules the pages use before the server starts, so that the first visit after a start does not wait for them
(about 2 s on a 2-core machine), and that reads the newest cycle's data stamps and opening chart meanwhile. The
arguments are those of ``streamlit run``: ``python serve.py --server.port 8502``."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

import plotly.graph_objects  # noqa: F401
import plotly.subplots  # noqa: F401
from sqlalchemy.engine import make_url
from streamlit.web import cli

from sop_core import config
from sop_core.db.engine import make_engine
from sop_core.services import (  # noqa: F401
    data,
    decisions,
    demand,
    executive,
    kpi_review,
    page_figures,
    scenarios,
    signoff,
    supply_review,
    whatif,
)
from views import state, tables, ui  # noqa: F401


def warm_up() -> None:
    """Read the newest cycle's data stamps and the Demand review's opening chart while the server starts
    (:func:`~sop_core.services.page_figures.read_ahead`), so that the first visit finds them at hand. A database not
    created yet (the first start creates and seeds it) is left alone, and any failure only leaves them to the first
    visit."""
    url = config.database_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not (parsed.database and Path(parsed.database).is_file()):
        return
    try:
        engine = make_engine(url)
        try:
            page_figures.read_ahead(engine)
        finally:
            engine.dispose()
    except Exception:  # noqa: BLE001 (a warm-up only: the pages read what they need themselves)
        logging.getLogger(__name__).info("stamps and chart not read ahead", exc_info=True)


def main() -> None:
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    sys.argv = ["streamlit", "run", "app.py", *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
