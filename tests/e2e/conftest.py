"""Browser-test fixtures: a `streamlit run` server on a copy of the seeded demo database, and one chromium.

Each test module gets its own server and database copy (module scope): a module's tests may write to it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_app import CHROMIUM, CHROMIUM_ARGS, serve


@pytest.fixture(scope="module")
def server_db(demo_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of the server's database: its own copy of the seeded demo company (the module's tests write to it)."""
    target = tmp_path_factory.mktemp("e2e") / "sop.db"
    shutil.copyfile(demo_db_template, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, server_db: str) -> Iterator[str]:
    """The app in demo mode (no sign-in: the demo user, an admin)."""
    with serve(server_db, tmp_path_factory.mktemp("e2e-log"), auth="off") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium for the module's tests; each test opens its own context (cookies, storage and
    Streamlit session of its own), as a fresh browser would."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()
