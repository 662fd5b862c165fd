"""Safe defaults: the app serves this machine only unless told otherwise, users see no error details, and the
upload limit is set and said on the Data page."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def test_streamlit_config_is_safe_by_default() -> None:
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["maxUploadSize"] == 50
    assert cfg["client"]["showErrorDetails"] == "none"


def _make_run(*overrides: str) -> str:
    """The commands ``make run`` would run (``make -n``: printed, not run)."""
    done = subprocess.run(["make", "-n", "run", *overrides], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=True)
    return next(line for line in done.stdout.splitlines() if " serve.py " in line)  # streamlit run app.py


def test_make_run_binds_to_this_machine_unless_told() -> None:
    assert "--server.address 127.0.0.1 " in _make_run()
    assert "--server.address 0.0.0.0 " in _make_run("ADDRESS=0.0.0.0")


def test_data_page_says_the_upload_limit(shared_app_env: str) -> None:
    at = AppTest.from_file(shared_app_env, default_timeout=120)
    at.run()
    at.switch_page("views/data.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Each file may be up to 50 MB." in [c.value for c in at.caption]
