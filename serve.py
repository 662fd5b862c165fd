"""Serve the app (``make run``): ``streamlit run app.py`` with the arguments given, in a process that has imported
the modules the pages use before the server starts, so that the first visit after a start does not wait for them
(about 2 s on a 2-core machine). The arguments are those of ``streamlit run``: ``python serve.py --server.port
8502``."""

from __future__ import annotations

import sys

import plotly.graph_objects  # noqa: F401
import plotly.subplots  # noqa: F401
from streamlit.web import cli

from sop_core.services import (  # noqa: F401
    data,
    decisions,
    demand,
    executive,
    kpi_review,
    scenarios,
    signoff,
    supply_review,
    whatif,
)
from views import state, tables, ui  # noqa: F401


def main() -> None:
    sys.argv = ["streamlit", "run", "app.py", *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
