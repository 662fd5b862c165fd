"""Human labels of the data contract's column names and the kind of value each holds, as the pages' tables and
the meeting pack head and format them.

Two maps beside the data contract: :data:`LABELS`, a snake_case column name (``demand_qty``) → the label a reader
sees ("Demand (units)"), units following the label in brackets: units, hours, days, the company currency
(:data:`sop_core.config.CURRENCY`), % for a value already in percent; a column not in the map is shown in sentence
case (:func:`label`). :data:`KINDS`, a column → the kind of its values (money, units, a share, …), which sets its
number format on a page (``views/tables.py``) and in the workbook (:mod:`sop_core.io.export`).

Example:
    >>> label("demand_qty"), label("unit_cost"), label("updated_at"), label("lead_time_days_p90")
    ('Demand (units)', 'Unit cost (EUR)', 'Updated at', 'Lead time days p90')
"""

from __future__ import annotations

from sop_core.config import CURRENCY
from sop_core.planning.plan_diff import CAUSES

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
    # masters, stock and the inventory policy
    "class": "ABC/XYZ class",
    "abc": "ABC class",
    "xyz": "XYZ class",
    "moq": "MOQ (units)",
    "on_hand": "On hand (units)",
    "on_order": "On order (units)",
    "safety_stock": "Safety stock (units)",
    "reorder_point": "Reorder point (units)",
    "max_stock": "Maximum stock (units)",
    "eoq": "EOQ (units)",
    "order_qty": "Order quantity (units)",
    "below_reorder_point": "Below reorder point",
    "lead_time_days": "Lead time (days)",
    # projected inventory
    "opening": "Opening stock (units)",
    "receipts": "Receipts (units)",
    "demand": "Demand (units)",
    "closing": "Closing stock (units)",
    "shortage": "Shortage (units)",
    "days_of_cover": "Days of cover",
    "stockout": "Stock-out",
    "below_safety_stock": "Below safety stock",
    # suppliers and replenishment
    "orders": "Deliveries",
    "on_time": "On time",
    "in_full": "In full",
    "otif": "OTIF",
    "lt_mean_days": "Lead time mean (days)",
    "lt_std_days": "Lead time σ (days)",
    "master_lead_time_days": "Master lead time (days)",
    "alternate_supplier": "Alternate supplier",
    "order_value": f"Order value ({CURRENCY})",
    "arrives_late": "Arrives after the stock-out",
    "switch_recommended": "Switch supplier",
    # capacity, monitoring, users, the data's health
    "overtime_hours": "Overtime needed (hours)",
    "message": "Finding",
    "actor": "By",
    "at": "When",
    "rows": "Rows",
}


#: snake_case column → the kind of its values: "money" (company currency), "qty" (units or hours, whole), "share"
#: (0.953 shown as 95.3 %), "pct" (a value already in percent), "count", "month", "date", "time". A column not named
#: here is shown by its values (text, or a plain number).
KINDS: dict[str, str] = {
    **dict.fromkeys(("revenue", "cost", "margin", "budget_revenue", "inventory_value_end", "change", "before",
                     "after", *CAUSES, "planned_revenue", "actual_revenue", "order_value"), "money"),
    **dict.fromkeys(("demand_qty", "supply_qty", "inventory_qty", "planned_qty", "actual_qty", "load_hours",
                     "capacity_hours", "shortfall_hours", "overtime_hours", "on_hand", "on_order", "safety_stock",
                     "reorder_point", "max_stock", "eoq", "moq", "order_qty", "opening", "receipts", "demand",
                     "closing", "shortage"), "qty"),
    **dict.fromkeys(("utilisation", "margin_rate", "fill_rate", "actual_vs_plan", "volume_vs_plan", "on_time",
                     "in_full", "otif"), "share"),
    **dict.fromkeys(("demand_change_pct", "price_change_pct"), "pct"),
    **dict.fromkeys(("id", "version", "plan_version", "orders", "rows"), "count"),
    "period": "month",
    **dict.fromkeys(("due_date", "order_date"), "date"),
    **dict.fromkeys(("created_at", "updated_at", "signed_at", "frozen_at", "at"), "time"),
}


def label(col: str) -> str:
    """The label of a column: :data:`LABELS`, else the name in sentence case (underscores as spaces, the first
    letter capital).

    Example:
        >>> label("capacity_hours"), label("safety_stock_days"), label("2026-10")
        ('Regular capacity (hours)', 'Safety stock days', '2026-10')
    """
    if col in LABELS:
        return LABELS[col]
    text = str(col).replace("_", " ").strip()
    return text[:1].upper() + text[1:]
