"""The demo company at a larger scale: more suppliers and lines with the catalogue, and a seeding that gives the
same database every time, whatever the number of forecast processes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.db import models as m
from sop_core.db import repo
from sop_core.db.engine import make_engine, session_scope
from sop_core.db.models_cycle import PlanVersion
from sop_core.db.schema import ALL_MODELS
from sop_core.io import demo, demo_company
from sop_core.services import bootstrap, reproduce

#: Columns that hold the wall-clock time of the seeding (the users, the open cycle's forecast run and its audit rows,
#: the figures stored for the pages: their payloads show the run's time; their stamps must be equal).
WALL_CLOCK = {"app_user": ("created_at",), "audit_log": ("at",), "forecast_run": ("created_at",),
              "stored_figure": ("computed_at", "payload")}


def test_suppliers_and_resources_grow_with_the_catalogue() -> None:
    one, three = demo.generate(seed=7, scale=1), demo.generate(seed=7, scale=3)
    assert list(one["supplier"]["supplier"]) == list(demo_company.SUPPLIERS)
    assert list(one["resource"]["resource"]) == list(demo_company.RESOURCES)
    assert len(three["supplier"]) == 3 * len(one["supplier"]) and len(three["resource"]) == 3 * len(one["resource"])
    assert three["supplier"]["name"].is_unique and three["resource"]["name"].is_unique
    # every copy of the catalogue buys from its own suppliers and is made on its own lines
    families = {f.code: f for f in demo_company.FAMILIES}

    def copy_of(sku: str, family: str) -> int:  # fast movers first, then the long tail, numbered from 1001
        fam, k = families[family], int(sku.split("-")[1]) - 1001
        return k // fam.n_fast if k < 3 * fam.n_fast else (k - 3 * fam.n_fast) // fam.n_slow

    copy = pd.Series([copy_of(s, f) for s, f in zip(three["product"]["sku"], three["product"]["family"], strict=True)],
                     index=three["product"]["sku"])
    for table, col in (("supplier_item", "supplier"), ("receipt", "supplier"), ("routing", "resource")):
        frame = three[table]
        suffix = frame[col].str.extract(r"-(\d+)$")[0].astype(float).fillna(1.0) - 1
        assert (suffix.to_numpy() == frame["sku"].map(copy).to_numpy()).all(), table
    # capacity is sized per line from its own load: the copies run as hot as the original lines
    assert three["resource"]["capacity_hours"].iloc[6:].between(0.5 * one["resource"]["capacity_hours"].min(),
                                                               2.0 * one["resource"]["capacity_hours"].max()).all()


def _tables(engine: Engine) -> dict[str, pd.DataFrame]:
    with session_scope(engine) as s:
        out = {}
        for model in ALL_MODELS:
            frame = repo.read_frame(s, model)
            out[model.__tablename__] = frame.drop(columns=list(WALL_CLOCK.get(model.__tablename__, ())))
    return out


def _seed(path: Path, workers: int) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    bootstrap.seed_demo_company(engine, seed=7, scale=2, workers=workers)
    return engine


@pytest.mark.slow
def test_seeding_at_scale_two_gives_the_same_database_and_a_reproducible_family_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bootstrap, "FAMILY_PLAN_FROM_SKUS", 300)  # 352 SKUs: the signed cycles per family
    first, second = _seed(tmp_path / "a.db", workers=1), _seed(tmp_path / "b.db", workers=2)
    a, b = _tables(first), _tables(second)
    assert a.keys() == b.keys()
    for table in a:
        if table == "forecast_run":  # the number of processes is recorded, the figures do not depend on it
            for frame in (a[table], b[table]):
                frame["params"] = [{k: v for k, v in p.items() if k != "workers"} for p in frame["params"]]
        pd.testing.assert_frame_equal(a[table], b[table], check_exact=True, obj=table)
    with session_scope(second) as s:
        assert repo.count_rows(s, m.Product) == 2 * 176 and repo.count_rows(s, m.Supplier) == 16
        signed = [c for c in repo.read_frame(s, m.PlanCycle).itertuples() if c.status == "signed"]
        versions = repo.read_frame(s, PlanVersion)
    assert len(signed) == 1
    assert all(inputs["plan_inputs"]["level"] == "family" for inputs in versions["inputs"])
    checked = reproduce.reproduce(second, int(signed[0].id))
    assert checked.mismatches == 0 and checked.checked > 0, checked.summary()
    first.dispose()
    second.dispose()
