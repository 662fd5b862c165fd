"""Human labels of the data contract's column names, as the meeting pack (and, later, the pages) head them.

One map beside the data contract: a snake_case column name (``demand_qty``) → the label a reader sees
("Demand (units)"). Units follow the label in brackets: units, hours, the company currency
(:data:`sop_core.config.CURRENCY`), % for a value already in percent. A column not in the map is shown in sentence
case (:func:`label`).

Example:
    >>> label("demand_qty"), label("unit_cost"), label("updated_at"), label("lead_time_days_p90")
    ('Demand (units)', 'Unit cost (EUR)', 'Updated at', 'Lead time days p90')
"""

from __future__ import annotations

from sop_core.config import CURRENCY

#: snake_case column → its label; money columns name the company currency.
LABELS: dict[str, str] = {
    # plan lines and tables
    "sku": "SKU",
    "family": "Family",
    "period": "Month",
    "demand_qty": "Demand (units)",
    "supply_qty": "Supply (units)",
    "inventory_qty": "Inventory (units)",
    "revenue": f"Revenue ({CURRENCY})",
    "cost": f"Cost ({CURRENCY})",
    "margin": f"Margin ({CURRENCY})",
    "margin_rate": "Margin rate",
    "budget_revenue": f"Budget revenue ({CURRENCY})",
    "inventory_value_end": f"Inventory value, end ({CURRENCY})",
    "fill_rate": "Fill rate",
    "unit_cost": f"Unit cost ({CURRENCY})",
    "unit_price": f"Unit price ({CURRENCY})",
    "quantity": "Quantity (units)",
    "order_date": "Order date",
    "due_date": "Due date",
    # capacity
    "resource": "Resource",
    "load_hours": "Load (hours)",
    "capacity_hours": "Regular capacity (hours)",
    "utilisation": "Utilisation",
    "shortfall_hours": "Shortfall beyond overtime (hours)",
    "status": "Status",
    # scenarios
    "id": "ID",
    "name": "Name",
    "author": "Author",
    "version": "Version",
    "demand_change_pct": "Demand change (%)",
    "price_change_pct": "Price change (%)",
    "created_by": "Created by",
    "created_at": "Created at",
    "updated_by": "Updated by",
    "updated_at": "Updated at",
    # plan diff
    "step": "Step",
    "change": f"Change ({CURRENCY})",
    "before": f"Before ({CURRENCY})",
    "after": f"After ({CURRENCY})",
    "new_actuals": f"New actuals ({CURRENCY})",
    "statistical_forecast": f"Statistical forecast ({CURRENCY})",
    "overrides": f"Overrides ({CURRENCY})",
    "price": f"Price ({CURRENCY})",
    "capacity": f"Capacity ({CURRENCY})",
    "scenario_levers": f"Scenario levers ({CURRENCY})",
    # decisions
    "decision": "Decision",
    "owner": "Owner",
    "scenario": "Scenario",
    "outcome": "Outcome",
    "cycle": "Cycle",
    "changes": "Changes",
    "scope": "Scope",
    "months": "Months",
    "planned_qty": "Planned volume (units)",
    "actual_qty": "Actual volume (units)",
    "planned_revenue": f"Planned revenue ({CURRENCY})",
    "actual_revenue": f"Actual revenue ({CURRENCY})",
    "actual_vs_plan": "Revenue vs plan",
    "volume_vs_plan": "Volume vs plan",
    "result": "Result",
    # sign-off
    "role": "Role",
    "signed": "Signed",
    "username": "Signed by",
    "signed_at": "Signed at",
    "plan_version": "Plan version",
    "frozen_by": "Frozen by",
    "frozen_at": "Frozen at",
    "comment": "Comment",
}


def label(col: str) -> str:
    """The label of a column: :data:`LABELS`, else the name in sentence case (underscores as spaces, the first
    letter capital).

    Example:
        >>> label("capacity_hours"), label("safety_stock"), label("2026-10")
        ('Regular capacity (hours)', 'Safety stock', '2026-10')
    """
    if col in LABELS:
        return LABELS[col]
    text = str(col).replace("_", " ").strip()
    return text[:1].upper() + text[1:]
