"""The app served by `streamlit run` and driven in Debian's chromium: what the browser tests share.

The server and browser fixtures are in conftest.py; here are the paths, chromium's command line, and the
ways a test waits for a rerun and reads or edits what the page shows (metric cards, data editors).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


@contextmanager
def serve(db_url: str, log_dir: Path, *, auth: str) -> Iterator[str]:
    """The app served as ``make run`` serves it (``serve.py``: ``streamlit run app.py``) on a free port against
    ``db_url`` (``auth``: ``SOP_AUTH``, "on" for team mode); yields its URL and stops it afterwards."""
    with server_process(db_url, log_dir / "streamlit.log", auth=auth) as (url, _pid):
        yield url


@contextmanager
def server_process(db_url: str, log: Path, *, auth: str) -> Iterator[tuple[str, int]]:
    """:func:`serve`, yielding the server's URL and process id (bench/scale.py reads its memory), its output
    written to ``log``."""
    if not Path(CHROMIUM).exists():
        raise AssertionError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    port = _free_port()
    env = {**os.environ, "SOP_DATABASE_URL": db_url, "SOP_AUTH": auth, "PYTHONPATH": str(ROOT)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "serve.py", "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc)
            yield url, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def _new_page(browser: Any, height: int) -> Iterator[Any]:
    """A page in a new browser context, closed afterwards."""
    context = browser.new_context(viewport={"width": 1440, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


def _wait_for_app(page, timeout_ms: int) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)


#: The pages whose sections are tabs, of which only the open one is drawn: a walk of the pages opens the others too.
SECTIONS_IN_TABS = ("Supply review", "KPIs")


def _tabs(page) -> list[tuple[str, bool]]:
    """The tabs of the page's main area: each one's name and whether it is the open one."""
    return [(tab.inner_text().strip(), tab.get_attribute("aria-selected") == "true")
            for tab in page.get_by_test_id("stMain").get_by_role("tab").all()]


def _open_tab(page, name: str, timeout_ms: int = 120_000) -> None:
    """Click the page's tab ``name`` (a page in tabs draws only the open one) and wait until it is drawn: the first
    heading in its panel, then the end of the run."""
    page.get_by_role("tab", name=name, exact=True).click()
    page.get_by_role("tabpanel", name=name, exact=True).get_by_test_id("stHeading").first.wait_for(timeout=timeout_ms)
    _wait_for_app(page, timeout_ms)


def _metric_value(page, label: str) -> str:
    metric = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return metric.first.get_by_test_id("stMetricValue").inner_text().strip()


def _wait_for_metric_change(page, label: str, old: str, timeout_ms: int = 30_000) -> None:
    page.wait_for_function(
        """([label, old]) => [...document.querySelectorAll("[data-testid='stMetric']")]
             .some(m => m.querySelector("[data-testid='stMetricLabel']")?.innerText.trim() === label
                  && m.querySelector("[data-testid='stMetricValue']")?.innerText.trim() !== old)""",
        arg=[label, old],
        timeout=timeout_ms,
    )


#: Glide's cell editor, drawn over the grid while a cell is edited.
GRID_EDITOR = "[id^='gdg-overlay-']"


def _grid_column(grid, header: str) -> int:
    """The index of a data editor's column by its header (read from the grid's accessible table)."""
    cells = grid.locator("th, [role='columnheader']")
    cells.filter(has_text=header).first.wait_for(state="attached", timeout=30_000)  # drawn with the grid
    return [h.strip() for h in cells.all_inner_texts()].index(header)


def _select_grid_cell(page, grid, row: int, column: int) -> None:
    """Select a cell of a data editor: the grid is a canvas, so click the row's first cell (header and rows
    are 35 px high; an editor that adds rows draws a narrow row-marker column first) and move right with the
    arrows, checking the selection in the grid's accessible table."""
    first = grid.locator("tbody td").first
    first.wait_for(state="attached", timeout=30_000)
    offset = int(first.get_attribute("id").split("-")[2])  # glide-cell-<column>-<row>: 1 after row markers
    for timeout_ms in (2_000, 5_000, 10_000):  # a first click may only focus the grid: then click again
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 30 + 40 * offset, box["y"] + 35 * (row + 1) + 17)
        try:
            for col in range(column + 1):
                if col:
                    page.keyboard.press("ArrowRight")
                selected = grid.locator(f"#glide-cell-{col + offset}-{row}[aria-selected='true']")
                selected.wait_for(state="attached", timeout=timeout_ms)  # the accessible table is not visible
            return
        except Exception:  # noqa: BLE001 - Playwright's timeout: the page was still settling, click again
            _wait_for_app(page, 60_000)
    raise AssertionError(f"grid cell ({row}, {column}) could not be selected")


def _edit_grid_cell(
    page, row: int, header: str, *, text: str | None = None, option: str | None = None, grid: Any = None
) -> None:
    """Type ``text`` into, or choose ``option`` in, a cell of ``grid`` (default: the first data editor on the
    page); Enter opens the cell's editor and commits it, and each commit re-runs the page."""
    grid = grid if grid is not None else page.get_by_test_id("stDataFrame").first
    grid.scroll_into_view_if_needed()
    column = _grid_column(grid, header)
    _select_grid_cell(page, grid, row, column)
    page.keyboard.press("Enter")
    editor = page.locator(GRID_EDITOR)
    editor.first.wait_for(state="visible", timeout=10_000)
    if text is not None:
        editor.locator("input, textarea").first.fill(text)
        page.keyboard.press("Enter")
    else:  # typed to filter the list down to the option, taken with Enter (a click does not always take)
        editor.get_by_role("combobox").fill(option)
        first = page.get_by_role("option").first
        first.wait_for(state="visible", timeout=10_000)
        assert first.inner_text().strip() == option, f"{option!r} is not the first option: {first.inner_text()!r}"
        page.keyboard.press("Enter")
    editor.first.wait_for(state="hidden", timeout=10_000)
    page.wait_for_timeout(300)
    _wait_for_app(page, 60_000)
