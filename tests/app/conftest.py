"""App-test fixtures (the databases and ``app_env`` are in tests/conftest.py)."""

from __future__ import annotations

import pytest
from screen import DownloadRecorder


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> DownloadRecorder:
    """The bytes offered by download buttons in the AppTest runs started after this fixture."""
    return DownloadRecorder().install(monkeypatch)
