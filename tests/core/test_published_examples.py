"""Inventory formulas against worked examples whose page in the publication has been confirmed.

Each test names the source, the page and where the page was seen. The published answers are rounded as
printed (the books read z from a table with two decimals), so the tolerances allow for that rounding only.
"""

from __future__ import annotations

import pytest

from sop_core.planning import inventory as inv
from sop_core.planning import kpi_formulas as kpi


def test_eoq_harris_1913_how_many_parts_to_make_at_once() -> None:
    # Ford W. Harris, "How Many Parts to Make at Once", Factory, The Magazine of Management 10(2), February 1913,
    # pp. 135-136, 152; reprinted in Operations Research 38(6), 1990, pp. 947-950. Pages confirmed in the
    # header of the reprint (scribd.com/document/427408602, "Reprinted from Factory ... pp. 135-136, 152") and
    # in a reference list (globalauthorid.com: "... [Reprinted in Operations Research], 1990, 38(6), 947-950").
    # Harris's worked example: movement M = 1,000 units a month, set-up cost S = $2, unit cost C = 10 cents;
    # his lot size X = sqrt(240·M·S / C) gives "the theoretical economical size of lot is 2,190 units".
    # sqrt(240·M·S/C) is sqrt(2·D·S/H) with D = 12·M a year and H = C·0.10 (240 = 2·12 / 0.10):
    # sqrt(2 · 12,000 · 2 / 0.01) = sqrt(4,800,000) = 2,190.9.
    q = inv.eoq(12 * 1_000, 2.0, 0.10 * 0.10)
    assert q == pytest.approx((240 * 1_000 * 2.0 / 0.10) ** 0.5)
    assert int(q) == 2_190  # Harris prints the whole units


def test_safety_stock_lead_time_variability_heizer_render_surgery_packs() -> None:
    # Heizer & Render, Operations Management, ch. 12 "Managing Inventory", solved problem on p. 543 (page header
    # "CHAPTER 12 MANAGING INVENTORY 543" in the transcript at fdocuments.net/document/copia-56072dfca4b34.html;
    # the edition is not named in that transcript). Demand is constant at 60 surgery packs a week, the lead time
    # is normal with mean 6 weeks and standard deviation 2 weeks, 90 % service, Z = 1.28:
    # ROP = 60·6 + 1.28·60·2 = 360 + 153.6 = 513.6 ≈ 514 packs (the book's answer).
    # With σ_D = 0 the lead-time term alone is left: σ_L = sqrt(6·0² + 60²·2²) = 120.
    ss = inv.safety_stock(0.90, 60, 0, 6, 2)
    assert ss == pytest.approx(1.28 * 120, abs=0.2)  # Φ⁻¹(0.90) = 1.2816 against the table's 1.28
    rop = inv.reorder_point(0.90, 60, 0, 6, 2)
    assert rop == pytest.approx(513.6, abs=0.2)
    assert round(rop) == 514


def test_safety_stock_from_lead_time_demand_stevenson_14e_example_8() -> None:
    # Stevenson, Operations Management, 14th ed. (McGraw-Hill), ch. 12 "Inventory Management", Example 8, p. 528
    # (page header "528 Chapter Twelve Inventory Management" at fliphtml5.com/cviyu/vkrs/OPERAT~1/557/): demand
    # for sand during lead time is normal with mean 50 tons and standard deviation 5 tons, stockout risk 3 %:
    # z = 1.88, safety stock = 1.88·5 = 9.40 tons, ROP = 50 + 9.40 = 59.40 tons.
    # The lead time is one period, so σ_L = σ_d·sqrt(1) = 5.
    assert inv.z_value(0.97) == pytest.approx(1.88, abs=0.005)
    assert inv.safety_stock(0.97, 50, 5, 1) == pytest.approx(9.40, abs=0.01)
    assert inv.reorder_point(0.97, 50, 5, 1) == pytest.approx(59.40, abs=0.01)


def test_expected_shortage_from_the_loss_function_cachon_terwiesch_statistics_tutorial() -> None:
    # Cachon & Terwiesch, Matching Supply with Demand: An Introduction to Operations Management, "Statistics
    # Tutorial", p. 431 (page header "Statistics Tutorial 431" at anyflip.com/cicx/bevj/basic/451-500; the edition
    # is not stated there). X normal with mean 1,000 and σ 300, Q = 1,600: z = (1,600 − 1,000) / 300 = 2.0,
    # L(2.0) = 0.0085 from the loss table, so the expected amount by which X exceeds Q is 300 · 0.0085 = 2.55 units.
    # This is the expected shortage per cycle behind the fill rate (fill rate = 1 − ESC / Q): a stock of 600 above
    # the mean with σ 300 is short 2.55 units per cycle on average.
    esc = inv.expected_shortage_per_cycle(1_600 - 1_000, 300)
    assert esc == pytest.approx(300 * 0.0085, abs=0.005)  # exact L(2) = 0.008491 → 2.547
    assert float(inv.normal_loss(2.0)) == pytest.approx(0.0085, abs=0.00005)


def test_fill_rate_stevenson_14e_annual_service_level() -> None:
    # Stevenson, Operations Management, 14th ed. (McGraw-Hill), ch. 12 "Inventory Management", p. 530 (page
    # header "530 Chapter Twelve Inventory Management" at fliphtml5.com/cviyu/vkrs/OPERAT~1/559/): the annual
    # service level "is the percentage of demand filled directly from inventory. This is also known as the fill
    # rate": with D = 1,000 and 990 units filled from stock (shortages of 10 units over the year) the fill rate is
    # 990 / 1,000 = 99 percent.
    assert kpi.fill_rate([990], [1_000]) == pytest.approx(0.99)
    # The same year booked by month (quantity-weighted: Σ shipped / Σ ordered, not a mean of monthly ratios).
    assert kpi.fill_rate([80, 75, 85, 750], [80, 80, 90, 750]) == pytest.approx(0.99)
    # The planning form fr = 1 − expected shortage / demand: a safety stock that leaves 10 units short per
    # 1,000 units of demand gives the book's 99 %.
    sigma = 300.0
    k = inv.safety_factor_for_fill_rate(0.99, sigma, 1_000)
    assert inv.expected_shortage_per_cycle(k * sigma, sigma) == pytest.approx(10, abs=1e-6)
    assert inv.fill_rate_from_safety_stock(k * sigma, sigma, 1_000) == pytest.approx(0.99)
