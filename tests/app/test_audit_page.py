"""The audit page: who, what and when filters over the trail, and its CSV; executives and admins only."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pytest
from screen import DownloadRecorder
from streamlit.testing.v1 import AppTest

from sop_core.db.engine import make_engine
from sop_core.services import audit_trail, users


def test_the_audit_page_filters_and_exports_what_the_service_reads(app_env: str, downloads: DownloadRecorder) -> None:
    engine = make_engine(os.environ["SOP_DATABASE_URL"])
    users.set_role(engine, "demo", "dana", "viewer", users.version_of(engine, "dana"))
    users.set_role(engine, "demo", "sam", "finance", users.version_of(engine, "sam"))
    at = AppTest.from_file(app_env, default_timeout=120)
    at.run()
    at.switch_page("views/audit.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Audit trail"
    at.multiselect(key="audit_users").set_value(["demo"]).run()
    at.multiselect(key="audit_actions").set_value(["user_role"]).run()
    shown = at.dataframe[0].value
    assert shown[["Who", "What", "ID", "Before", "After"]].values.tolist() == [
        ["demo", "user_role", "sam", '{"role": "supply_planner"}', '{"role": "finance"}'],
        ["demo", "user_role", "dana", '{"role": "demand_planner"}', '{"role": "viewer"}'],
    ]
    name, content = downloads.file(at, "audit_csv")
    assert name is not None and name.startswith("audit-") and name.endswith(".csv")
    expected = audit_trail.trail(engine, "demo", users=["demo"], actions=["user_role"],
                                 first_day=at.date_input(key="audit_days").value[0],
                                 last_day=at.date_input(key="audit_days").value[1])
    assert content == audit_trail.trail_csv(expected)
    assert pd.read_csv(io.BytesIO(content))["entity_id"].tolist() == ["sam", "dana"]
    engine.dispose()


@pytest.mark.parametrize(("role", "allowed"), [("viewer", False), ("finance", False), ("executive", True)])
def test_only_executives_and_admins_read_the_audit_page(app_env: str, role: str, allowed: bool) -> None:
    engine = make_engine(os.environ["SOP_DATABASE_URL"])
    users.add_user(engine, "demo", "someone", role)
    engine.dispose()
    page = AppTest.from_file(str(Path(app_env).parent / "views" / "audit.py"), default_timeout=120)
    page.session_state["username"] = "someone"
    page.run()
    assert not page.exception, [e.message for e in page.exception]
    if allowed:
        assert not page.error and page.get("download_button")
    else:
        assert [e.value for e in page.error] == ["Only an executive or an admin may read the audit trail."]
        assert not page.dataframe and not page.get("download_button")
