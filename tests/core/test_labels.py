"""Column labels: the data contract's snake_case names as a reader sees them."""

from __future__ import annotations

import re

from sop_core.io import export
from sop_core.labels import KINDS, LABELS, label


def test_named_columns_have_their_label_and_others_sentence_case() -> None:
    assert [label(c) for c in ("demand_qty", "order_date", "unit_cost", "demand_change_pct", "updated_at")] == [
        "Demand (units)", "Order date", "Unit cost (EUR)", "Demand change (%)", "Updated at"]
    assert label("safety_stock_qty") == "Safety stock qty"  # not in the map: sentence case
    assert label("2026-10") == "2026-10"


def test_every_column_the_pack_formats_has_a_human_label() -> None:
    for col in (*KINDS, *export.CAPACITY_COLUMNS):
        assert col in LABELS, col
        assert not re.search(r"_|^[a-z]", LABELS[col]), (col, LABELS[col])
    money = [c for c, kind in KINDS.items() if kind == "money"]
    assert all(LABELS[c].endswith("(EUR)") for c in money)
