"""The indexes of the pages' main queries exist on PostgreSQL and the planner can use them.

A fresh schema at head gets a few thousand rows per table and ANALYZE; each query below is the one of its repository
function (sop_core/db/*_repo.py), and its EXPLAIN must scan the index meant for it. Sequential scans are switched off
(``enable_seqscan = off``) so that the test is about the index's existence and usability, not about the planner's
choice on a table this small, where reading every page can be as cheap as an index.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text

from sop_core.db.engine import make_engine
from sop_core.db.migrate import upgrade
from sop_core.db.schema import ALL_MODELS

SEED = """
INSERT INTO product (sku, name, family, category, unit_price, unit_cost, holding_rate, order_cost, service_target)
SELECT 'S' || lpad(s::text, 4, '0'), 'Item ' || s, 'F' || (s % 10), 'C' || (s % 3), 10, 6, 0.25, 50, 0.95
FROM generate_series(1, 300) AS s;
INSERT INTO supplier (supplier, name) SELECT 'V' || s, 'Vendor ' || s FROM generate_series(1, 20) AS s;
INSERT INTO supplier_item (supplier, sku, lead_time_days, lead_time_std_days, moq, unit_cost, priority)
SELECT 'V' || (1 + s % 20), 'S' || lpad(s::text, 4, '0'), 30, 5, 0, 6, 1 FROM generate_series(1, 250) AS s;
INSERT INTO plan_cycle (month, status, status_by, plan_version, version)
SELECT date '2026-01-01' + make_interval(months => c), 'draft', '', 1, 1 FROM generate_series(0, 5) AS c;
INSERT INTO forecast_run (cycle_id, created_by, engine, horizon, freq, params, versions, data_hash, backtest, status)
SELECT id, '', 'statistical', 18, 'MS', '{}', '{}', '', '{}', 'done' FROM plan_cycle;
INSERT INTO forecast (run_id, sku, period, yhat, model)
SELECT r.id, p.sku, date '2026-01-01' + make_interval(months => m), 1.0, 'ets'
FROM forecast_run AS r CROSS JOIN product AS p CROSS JOIN generate_series(0, 17) AS m;
INSERT INTO plan_line (cycle_id, plan_version, sku, period, demand_qty, supply_qty, inventory_qty, revenue, cost)
SELECT c.id, v, p.sku, date '2026-01-01' + make_interval(months => m), 1, 1, 1, 1, 1
FROM plan_cycle AS c CROSS JOIN generate_series(1, 2) AS v CROSS JOIN product AS p CROSS JOIN generate_series(0, 17) AS m;
INSERT INTO forecast_override (cycle_id, level, item, period, value, reason, comment, author, version)
SELECT c.id, 'sku', p.sku, date '2026-01-01' + make_interval(months => m), 5, 'promo', '', 'ann', 1
FROM plan_cycle AS c CROSS JOIN product AS p CROSS JOIN generate_series(0, 2) AS m;
INSERT INTO sales_history (sku, period, quantity, promo)
SELECT p.sku, date '2023-01-01' + make_interval(months => m), 3, 0
FROM product AS p CROSS JOIN generate_series(0, 35) AS m;
ANALYZE;
"""

#: (what, the repository's query with {run} and {cycle} for a forecast run's and a cycle's id, the index it must use)
QUERIES = (
    ("forecast rows of a run (forecast_repo)",
     "SELECT sku, period, yhat FROM forecast WHERE run_id = {run} ORDER BY sku, period",
     "ix_forecast_run_sku_period"),
    ("plan lines of a cycle's version (plan_repo)",
     "SELECT sku, period, demand_qty, supply_qty FROM plan_line WHERE cycle_id = {cycle} AND plan_version = 1 "
     "ORDER BY sku, period",
     "ix_plan_line_cycle_version_sku_period"),
    ("overrides of a cycle at one level (override_repo)",
     "SELECT item, period, value FROM forecast_override WHERE cycle_id = {cycle} AND level = 'sku' "
     "AND item IN ('S0001', 'S0002')",
     "uq_forecast_override_cycle_level_item_period"),
    ("the suppliers of a SKU (master_repo: the SKUs without a routing or a supplier)",
     "SELECT supplier, unit_cost FROM supplier_item WHERE sku = 'S0007'",
     "ix_supplier_item_sku"),
    ("sales of a SKU (the key's index: no index of its own)",
     "SELECT period, quantity FROM sales_history WHERE sku = 'S0007'",
     "uq_sales_history_sku_period"),
    ("sales of a month range (stock_repo)",
     "SELECT sku, period, quantity FROM sales_history WHERE period >= date '2025-12-01'",
     "ix_sales_history_period"),
)  # fmt: skip


@pytest.fixture(scope="module")
def seeded(pg_schema_url: str) -> Iterator[tuple[Connection, dict[str, int]]]:
    """A connection to a schema at head with the seed rows analysed, sequential scans off, and the ids of the last
    forecast run and cycle; the tables are emptied afterwards (the schema is shared by the session)."""
    engine = make_engine(pg_schema_url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(SEED))
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        ids = {"run": conn.scalar(text("SELECT max(id) FROM forecast_run")),
               "cycle": conn.scalar(text("SELECT max(id) FROM plan_cycle"))}  # fmt: skip
        yield conn, ids
        conn.rollback()
    with engine.begin() as conn:
        names = ", ".join(f'"{model.__tablename__}"' for model in ALL_MODELS)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.mark.parametrize(("what", "query", "index"), QUERIES, ids=[q[0] for q in QUERIES])
def test_the_main_queries_scan_their_index(
    seeded: tuple[Connection, dict[str, int]], what: str, query: str, index: str
) -> None:
    conn, ids = seeded
    plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {query.format(**ids)}")))
    assert any(scan in plan for scan in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")), (what, plan)
    assert index in plan, (what, plan)
