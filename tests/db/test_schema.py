"""The data layer on SQLite and PostgreSQL: migrations, upserts, constraints, optimistic locking."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from alembic import command
from alembic.util.exc import CommandError
from sqlalchemy import inspect, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import make_engine, session_scope
from sop_core.db.migrate import alembic_config, current_revision, heads, upgrade
from sop_core.db.schema import ALL_MODELS

PRODUCTS = pd.DataFrame(
    {
        "sku": ["A-1", "B-2"],
        "name": ["Kettle", "Toaster"],
        "family": ["KITCHEN", "KITCHEN"],
        "category": ["SMALL", "SMALL"],
        "unit_price": [40.0, 55.0],
        "unit_cost": [22.0, 30.0],
        "holding_rate": [0.25, 0.25],
        "order_cost": [80.0, 80.0],
        "service_target": [0.95, 0.9],
    }
)


def _sales(qty_a: float = 10.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": ["A-1", "A-1", "B-2"],
            "period": [dt.date(2026, 9, 1), dt.date(2026, 10, 1), dt.date(2026, 10, 1)],
            "quantity": [qty_a, 12.0, 7.0],
            "net_price": [39.0, 40.0, None],
            "promo": [0, 1, 0],
        }
    )


def test_one_migration_head() -> None:
    assert len(heads()) == 1


def test_schema_at_head_has_every_table(engine) -> None:
    assert current_revision(engine) == heads()[0]
    tables = set(inspect(engine).get_table_names())
    assert {model.__tablename__ for model in ALL_MODELS} <= tables
    assert upgrade(engine) is False  # already at head: nothing runs


def test_models_and_migrations_do_not_drift(engine) -> None:
    cfg = alembic_config(engine)
    try:
        command.check(cfg)
    except CommandError as exc:  # pragma: no cover - the message lists the drift
        pytest.fail(f"models and migrations differ: {exc}")


def test_upsert_inserts_then_updates_by_natural_key(engine) -> None:
    with session_scope(engine) as s:
        assert repo.upsert_frame(s, "product", PRODUCTS) == 2
        assert repo.upsert_frame(s, "sales_history", _sales()) == 3
    with session_scope(engine) as s:
        repo.upsert_frame(s, "sales_history", _sales(qty_a=99.0).iloc[:1])
    with session_scope(engine) as s:
        hist = repo.read_table(s, "sales_history")
    assert len(hist) == 3
    first = hist[(hist.sku == "A-1") & (hist.period == pd.Timestamp("2026-09-01"))]
    assert first.quantity.item() == 99.0
    assert hist.quantity.sum() == 99.0 + 12.0 + 7.0
    assert pd.isna(hist.loc[hist.sku == "B-2", "net_price"]).all()


def test_foreign_keys_are_enforced(engine) -> None:
    with pytest.raises(IntegrityError):
        with session_scope(engine) as s:
            repo.upsert_frame(s, "sales_history", _sales())  # no product rows yet
    with session_scope(engine) as s:
        assert repo.count_rows(s, m.SalesHistory) == 0


def test_failed_transaction_writes_nothing(engine) -> None:
    with pytest.raises(IntegrityError):
        with session_scope(engine) as s:
            repo.upsert_frame(s, "product", PRODUCTS)
            repo.upsert_frame(s, "routing", pd.DataFrame({"sku": ["A-1"], "resource": ["NOPE"], "hours_per_unit": [0.1]}))
    with session_scope(engine) as s:
        assert repo.table_counts(s)["product"] == 0


def test_scenario_version_detects_concurrent_edit(engine) -> None:
    with session_scope(engine) as s:
        cycle = m.PlanCycle(month=dt.date(2026, 11, 1), status="draft")
        s.add(cycle)
        s.flush()
        s.add(m.Scenario(cycle_id=cycle.id, name="Promo +20 %", levers={"demand_change_pct": 20}, author="dana"))
    # two users load version 1
    with Session(engine) as a, Session(engine) as b:
        sa = a.scalar(select(m.Scenario))
        sb = b.scalar(select(m.Scenario))
        assert sa.version == sb.version == 1
        sa.levers = {"demand_change_pct": 25}
        a.commit()
        sb.levers = {"demand_change_pct": 5}
        with pytest.raises(StaleDataError):
            b.commit()
    with session_scope(engine) as s:
        kept = s.scalar(select(m.Scenario))
        assert kept.levers == {"demand_change_pct": 25}
        assert kept.version == 2


def test_repository_reads_dates_as_timestamps(engine) -> None:
    with session_scope(engine) as s:
        repo.upsert_frame(s, "product", PRODUCTS)
        repo.upsert_frame(s, "sales_history", _sales())
    with session_scope(engine) as s:
        frame = repo.read_table(s, "sales_history")
    assert list(frame.columns) == repo.input_columns("sales_history")
    assert str(frame.period.dtype).startswith("datetime64")


@pytest.mark.sqlite
def test_sqlite_file_created_in_missing_folder(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'deeper' / 'sop.db'}"
    eng = make_engine(url)
    assert upgrade(eng) is True
    assert (tmp_path / "new" / "deeper" / "sop.db").exists()
    with eng.begin() as conn:
        conn.execute(update(m.PlanCycle).values(status="x"))  # table exists, statement runs
    eng.dispose()


@pytest.mark.sqlite
def test_downgrade_to_base_and_back(tmp_path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade(eng)
    cfg = alembic_config(eng)
    command.downgrade(cfg, "base")
    assert "product" not in inspect(eng).get_table_names()
    assert upgrade(eng) is True
    assert "plan_line" in inspect(eng).get_table_names()
    eng.dispose()


def test_budget_margin_migration_keeps_the_budgets_already_stored(engine) -> None:
    """0003 → 0004 adds the nullable ``budget.margin``: a budget stored before keeps its rows, margin empty."""
    command.downgrade(alembic_config(engine), "0003")
    assert "margin" not in {c["name"] for c in inspect(engine).get_columns("budget")}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO budget (family, period, volume, revenue) VALUES ('KITCHEN', :p, 120, 5400)"),
            {"p": dt.date(2026, 11, 1)},
        )
    assert upgrade(engine) is True and current_revision(engine) == heads()[0]
    with session_scope(engine) as s:
        kept = repo.read_table(s, "budget")
    assert kept[["family", "volume", "revenue"]].values.tolist() == [["KITCHEN", 120.0, 5400.0]]
    assert kept["margin"].isna().all()
    # a budget file with margins fills the new column; one without leaves a stored margin as it is
    with session_scope(engine) as s:
        repo.upsert_frame(s, "budget", pd.DataFrame({"family": ["KITCHEN"], "period": [dt.date(2026, 11, 1)],
                                                     "volume": [120.0], "revenue": [5400.0], "margin": [1900.0]}))
    with session_scope(engine) as s:
        repo.upsert_frame(s, "budget", pd.DataFrame({"family": ["KITCHEN"], "period": [dt.date(2026, 11, 1)],
                                                     "volume": [125.0], "revenue": [5600.0]}))
    with session_scope(engine) as s:
        row = repo.read_table(s, "budget").iloc[0]
    assert (row["volume"], row["revenue"], row["margin"]) == (125.0, 5600.0, 1900.0)
