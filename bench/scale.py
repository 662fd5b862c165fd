"""How S&OP Studio grows with the catalogue: the demo company at 1×, 20× and 100× (176, 3,520 and 17,600 SKUs).

Per scale, each part a table, then one summary table with the scales as columns:

* seed: ``python -m sop_core demo --reset --scale S`` in a child process into a fresh SQLite file and a
  throw-away PostgreSQL schema: wall time [s] and the peak resident memory of the child's process tree [MB]
  (the largest single process, from ``os.wait4``);
* import: ``100·S`` products × 100 months of sales (100× = the 10,000-product / 1 M-row case of
  bench/bulk_import.py) into SQLite and PostgreSQL, against pandas' pyarrow parse of the same files (ratio),
  and the peak resident memory of this process during the step [MB];
* forecast: the default engine on the demo company's sales history (the frames the seeding writes) at 1 and 2
  workers, local processes and a Dask LocalCluster (warmed up), against statsforecast AutoETS alone on the
  same series with as many processes (ratio);
* pages: ``streamlit run app.py`` on the seeded SQLite file (SOP_AUTH=off), every page visited twice in
  Debian's chromium (the first visit fills the server's caches) until its heading shows and the script is no
  longer running [s], then the server's resident memory [MB];
* what-if: a demand-lever step on the Reconciliation page until the Revenue card changes, in chromium [ms], with
  the server's CPU time meanwhile; the service call ``whatif.evaluate`` alone (wall and CPU), and the SKU-level LP
  solve against scipy's linprog on the same matrices (ratio).

A part that fails prints its error; the others go on. Times are wall times on a shared machine: the load
average is printed with them.

    PYTHONPATH=. .venv/bin/python bench/scale.py [--scales 1,20,100] [--skip seed,import,forecast,pages,whatif,pg]
        [--keep DIR] [--repeat 1] [--moves 5]

``--keep DIR`` keeps the seeded SQLite files (DIR/sop-scale<S>.db); with ``--skip seed`` such a file is reused.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import psutil  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench import bulk_import, forecast_dask  # noqa: E402
from bench.whatif import linprog_peer  # noqa: E402
from sop_core.cli.common import solver_chatter_to_stderr  # noqa: E402
from sop_core.db.engine import make_engine  # noqa: E402
from sop_core.planning import balance as bl  # noqa: E402
from sop_core.planning import balance_solve as bls  # noqa: E402
from sop_core.planning import levers as lev  # noqa: E402
from sop_core.planning import scenario_constrained as scc  # noqa: E402
from sop_core.services import cycle as cycle_service  # noqa: E402
from sop_core.services import whatif  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PARTS = ("seed", "import", "forecast", "pages", "whatif", "pg")
#: url_path → the heading the page shows ("" is the default page, Demand review).
PAGES = {"": "Demand review", "data": "Data", "supply": "Supply review", "reconciliation": "Reconciliation",
         "executive": "Executive review", "kpis": "KPIs"}

class Summary(dict[str, dict[int, str]]):
    """Summary row → scale → cell text; a row appears, in order, on first use."""

    def __missing__(self, key: str) -> dict[int, str]:
        self[key] = {}
        return self[key]


def load() -> str:
    """The machine's 1, 5 and 15 minute load averages, as text."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def table(title: str, rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> None:
    """Print ``rows`` under ``header`` as aligned columns (the first left-aligned, the others right-aligned)."""
    cells = [tuple(str(c) for c in row) for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for row in cells:
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    sys.stdout.flush()


def guarded(name: str, fn: Callable[[], None]) -> None:
    """Run one part; an error is printed (with the last lines of its traceback) and the run goes on."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - a failing part must not stop the others
        tail = "".join(traceback.format_exception(exc)[-3:]).rstrip()
        print(f"\n[{name}] FAILED: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}\n{tail}")
        sys.stdout.flush()


@contextlib.contextmanager
def pg_schema(base: str) -> Iterator[str]:
    """The URL of a fresh PostgreSQL schema in ``base`` (every connection's search_path), dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed(url: str, scale: int, log: Path) -> tuple[float, float]:
    """Seconds ``python -m sop_core demo --reset --scale <scale>`` takes on ``url``, and the peak resident memory
    of its largest process (the command or one of its forecast workers) [MB]."""
    env = {**os.environ, "SOP_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    with log.open("w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "sop_core", "demo", "--reset", "--as", "demo", "--scale", str(scale)],
                                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"demo --scale {scale} exited with {proc.returncode}: {log.read_text()[-500:]}")
    return seconds, usage.ru_maxrss / 1024


def part_seed(scale: int, db: Path, use_pg: bool, pg: str, summary: Summary) -> None:
    rows = []
    db.unlink(missing_ok=True)
    seconds, peak = seed(f"sqlite:///{db}", scale, db.with_suffix(".seed.log"))
    rows.append(("SQLite", f"{seconds:.1f}", f"{peak:.0f}", f"{db.stat().st_size / 1e6:.0f} MB file"))
    summary["seed SQLite [s]"][scale] = f"{seconds:.1f}"
    summary["seed SQLite peak RSS [MB]"][scale] = f"{peak:.0f}"
    if use_pg:
        with pg_schema(pg) as url:
            pg_seconds, pg_peak = seed(url, scale, db.with_suffix(".pg-seed.log"))
        rows.append(("PostgreSQL", f"{pg_seconds:.1f}", f"{pg_peak:.0f}", f"{pg_seconds / seconds:.2f}× SQLite"))
        summary["seed PostgreSQL [s]"][scale] = f"{pg_seconds:.1f}"
        summary["seed PostgreSQL peak RSS [MB]"][scale] = f"{pg_peak:.0f}"
    else:
        rows.append(("PostgreSQL", "skipped", "", "--skip pg"))
    table(f"seed: python -m sop_core demo --reset --scale {scale} ({load()})", rows,
          ("database", "wall [s]", "peak RSS [MB]", "note"))


def rss_mb(pid: int | None = None) -> float:
    """The resident memory of process ``pid`` (default: this one) [MB]."""
    return psutil.Process(pid).memory_info().rss / 2**20


def part_import(scale: int, use_pg: bool, pg: str, summary: Summary) -> None:
    skus, months = 100 * scale, 100
    with tempfile.TemporaryDirectory(prefix="sop-scale-import-") as tmp:
        folder = Path(tmp)
        files = bulk_import.write_files(folder, skus, months)
        size = sum(f.stat().st_size for f in files) / 1e6
        base = rss_mb()
        bulk_import.reset_peak()
        bulk_import.parse(files)  # warm the page cache and pyarrow's imports
        peer, peer_cpu = min(bulk_import.parse(files) for _ in range(3))
        rows = [("pandas read_csv (pyarrow)", f"{peer:.3f}", "1.0", f"{peer_cpu:.2f}", f"{bulk_import.peak_mb():.0f}")]
        targets = [("SQLite", lambda: contextlib.nullcontext(f"sqlite:///{folder / 'bench.db'}"))]
        if use_pg:
            targets.append(("PostgreSQL", lambda: pg_schema(pg)))
        for name, target in targets:
            with target() as url:
                ((seconds, client, server, peak, _report),) = bulk_import.timed_import(url, files)
            cpu = f"{client:.2f}" + (f" + {server:.2f} server" if server else "")
            rows.append((f"import into {name}", f"{seconds:.2f}", f"{seconds / peer:.1f}", cpu, f"{peak:.0f}"))
            summary[f"import {name} [s] (× pyarrow parse)"][scale] = f"{seconds:.1f} ({seconds / peer:.0f}×)"
            summary[f"import {name} peak RSS [MB]"][scale] = f"{peak:.0f}"
        if not use_pg:
            rows.append(("import into PostgreSQL (--skip pg)", "skipped", "", "", ""))
    table(f"import: {skus:,} products × {months} months = {skus * months:,} sales rows, {size:.1f} MB of CSV "
          f"(this process at {base:.0f} MB before; {load()})", rows,
          ("step", "wall [s]", "× parse", "CPU [s]", "peak RSS [MB]"))


def part_forecast(scale: int, repeat: int, summary: Summary) -> None:
    import pandas as pd

    from sop_core.io import demo
    from sop_core.services import forecasting
    from sop_core.units import FORECAST_HORIZON

    frames = demo.generate(scale=scale)
    history = frames["sales_history"][["sku", "period", "quantity"]].assign(period=lambda f: pd.to_datetime(f["period"]))
    long = forecasting.long_history(history)
    uplift = forecasting.event_uplift(frames["event"], frames["product"], sorted(history["sku"].astype(str).unique()))
    del frames, history
    h = FORECAST_HORIZON
    few = forecast_dask.first_series(long)  # warm-up of this process (imports, compiled statsforecast code)
    forecast_dask._engine(few, uplift, 3, 1)
    forecast_dask._auto_ets(few, 3, 1)
    rows = []
    for workers in (1, 2):
        peer, _ = forecast_dask._best(lambda w=workers: forecast_dask._auto_ets(long, h, w), repeat)
        local, _ = forecast_dask._best(lambda w=workers: forecast_dask._engine(long, uplift, h, w), repeat)
        dask, _ = forecast_dask._on_dask(long, uplift, h, workers, repeat)
        for name, seconds in ((f"local, {workers} process(es)", local), (f"Dask, {workers} worker(s)", dask),
                              (f"AutoETS alone, {workers} process(es)", peer)):
            rows.append((name, f"{seconds:.2f}", f"{seconds / peer:.2f}"))
        summary[f"forecast local {workers}w [s] (× AutoETS)"][scale] = f"{local:.1f} ({local / peer:.1f}×)"
        summary[f"forecast Dask {workers}w [s] (× AutoETS)"][scale] = f"{dask:.1f} ({dask / peer:.1f}×)"
        summary[f"AutoETS alone {workers}w [s]"][scale] = f"{peer:.1f}"
    table(f"forecast: default engine, {long['unique_id'].nunique():,} series × {long['ds'].nunique()} months, "
          f"horizon {h}, best of {repeat} ({load()})", rows, ("where", "wall [s]", "× AutoETS"))


def server_memory(pid: int) -> tuple[float, float]:
    """The server's resident memory now and at its peak (VmHWM) [MB]."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def visit(page: Any, url: str, heading: str, timeout_ms: int) -> float:
    """Seconds from navigating to ``url`` until the page shows ``heading``, the script no longer runs and no
    exception is shown (an exception raises)."""
    from browser_app import _wait_for_app

    t0 = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    _wait_for_app(page, timeout_ms)
    page.locator("h1").filter(has_text=heading).first.wait_for(state="visible", timeout=timeout_ms)
    seconds = time.perf_counter() - t0
    if page.get_by_test_id("stException").count():
        raise RuntimeError(f"{heading}: {page.get_by_test_id('stException').first.inner_text()[:300]}")
    return seconds


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, all its threads [s]."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


#: The text of the Revenue card (its value and its change against the baseline) in the browser.
REVENUE_CARD = """() => [...document.querySelectorAll("[data-testid='stMetric']")]
    .find(m => m.querySelector("[data-testid='stMetricLabel']")?.innerText.trim() === "Revenue")?.innerText.trim()"""


def slider_moves(page: Any, url: str, moves: int, timeout_ms: int, server_pid: int) -> list[tuple[float, float]]:
    """Per step of the demand lever (one arrow key): seconds until the Revenue card shows new figures (its value
    or, where the value's rounding hides a one-point step, e.g. €2.5B at 20×, its change against the baseline) and
    the page is no longer running, and the CPU seconds the server spent meanwhile (steadier than the wall time on a
    shared machine)."""
    from browser_app import _wait_for_app

    visit(page, f"{url}/reconciliation", "Reconciliation", timeout_ms)
    thumb = page.get_by_test_id("stSlider").filter(has_text="Demand change (all SKUs)").get_by_role("slider")
    thumb.focus()
    steps = []
    for _ in range(moves):
        before = page.evaluate(REVENUE_CARD)
        t0, c0 = time.perf_counter(), cpu_seconds(server_pid)
        thumb.press("ArrowRight")
        page.wait_for_function(f"([old]) => ({REVENUE_CARD})() !== old", arg=[before], timeout=timeout_ms)
        _wait_for_app(page, timeout_ms)
        steps.append((time.perf_counter() - t0, cpu_seconds(server_pid) - c0))
    return steps


def part_browser(scale: int, db: Path, pages: bool, moves: int, summary: Summary) -> None:
    """Pages (first and second visit) and, when ``moves``, the what-if lever in chromium on one server."""
    from browser_app import CHROMIUM, CHROMIUM_ARGS, server_process
    from playwright.sync_api import sync_playwright

    timeout_ms = 600_000
    log = db.with_suffix(".streamlit.log")
    with server_process(f"sqlite:///{db}", log, auth="off") as (url, pid), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        try:
            if pages:
                first = {path: visit(page, f"{url}/{path}", title, timeout_ms) for path, title in PAGES.items()}
                later = {path: visit(page, f"{url}/{path}", title, timeout_ms) for path, title in PAGES.items()}
                rss, peak = server_memory(pid)
                rows = [(PAGES[p], f"{first[p]:.2f}", f"{later[p]:.2f}") for p in PAGES]
                rows.append(("total", f"{sum(first.values()):.2f}", f"{sum(later.values()):.2f}"))
                table(f"pages in chromium, scale {scale}: first and second visit [s]; server RSS after the visits "
                      f"{rss:.0f} MB (peak {peak:.0f} MB) ({load()})", rows, ("page", "first [s]", "second [s]"))
                summary["pages, first visit: sum / slowest [s]"][scale] = (
                    f"{sum(first.values()):.1f} / {max(first.values()):.1f}")
                summary["pages, second visit: sum / slowest [s]"][scale] = (
                    f"{sum(later.values()):.1f} / {max(later.values()):.1f}")
                summary["server RSS after pages / peak [MB]"][scale] = f"{rss:.0f} / {peak:.0f}"
            if moves:
                steps = slider_moves(page, url, moves, timeout_ms, pid)
                rss, peak = server_memory(pid)
                wall, cpu = statistics.median(t for t, _ in steps), statistics.median(c for _, c in steps)
                table(f"what-if in chromium, scale {scale}: demand lever step → Revenue card re-rendered; server RSS "
                      f"{rss:.0f} MB (peak {peak:.0f} MB) ({load()})",
                      [(f"move {i + 1}", f"{t * 1000:.0f}", f"{c * 1000:.0f}") for i, (t, c) in enumerate(steps)]
                      + [("median", f"{wall * 1000:.0f}", f"{cpu * 1000:.0f}")], ("step", "ms", "server CPU ms"))
                summary["what-if in chromium, median [ms] (server CPU)"][scale] = f"{wall * 1000:.0f} ({cpu * 1000:.0f})"
                summary["server RSS after what-if / peak [MB]"][scale] = f"{rss:.0f} / {peak:.0f}"
        finally:
            context.close()
            browser.close()


def part_whatif_service(scale: int, db: Path, runs: int, summary: Summary) -> None:
    """The service call behind a lever change, in this process, and its LP against scipy's linprog."""
    engine = make_engine(f"sqlite:///{db}")
    try:
        cycle = cycle_service.current_cycle(engine)
        t0 = time.perf_counter()
        inputs = whatif.load_inputs(engine, cycle.id)
        t_load = time.perf_counter() - t0
    finally:
        engine.dispose()
    times, cpu = [], []
    with solver_chatter_to_stderr():  # the solvers' banners stay out of the tables
        whatif.evaluate(inputs, lev.Levers(demand_change_pct=0.5))  # warm-up
        for i in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            whatif.evaluate(inputs, lev.Levers(demand_change_pct=1 + i))
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        balance = scc.balance_inputs(inputs, lev.Levers(demand_change_pct=5)).balance
        solved = bls.balance_plan(balance)
        peer = linprog_peer(bl.build(balance))
    rows = [(f"load the inputs of cycle {cycle.label}", f"{t_load * 1000:.0f}", ""),
            (f"whatif.evaluate (baseline + scenario), median of {runs}", f"{statistics.median(times) * 1000:.0f}", ""),
            ("  its CPU time, median", f"{statistics.median(cpu) * 1000:.0f}", "")]
    sizes = solved.sizes
    rows.append((f"LP solve (highspy), {sizes['rows']:,} × {sizes['cols']:,}", f"{solved.solve_seconds * 1000:.0f}",
                 f"{solved.solve_seconds / peer:.2f}"))
    rows.append(("peer: same LP in scipy linprog", f"{peer * 1000:.0f}", "1.00"))
    table(f"what-if service, scale {scale} ({load()})", rows, ("step", "ms", "× linprog"))
    summary["what-if service evaluate, median [ms] (CPU)"][scale] = (
        f"{statistics.median(times) * 1000:.0f} ({statistics.median(cpu) * 1000:.0f})")
    summary["what-if LP solve [ms] (× linprog)"][scale] = (
        f"{solved.solve_seconds * 1000:.0f} ({solved.solve_seconds / peer:.2f}×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1", help="comma-separated demo scales (1 → 176 SKUs)")
    parser.add_argument("--skip", default="", help=f"comma-separated parts to leave out: {','.join(PARTS)}")
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep the seeded SQLite files in")
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL URL (throw-away schemas are made in it)")
    parser.add_argument("--repeat", type=int, default=1, help="forecast runs per figure (the best counts)")
    parser.add_argument("--moves", type=int, default=5, help="what-if lever steps (browser) and service calls")
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if unknown := skip - set(PARTS):
        parser.error(f"unknown parts to skip: {', '.join(sorted(unknown))} (known: {', '.join(PARTS)})")
    use_pg = "pg" not in skip
    print(f"scales {scales}; skipped: {', '.join(sorted(skip)) or 'nothing'}; {os.cpu_count()} cores; {load()}")
    summary = Summary()
    with tempfile.TemporaryDirectory(prefix="sop-scale-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for scale in scales:
            print(f"\n===== scale {scale} ({load()})")
            db = (folder / f"sop-scale{scale}.db").resolve()
            if "seed" not in skip:
                guarded(f"seed {scale}", lambda s=scale, d=db: part_seed(s, d, use_pg, args.pg, summary))
            if "import" not in skip:
                guarded(f"import {scale}", lambda s=scale: part_import(s, use_pg, args.pg, summary))
            if "forecast" not in skip:
                guarded(f"forecast {scale}", lambda s=scale: part_forecast(s, args.repeat, summary))
            if not db.exists():
                if not {"pages", "whatif"} <= skip:
                    print(f"\n[pages/what-if {scale}] not measured: no seeded database {db}")
                continue
            if not {"pages", "whatif"} <= skip:
                moves = 0 if "whatif" in skip else args.moves
                guarded(f"browser {scale}", lambda s=scale, d=db, m=moves: part_browser(s, d, "pages" not in skip, m,
                                                                                       summary))
            if "whatif" not in skip:
                guarded(f"what-if service {scale}", lambda s=scale, d=db: part_whatif_service(s, d, args.moves, summary))
        if args.keep:
            print(f"\nseeded databases kept in {args.keep}")
    table(f"summary ({load()})", [(row, *(cells.get(s, "—") for s in scales)) for row, cells in summary.items()],
          ("", *(f"{s}×" for s in scales)))


if __name__ == "__main__":
    main()
