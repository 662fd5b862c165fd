"""What-if speed: a lever change → updated KPIs, and a full LP re-solve, on the demo company and on a
company ten times larger (``sop_core.io.demo.generate(scale=10)``: 1,760 SKUs).

Demand: 18 months (2026-11 … 2028-04) of seasonal-naive forecast (same month one year earlier, the
last 12 months of the generated sales history repeated), so no forecast run is needed. Prints, per
company: the LP sizes (rows / cols / non-zeros), the median of N runs of

* lever change → KPIs on the coarse family × make/buy LP (+ the split over the SKUs + KPIs), split into LP
  build, LP solve and the rest;
* full LP re-solve: build + solve of the SKU-level LP (one item per SKU), and the whole SKU-level
  evaluation (what the Reconciliation page runs per slider move up to ``SKU_PLAN_MAX_SKUS`` SKUs; above it the
  page runs the family LP);

and ratios to peers measured in the same process: the unconstrained planning rule (the walking
skeleton's evaluate) and ``scipy.optimize.linprog(method="highs")`` on the same matrices.

    .venv/bin/python bench/whatif.py [--runs 7] [--scales 1 10] [--page]

``--page`` also times the Reconciliation page's re-run after a slider move (Streamlit AppTest,
server side, on a freshly seeded demo database; about 30 s more).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sop_core.io import demo  # noqa: E402
from sop_core.planning import balance as bl  # noqa: E402
from sop_core.planning import balance_solve as bls  # noqa: E402
from sop_core.planning import levers as lev  # noqa: E402
from sop_core.planning import scenario as sc  # noqa: E402
from sop_core.planning import scenario_constrained as scc  # noqa: E402
from sop_core.planning import scenario_inputs as sci  # noqa: E402

HORIZON = pd.date_range("2026-11-01", periods=18, freq="MS")


def inputs_for(scale: int) -> sci.ScenarioInputs:
    frames = demo.generate(scale=scale)
    sales = frames["sales_history"].assign(period=lambda f: pd.to_datetime(f["period"]))
    last = sales["period"].max()
    recent = sales[sales["period"] > last - pd.DateOffset(months=12)]
    parts = []
    for offset in (12, 24):
        part = recent.assign(period=recent["period"] + pd.DateOffset(months=offset))
        parts.append(part[part["period"].isin(HORIZON)])
    demand = pd.concat(parts).rename(columns={"quantity": "qty"})[["sku", "period", "qty"]]
    inventory = frames["inventory"]
    on_hand = inventory.sort_values("as_of").drop_duplicates("sku", keep="last")
    orders = frames["open_order"].rename(columns={"due_period": "period", "quantity": "qty"})
    return sci.ScenarioInputs(
        demand=demand,
        products=frames["product"],
        on_hand=on_hand.rename(columns={"on_hand": "qty"})[["sku", "qty"]],
        receipts=orders.assign(period=pd.to_datetime(orders["period"]))[["sku", "period", "qty"]],
        routing=frames["routing"],
        resources=frames["resource"],
        supplier_items=frames["supplier_item"],
    )


def median_time(fn, runs: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def lever_change(inputs: sci.ScenarioInputs, runs: int) -> dict[str, float]:
    """Median seconds of evaluate() with a new lever value each run, and its LP parts."""
    parts: list[tuple[float, float, float]] = []
    for i in range(runs):
        levers = lev.Levers(demand_change_pct=1 + i)
        t0 = time.perf_counter()
        result = sc.evaluate(inputs, levers)
        total = time.perf_counter() - t0
        parts.append((total, result.balance.build_seconds, result.balance.solve_seconds))
    return {
        "total": statistics.median(p[0] for p in parts),
        "build": statistics.median(p[1] for p in parts),
        "solve": statistics.median(p[2] for p in parts),
        "sizes": result.balance.sizes,
    }


def linprog_peer(model: bl.BalanceModel) -> float:
    """Seconds of scipy's linprog (HiGHS behind scipy) on the model's matrices."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    lp = model.lp
    a = coo_matrix(
        (lp._cat(lp.vals), (lp._cat(lp.rows, np.int64), lp._cat(lp.cols, np.int64))), shape=(lp.n_row, lp.n_col)
    ).tocsr()
    lo, up = lp._cat(lp.row_lower), lp._cat(lp.row_upper)
    eq = lo == up
    ub_rows = ~eq & np.isfinite(up)
    lb_rows = ~eq & np.isfinite(lo)
    from scipy.sparse import vstack

    a_ub = vstack([a[ub_rows], -a[lb_rows]])
    b_ub = np.concatenate([up[ub_rows], -lo[lb_rows]])
    bounds = np.column_stack([lp._cat(lp.lower), np.where(np.isinf(lp._cat(lp.upper)), np.inf, lp._cat(lp.upper))])
    t0 = time.perf_counter()
    res = linprog(lp._cat(lp.cost), A_ub=a_ub, b_ub=b_ub, A_eq=a[eq], b_eq=lo[eq], bounds=bounds, method="highs")
    elapsed = time.perf_counter() - t0
    assert res.status == 0, res.message
    return elapsed


def bench_company(scale: int, runs: int) -> None:
    t0 = time.perf_counter()
    inputs = inputs_for(scale)
    _ = inputs.grid
    n_sku, n_t = inputs.grid.demand.shape
    print(f"\n== scale {scale}: {n_sku:,} SKUs × {n_t} months (inputs ready in {time.perf_counter() - t0:.1f} s)")

    fam_inputs = dataclasses.replace(inputs, level="family")
    sc.evaluate(fam_inputs, lev.Levers(demand_change_pct=0.5))  # warm-up
    fam = lever_change(fam_inputs, runs)
    rule_inputs = sci.ScenarioInputs(inputs.demand, inputs.products, inputs.on_hand, inputs.receipts)
    _ = rule_inputs.grid
    rule = median_time(lambda: sc.evaluate(rule_inputs, lev.Levers(demand_change_pct=np.random.uniform(-9, 9))), runs)

    sku_inputs = dataclasses.replace(inputs, level="sku")  # the default level, as the page plans
    _ = sku_inputs.grid
    bal_inputs = scc.balance_inputs(sku_inputs, lev.Levers(demand_change_pct=5)).balance
    solves = [bls.balance_plan(bal_inputs) for _ in range(max(3, runs // 2))]  # a fresh model each time
    t_build = statistics.median(r.build_seconds for r in solves)
    t_solve = statistics.median(r.solve_seconds for r in solves)
    solved = solves[0]
    t_full = median_time(
        lambda: sc.evaluate(sku_inputs, lev.Levers(demand_change_pct=np.random.uniform(-9, 9))), max(3, runs // 2)
    )
    peer = linprog_peer(bl.build(bal_inputs))
    fam_model = bl.build(scc.balance_inputs(fam_inputs, lev.Levers(demand_change_pct=5)).balance)
    fam_peer = linprog_peer(fam_model)

    s_f, s_s = fam["sizes"], solved.sizes
    rows = [
        ("lever change → KPIs (family LP)", fam["total"], f"{s_f['rows']:,} × {s_f['cols']:,}, {s_f['nonzeros']:,} nz"),
        ("   of which LP build", fam["build"], ""),
        ("   of which LP solve (highspy)", fam["solve"], ""),
        ("   peer: same LP in scipy linprog", fam_peer, f"ratio highspy/linprog {fam['solve'] / fam_peer:.2f}"),
        ("   peer: unconstrained rule", rule, f"ratio LP/rule {fam['total'] / rule:.1f}"),
        (
            "full LP re-solve (SKU LP build+solve)",
            t_build + t_solve,
            f"{s_s['rows']:,} × {s_s['cols']:,}, {s_s['nonzeros']:,} nz",
        ),
        ("   of which LP build", t_build, ""),
        ("   of which LP solve (highspy)", t_solve, ""),
        ("   peer: same LP in scipy linprog", peer, f"ratio highspy/linprog {t_solve / peer:.2f}"),
        ("lever change → KPIs (SKU LP)", t_full, f"ratio SKU/family {t_full / fam['total']:.1f}"),
    ]
    width = max(len(r[0]) for r in rows)
    for label, seconds, note in rows:
        print(f"  {label:<{width}}  {seconds * 1000:9.1f} ms  {note}")


def bench_page() -> None:
    import os

    from streamlit.testing.v1 import AppTest

    from sop_core.db.engine import make_engine
    from sop_core.services.bootstrap import ensure_ready

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/demo.db"
        eng = make_engine(url)
        ensure_ready(eng)
        eng.dispose()
        os.environ["SOP_DATABASE_URL"] = url
        os.environ["SOP_AUTH"] = "off"
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.switch_page("views/reconciliation.py").run()
        times = []
        for value in (5, 10, -5, 15, 0, 20, -10):
            t0 = time.perf_counter()
            at.slider(key="demand_change_pct").set_value(value).run()
            times.append(time.perf_counter() - t0)
        assert not at.exception
        print(
            f"\n== Reconciliation page, slider move → re-run (AppTest, server side): "
            f"median {statistics.median(times) * 1000:.0f} ms over {len(times)} moves"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--page", action="store_true")
    args = parser.parse_args()
    print("targets on the demo company: lever change < 150 ms, full LP re-solve < 1 s")
    for scale in args.scales:
        bench_company(scale, args.runs)
    if args.page:
        bench_page()


if __name__ == "__main__":
    main()
