"""Plan diff between any two plan versions or cycles: the choices, the parts and the hand-computed total.

Runs on a private copy of the seeded demo company (2026-09 closed, 2026-10 signed, 2026-11 in demand
review; sales history up to 2026-10). The totals are computed here straight from the stored plan lines
and the sales history with SQL, independently of :mod:`sop_core.planning.plan_diff`.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from sop_core.cli import main as cli
from sop_core.planning import levers as lev
from sop_core.services import cycle as cycle_service
from sop_core.services import plan, plan_changes, scenarios, signoff

CAUSES = ["new_actuals", "statistical_forecast", "overrides", "price", "capacity", "scenario_levers"]


def month_id(engine: Engine, month: str) -> int:
    return cycle_service.cycle_by_month(engine, month).id


def plan_revenue(engine: Engine, cycle_id: int, version: int, first: str, last: str) -> float:
    """Σ revenue of the stored plan lines of a version over the months [first, last] (YYYY-MM)."""
    with engine.connect() as conn:
        return float(conn.execute(text(
            "SELECT COALESCE(SUM(revenue), 0) FROM plan_line WHERE cycle_id = :c AND plan_version = :v "
            "AND period >= :f AND period <= :l"),
            {"c": cycle_id, "v": version, "f": f"{first}-01", "l": f"{last}-01"}).scalar())


def actual_revenue(engine: Engine, cycle_id: int, version: int, month: str) -> float:
    """Actual revenue of one month for the SKUs the plan version has in that month (net price, else list)."""
    with engine.connect() as conn:
        return float(conn.execute(text(
            "SELECT COALESCE(SUM(h.quantity * COALESCE(h.net_price, p.unit_price)), 0) "
            "FROM sales_history h JOIN product p ON p.sku = h.sku "
            "WHERE h.period = :m AND h.sku IN (SELECT sku FROM plan_line WHERE cycle_id = :c "
            "AND plan_version = :v AND period = :m)"),
            {"m": f"{month}-01", "c": cycle_id, "v": version}).scalar())


def parts(d: plan_changes.DiffResult) -> dict[str, float]:
    return d.waterfall.set_index("step")["value"].to_dict()


def test_the_choices_list_every_cycle_and_version(demo_engine: Engine) -> None:
    choices = plan_changes.diff_choices(demo_engine)
    # newest first; the demo's past cycles are all signed (one version each)
    assert choices[["key", "label"]].head(3).values.tolist() == [
        ["2026-11:v1", "2026-11 v1 (demand review, baseline)"],
        ["2026-10:v1", "2026-10 v1 (signed)"],
        ["2026-09:v1", "2026-09 v1 (signed)"],
    ]
    assert choices["month"].tolist() == cycle_service.cycles_frame(demo_engine)["month"].tolist()
    assert choices["frozen"].tolist() == [False] + [True] * (len(choices) - 1)
    assert choices["proposed"].tolist() == [False] + [True] * (len(choices) - 1)
    nov = month_id(demo_engine, "2026-11")
    assert plan_changes.default_diff_pair(demo_engine, nov) == ("2026-10:v1", "2026-11:v1")
    assert plan_changes.default_diff_pair(demo_engine, month_id(demo_engine, "2026-10")) == ("2026-09:v1", "2026-10:v1")
    # the oldest cycle has no earlier signed plan
    oldest = choices["month"].iloc[-1]
    assert plan_changes.default_diff_pair(demo_engine, month_id(demo_engine, oldest)) == (None, f"{oldest}:v1")
    assert plan_changes.plan_ref(demo_engine, "2026-10") == (month_id(demo_engine, "2026-10"), 1)
    assert plan_changes.plan_ref(demo_engine, "2026-10:v1") == (month_id(demo_engine, "2026-10"), 1)
    with pytest.raises(cycle_service.WorkflowError, match="cycle 2026-10 has no plan version 4; versions: v1"):
        plan_changes.plan_ref(demo_engine, "2026-10:v4")
    with pytest.raises(cycle_service.WorkflowError, match="no plan cycle for 2027-05"):
        plan_changes.plan_ref(demo_engine, "2027-05")


def test_signed_september_against_signed_october(demo_engine: Engine) -> None:
    sep, oct_ = month_id(demo_engine, "2026-09"), month_id(demo_engine, "2026-10")
    d = plan_changes.plan_diff(demo_engine, (oct_, 1), (sep, 1))
    assert (d.before_label, d.after_label) == ("2026-09 v1", "2026-10 v1")
    # by hand: September (2026-09 … 2028-02) against October (2026-10 … 2028-03). September 2026 is
    # history by October: its plan revenue is replaced by the actual sales; the months both plans
    # cover are 2026-10 … 2028-02 (October's 2028-03 is beyond September's horizon and stays out).
    before = plan_revenue(demo_engine, sep, 1, "2026-09", "2028-02")
    after = actual_revenue(demo_engine, sep, 1, "2026-09") + plan_revenue(demo_engine, oct_, 1, "2026-10", "2028-02")
    steps = parts(d)
    assert steps["before"] == pytest.approx(before, rel=1e-12)
    assert steps["after"] == pytest.approx(after, rel=1e-12)
    assert d.total_change == pytest.approx(after - before, rel=1e-9)
    assert sum(steps[c] for c in CAUSES) == pytest.approx(after - before, rel=1e-9)
    # the new actuals are exactly September's actual minus September's plan
    assert steps["new_actuals"] == pytest.approx(
        actual_revenue(demo_engine, sep, 1, "2026-09") - plan_revenue(demo_engine, sep, 1, "2026-09", "2026-09"),
        rel=1e-9)
    # every level adds up to the same total
    for level in ("family", "sku", "period"):
        table = d.by(level)
        assert table["change"].sum() == pytest.approx(after - before, rel=1e-9)
        assert table[CAUSES].sum(axis=1).to_numpy() == pytest.approx(table["change"].to_numpy(), abs=1e-6)


def test_a_later_plan_compared_with_an_earlier_one(demo_engine: Engine) -> None:
    """Not the default direction: October (before) against September (after); no month became history."""
    sep, oct_ = month_id(demo_engine, "2026-09"), month_id(demo_engine, "2026-10")
    d = plan_changes.plan_diff(demo_engine, (sep, 1), (oct_, 1))
    # the months both cover: 2026-10 … 2028-02 (September's 2026-09 is not in October's plan)
    before = plan_revenue(demo_engine, oct_, 1, "2026-10", "2028-02")
    after = plan_revenue(demo_engine, sep, 1, "2026-10", "2028-02")
    steps = parts(d)
    assert steps["before"] == pytest.approx(before, rel=1e-12)
    assert steps["after"] == pytest.approx(after, rel=1e-12)
    assert steps["new_actuals"] == 0.0
    assert sum(steps[c] for c in CAUSES) == pytest.approx(after - before, rel=1e-9)
    assert set(d.lines["period"].dt.strftime("%Y-%m")) == {p.strftime("%Y-%m") for p in pd.date_range(
        "2026-10-01", "2028-02-01", freq="MS")}


def test_two_versions_of_one_cycle_differ_by_the_price_lever(demo_engine: Engine) -> None:
    """A new version of the signed October cycle with +10 % price: the signed v1 against v2."""
    oct_ = month_id(demo_engine, "2026-10")
    sid, _ = scenarios.save_scenario(demo_engine, oct_, "Price up", lev.Levers(price_change_pct=10), "fiona", None)
    seen = plan.promotion_seen(demo_engine, plan.load_scenario(demo_engine, sid).cycle_id)
    assert plan.promote(demo_engine, sid, "fiona", seen) == 2
    choices = plan_changes.diff_choices(demo_engine).set_index("key")
    assert choices.loc["2026-10:v2", "label"] == "2026-10 v2 (reconciliation)"
    assert choices.loc["2026-10:v1", "label"] == "2026-10 v1 (signed)"
    assert plan_changes.plan_ref(demo_engine, "2026-10") == (oct_, 2)

    d = plan_changes.plan_diff(demo_engine, (oct_, 2), (oct_, 1))
    assert (d.before_label, d.after_label) == ("2026-10 v1", "2026-10 v2")
    before = plan_revenue(demo_engine, oct_, 1, "2026-10", "2028-03")
    after = plan_revenue(demo_engine, oct_, 2, "2026-10", "2028-03")
    steps = parts(d)
    assert steps["before"] == pytest.approx(before, rel=1e-12)
    assert steps["after"] == pytest.approx(after, rel=1e-9)
    assert d.total_change == pytest.approx(after - before, rel=1e-9)
    assert sum(steps[c] for c in CAUSES) == pytest.approx(after - before, rel=1e-9)
    # same forecast, same overrides, no month became history: only price (and what it does to supply)
    assert steps["new_actuals"] == steps["statistical_forecast"] == steps["overrides"] == 0.0
    assert steps["price"] > 0
    # the signed version is as it was
    assert signoff.is_frozen(demo_engine, oct_, 1) and not signoff.is_frozen(demo_engine, oct_, 2)


def _printed(out: str) -> dict[str, str]:
    """``label → amount`` of the printed waterfall lines."""
    rows = {}
    for line in out.splitlines():
        if line.startswith("  "):
            label, _, amount = line.strip().rpartition("  ")
            rows[label.strip()] = amount.strip()
    return rows


def test_cli_diff_prints_the_waterfall_and_the_total(demo_engine: Engine, demo_url: str, tmp_path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SOP_DATABASE_URL", demo_url)
    sep, oct_ = month_id(demo_engine, "2026-09"), month_id(demo_engine, "2026-10")
    before = plan_revenue(demo_engine, sep, 1, "2026-09", "2028-02")
    after = actual_revenue(demo_engine, sep, 1, "2026-09") + plan_revenue(demo_engine, oct_, 1, "2026-10", "2028-02")
    out_csv = tmp_path / "diff.csv"
    assert cli.main(["diff", "--from", "2026-09:v1", "--to", "2026-10", "--level", "family",
                     "--csv", str(out_csv)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "plan diff (revenue): 2026-09 v1 → 2026-10 v1"
    rows = _printed(out)
    assert list(rows)[:8] == ["Before", "New actuals", "Statistical forecast", "Overrides", "Price", "Capacity",
                              "Scenario levers", "After"]
    assert rows["Before"] == f"{before:,.2f}" and rows["After"] == f"{after:,.2f}"
    d = plan_changes.plan_diff(demo_engine, (oct_, 1), (sep, 1))
    assert rows["New actuals"] == f"{parts(d)['new_actuals']:+,.2f}"
    assert rows["Price"] == "+0.00"  # same prices in both signed plans
    assert f"total change: {after - before:+,.2f}\n" in out
    assert f"check: the parts add up to {after - before:+,.2f}; after − before = {after - before:+,.2f}: ok" in out
    assert "by family:" in out and "COFFEE" in out
    written = pd.read_csv(out_csv)
    assert len(written) == 8 and written["change"].sum() == pytest.approx(after - before, rel=1e-9)

    # the defaults: the current cycle's plan (2026-11 v1, the baseline) against the last signed plan
    assert cli.main(["diff"]) == 0
    out = capsys.readouterr().out
    default = plan_changes.plan_diff(demo_engine, (month_id(demo_engine, "2026-11"), 1))
    assert out.splitlines()[0] == "plan diff (revenue): 2026-10 v1 → 2026-11 v1"
    assert f"total change: {default.total_change:+,.2f}\n" in out and ": ok" in out

    # a version the cycle does not have: one line, exit 1
    assert cli.main(["diff", "--from", "2026-10:v9"]) == 1
    assert capsys.readouterr().err.strip() == "error: cycle 2026-10 has no plan version 9; versions: v1"

