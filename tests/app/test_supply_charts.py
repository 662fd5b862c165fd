"""The supply page's utilisation heatmap draws the busiest resources only, however many the company has."""

from __future__ import annotations

import pandas as pd

from views import supply_charts


def test_the_heatmap_keeps_the_busiest_resources_in_their_order() -> None:
    table = pd.DataFrame(
        {"2027-01": [50.0, 120.0, 80.0, 95.0, 10.0], "2027-02": [60.0, 70.0, 130.0, 20.0, 99.0]},
        index=["R1", "R2", "R3", "R4", "R5"],
    )
    busiest = supply_charts.busiest_rows(table, 3)
    # highest months: R1 60, R2 120, R3 130, R4 95, R5 99 → R2, R3, R5, in the table's order
    assert list(busiest.index) == ["R2", "R3", "R5"]
    assert busiest.loc["R5", "2027-02"] == 99.0
    assert supply_charts.busiest_rows(table, 5) is table
    figure = supply_charts.utilisation_heatmap(busiest)
    assert list(figure.data[0].y) == ["R2", "R3", "R5"]
