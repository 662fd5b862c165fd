"""Settings read from the environment (no work at import beyond reading variables)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_DATABASE_URL = f"sqlite:///{DATA_DIR / 'sop.db'}"

#: The company currency used in every money column and label.
CURRENCY = os.environ.get("SOP_CURRENCY", "EUR")


def database_url() -> str:
    """The database to use: ``SOP_DATABASE_URL`` or the embedded SQLite file ``data/sop.db``."""
    return os.environ.get("SOP_DATABASE_URL") or DEFAULT_DATABASE_URL


def auth_enabled(url: str | None = None) -> bool:
    """Team mode (sign-in required): ``SOP_AUTH=on``, or any server database."""
    flag = os.environ.get("SOP_AUTH", "").lower()
    if flag in {"on", "1", "true"}:
        return True
    if flag in {"off", "0", "false"}:
        return False
    return not (url or database_url()).startswith("sqlite")
