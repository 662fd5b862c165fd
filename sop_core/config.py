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


def _positive_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r}: expected a number above 0")
    return value


def session_idle_minutes() -> float:
    """A signed-in session ends after this many minutes without any action: ``SOP_SESSION_IDLE_MINUTES``
    (default 30)."""
    return _positive_number("SOP_SESSION_IDLE_MINUTES", 30.0)


def session_max_hours() -> float:
    """A signed-in session ends this many hours after its sign-in, active or not: ``SOP_SESSION_MAX_HOURS``
    (default 12)."""
    return _positive_number("SOP_SESSION_MAX_HOURS", 12.0)
