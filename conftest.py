"""Collection: ``--doctest-modules`` (pyproject.toml) runs the examples in the docstrings of the modules under
the test paths, but not of the test suite's own files (tests/: their conftest.py files share a name, and they
hold no examples)."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest
from _pytest.doctest import DoctestModule

TESTS = Path(__file__).resolve().parent / "tests"
#: Alembic's migration scripts run only inside Alembic (they need its context): not imported for examples.
collect_ignore_glob = ["sop_core/db/migrations/*"]


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path) -> Generator[None, list[pytest.Collector], list[pytest.Collector]]:
    """The collectors of ``file_path`` without the doctest collector for the files of tests/."""
    collected = yield
    if TESTS in file_path.parents:
        return [c for c in collected if not isinstance(c, DoctestModule)]
    return collected
