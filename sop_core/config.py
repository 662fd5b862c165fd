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


def _whole_number(name: str, default: int) -> int:
    value = _positive_number(name, float(default))
    if not value.is_integer():
        raise ValueError(f"{name}={os.environ.get(name)!r}: expected a whole number")
    return int(value)


def import_past_years() -> int:
    """An import refuses a date more than this many years before the current cycle's month:
    ``SOP_IMPORT_PAST_YEARS`` (default 20)."""
    return _whole_number("SOP_IMPORT_PAST_YEARS", 20)


def import_future_years() -> int:
    """An import refuses a date more than this many years after the current cycle's month:
    ``SOP_IMPORT_FUTURE_YEARS`` (default 3)."""
    return _whole_number("SOP_IMPORT_FUTURE_YEARS", 3)


def import_max_rows() -> int:
    """The most rows (lines) one import file may hold: ``SOP_IMPORT_MAX_ROWS`` (default 5,000,000)."""
    return _whole_number("SOP_IMPORT_MAX_ROWS", 5_000_000)


def import_max_cells() -> int:
    """The most cells (rows × columns) one import file may hold: ``SOP_IMPORT_MAX_CELLS`` (default 50,000,000)."""
    return _whole_number("SOP_IMPORT_MAX_CELLS", 50_000_000)


def import_max_line_bytes() -> int:
    """The longest line of an import CSV file, in bytes: ``SOP_IMPORT_MAX_LINE_BYTES`` (default 65,536)."""
    return _whole_number("SOP_IMPORT_MAX_LINE_BYTES", 64 * 1024)


def import_max_xlsx_mb() -> int:
    """The most an import workbook may expand to when unzipped, in MB: ``SOP_IMPORT_MAX_XLSX_MB`` (default 256)."""
    return _whole_number("SOP_IMPORT_MAX_XLSX_MB", 256)


def import_max_xlsx_rows() -> int:
    """The most rows an import workbook may hold: ``SOP_IMPORT_MAX_XLSX_ROWS`` (default 100,000; reading a workbook
    takes some thousand rows a second, so larger extracts come as CSV UTF-8)."""
    return _whole_number("SOP_IMPORT_MAX_XLSX_ROWS", 100_000)
