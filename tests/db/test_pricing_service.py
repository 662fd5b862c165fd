"""The elasticity per family from imported sales history: known elasticities written as CSV files, imported
the ordinary way, recovered by the service and by ``python -m sop_core elasticity``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from sop_core.cli.main import main
from sop_core.io import ingest
from sop_core.services.pricing import COLUMNS, family_elasticities

#: Every service write checks its user: the demo users exist in the test's databases.
pytestmark = pytest.mark.usefixtures("demo_users")

MONTHS = pd.date_range("2023-01-01", periods=36, freq="MS")
#: family → (true elasticity, SKUs, months of history, price moves)
FAMILIES = {"SPRINT": (-1.8, 12, 36, True), "STEADY": (-0.6, 8, 36, True), "FLAT": (-1.0, 4, 36, False),
            "FEW": (-1.0, 1, 12, True)}


def generated_history(seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Products and monthly sales with a known own-price elasticity e per family:
    q = A · season · 1.04^years · (p / P)^e · e^(0.3·promo) · e^(0.08·ε), ε standard normal, q rounded to units.
    Prices: list-price changes of −8 … +10 % at three random months, a 0–4 % channel discount, 10–25 % off
    in promotion months (one month in five); FLAT keeps one price per SKU and has no promotions."""
    rng = np.random.default_rng(seed)
    products, sales = [], []
    month = MONTHS.month.to_numpy()
    for fam, (e, n_sku, n_months, moves) in FAMILIES.items():
        shift = rng.integers(0, 12)
        season = 1 + 0.35 * np.sin(2 * np.pi * (month - shift) / 12)
        for i in range(n_sku):
            sku = f"{fam[:3]}-{i:02d}"
            base_price, base_qty = round(rng.uniform(20, 200), 2), rng.uniform(80, 400)
            products.append({"sku": sku, "name": f"{fam.title()} {i}", "family": fam, "category": "FINISHED",
                             "unit_price": base_price, "unit_cost": round(0.6 * base_price, 2)})
            t = np.arange(len(MONTHS))
            promo = (rng.random(len(t)) < 0.2).astype(int) if moves else np.zeros(len(t), dtype=int)
            price = np.full(len(t), base_price)
            if moves:
                for start in rng.choice(np.arange(3, len(t)), size=3, replace=False):
                    price[start:] *= 1 + rng.uniform(-0.08, 0.10)
                price *= 1 - np.where(promo == 1, rng.uniform(0.10, 0.25, len(t)), rng.uniform(0.0, 0.04, len(t)))
            price = np.round(price, 2)
            qty = (base_qty * season * 1.04 ** (t / 12) * (price / base_price) ** e * np.exp(0.3 * promo)
                   * np.exp(0.08 * rng.standard_normal(len(t))))
            keep = slice(len(t) - n_months, len(t))
            sales.append(pd.DataFrame({"sku": sku, "period": MONTHS.strftime("%Y-%m-%d")[keep],
                                       "quantity": np.round(qty)[keep], "net_price": price[keep],
                                       "promo": promo[keep]}))
    return pd.DataFrame(products), pd.concat(sales, ignore_index=True)


def import_generated(engine: Engine, tmp_path: Path) -> pd.DataFrame:
    """Write the generated products and sales as CSV files and import them like a user would."""
    products, sales = generated_history()
    products.to_csv(tmp_path / "product.csv", index=False)
    sales.to_csv(tmp_path / "sales_history.csv", index=False)
    report = ingest.import_files(engine, [tmp_path / "product.csv", tmp_path / "sales_history.csv"])
    assert report.rows == {"product": len(products), "sales_history": len(sales)}
    return sales


def test_known_elasticities_come_back_within_two_standard_errors(engine: Engine, tmp_path: Path) -> None:
    sales = import_generated(engine, tmp_path)
    assert (sales["quantity"] > 0).all()  # every row is used
    frame = family_elasticities(engine)
    assert frame.columns.tolist() == COLUMNS
    assert frame["family"].tolist() == ["FEW", "FLAT", "SPRINT", "STEADY"]
    rows = frame.set_index("family")
    for fam, se_type in [("SPRINT", "cluster(sku)"), ("STEADY", "HC1")]:
        truth, n_sku, months, _ = FAMILIES[fam]
        r = rows.loc[fam]
        assert r["used"] and r["value_used"] == r["elasticity"], r["reason"]
        assert abs(r["elasticity"] - truth) <= 2 * r["std_error"], (fam, r["elasticity"], r["std_error"])
        assert 0 < r["std_error"] < 0.5
        assert (r["n"], r["skus"], r["se_type"]) == (n_sku * months, n_sku, se_type)
    pooled = frame.attrs["pooled"]
    assert pooled["used"] and pooled["n"] == 12 * 36 + 8 * 36 + 4 * 36 + 12
    assert -1.8 < pooled["elasticity"] < -0.6  # one e for all: between the two families' own
    flat, few = rows.loc["FLAT"], rows.loc["FEW"]
    assert not flat["used"] and np.isnan(flat["elasticity"]) and flat["n"] == 4 * 36
    assert flat["reason"] == ("no price variation within a SKU once promotions, season and trend are accounted "
                              f"for; the estimate over all families ({pooled['elasticity']:+.2f}) is used")
    assert not few["used"] and few["n"] == 12 and few["reason"].startswith("only 12 observations")
    assert flat["value_used"] == few["value_used"] == pooled["elasticity"]


def test_a_new_import_is_seen_at_once(sqlite_engine: Engine, tmp_path: Path) -> None:
    import_generated(sqlite_engine, tmp_path)
    before = family_elasticities(sqlite_engine)
    before.loc[0, "n"] = -1  # callers get their own copy: the kept result stays as it was
    assert family_elasticities(sqlite_engine).equals(family_elasticities(sqlite_engine))
    assert family_elasticities(sqlite_engine).loc[0, "n"] == 12
    # twelve more months of FEW (before its first): 24 observations now, and its prices move
    rng = np.random.default_rng(3)
    more = pd.DataFrame({"sku": "FEW-00", "period": MONTHS[:12].strftime("%Y-%m-%d"),
                         "quantity": np.round(rng.uniform(150, 250, 12)), "net_price": np.round(rng.uniform(40, 60, 12), 2),
                         "promo": 0})
    more.to_csv(tmp_path / "sales_history_more.csv", index=False)
    ingest.import_files(sqlite_engine, [tmp_path / "sales_history_more.csv"])
    after = family_elasticities(sqlite_engine).set_index("family")
    assert after.loc["FEW", "n"] == 24


def _cli(args: list[str], engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("SOP_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_json_and_table(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import_generated(sqlite_engine, tmp_path)
    frame = family_elasticities(sqlite_engine).set_index("family")
    code, out, err = _cli(["elasticity", "--format", "json"], sqlite_engine, monkeypatch, capsys)
    assert code == 0, err
    data = json.loads(out)
    assert list(data) == ["FEW", "FLAT", "SPRINT", "STEADY"]
    for fam, entry in data.items():
        assert list(entry) == ["elasticity", "std_error", "n", "used", "value_used", "reason"]
        assert entry["n"] == frame.loc[fam, "n"] and entry["used"] is bool(frame.loc[fam, "used"])
        assert entry["value_used"] == round(frame.loc[fam, "value_used"], 4)
        assert entry["reason"] == frame.loc[fam, "reason"]
    assert data["SPRINT"]["elasticity"] == round(frame.loc["SPRINT", "elasticity"], 4)
    assert data["FLAT"]["elasticity"] is None and data["FLAT"]["std_error"] is None  # NaN → null
    code, out, err = _cli(["elasticity"], sqlite_engine, monkeypatch, capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("own-price elasticity (log-log demand per family")
    assert lines[1].split()[:4] == ["family", "elasticity", "std_error", "n"]
    assert lines[-1].startswith(f"all families pooled: {frame.attrs['pooled']['elasticity']:+.3f} ± ")


def test_cli_bad_option_is_one_line_and_exit_2(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _cli(["elasticity", "--format", "xml"], sqlite_engine, monkeypatch, capsys)
    assert code == 2 and out == ""
    assert err == ("error: argument --format: invalid choice: 'xml' (choose from 'table', 'json') "
                   "(see `python -m sop_core elasticity --help`)\n")
    code, _out, err = _cli(["elasticity", "--pretty"], sqlite_engine, monkeypatch, capsys)
    assert code == 2 and err == "error: unrecognized arguments: --pretty (see `python -m sop_core --help`)\n"


def test_a_stored_estimate_reads_back_the_same(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Stored with the pages' figures and read back in a fresh process: the same table and pooled estimate."""
    from sop_core.services import figures

    import_generated(sqlite_engine, tmp_path)
    with figures.storing():
        computed = family_elasticities(sqlite_engine)
    from sqlalchemy import text

    with sqlite_engine.connect() as c:
        parts = c.execute(text("SELECT part FROM stored_figure WHERE name = 'family_elasticities'")).scalars().all()
    assert sorted(parts) == ["families", "pooled"]
    figures.forget()  # a fresh process: nothing kept in memory, the stored copy is read
    read = family_elasticities(sqlite_engine)
    pd.testing.assert_frame_equal(read, computed)
    assert read.attrs["pooled"] == computed.attrs["pooled"]
    assert isinstance(read.attrs["pooled"]["used"], bool) and read.attrs["pooled"]["n"] == computed.attrs["pooled"]["n"]
