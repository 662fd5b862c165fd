"""The what-if levers as widgets: one typed table (:data:`SCALAR_WIDGETS`) says which widget shows which lever, in
which unit and range; the levers a widget cannot show one by one (capacity per resource, disruption windows, SKU
changes of a loaded scenario) are kept aside (:class:`KeptLevers`) and saved with it again.

:func:`put_levers` writes a scenario's levers into the widgets (before they are drawn), :func:`draw_levers` draws
them, :func:`lever_values` reads them back as the plain values :func:`sop_core.services.whatif.levers_from` takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from sop_core.services import whatif
from views import ui

ALL_RESOURCES = "All resources"
KEY_KEPT = "recon_kept_levers"
#: The SKU changes the SKU editor starts from (a loaded scenario's, then each SKU added), and its edits so far.
KEY_SKU_BASE, KEY_SKU_NOW, KEY_SKU_EDITOR = "recon_sku_base", "recon_sku_now", "recon_sku_editor"


@dataclass(frozen=True)
class LeverWidget:
    """One lever of :class:`sop_core.planning.levers.Levers` shown by one widget.

    ``field`` names the lever; ``key`` the widget's session-state key; the widget shows ``scale`` × the lever's
    value (100 for a share shown in %), rounded to ``digits`` (None: a whole number), between ``low`` and
    ``high`` in steps of ``step``, in ``unit``."""

    field: str
    key: str
    label: str
    kind: Literal["slider", "number", "toggle"]
    unit: str = ""
    low: float | None = None
    high: float | None = None
    step: float | None = None
    scale: float = 1.0
    digits: int | None = 1
    fmt: str | None = None
    help: str | None = None
    placeholder: str | None = None

    def to_widget(self, value: Any) -> Any:
        """The widget's value of a lever value (None stays None: an empty field)."""
        if self.scale == 1.0 or value is None:
            return value
        return round(self.scale * value) if self.digits is None else round(self.scale * value, self.digits)

    def from_widget(self, value: Any) -> Any:
        """The lever value of the widget's value."""
        return value if self.scale == 1.0 or value is None else value / self.scale

    def draw(self, where: DeltaGenerator) -> None:
        """Draw the widget in ``where`` (a column or the page)."""
        if self.kind == "toggle":
            where.toggle(self.label, key=self.key, help=self.help)
        elif self.kind == "slider":
            where.slider(self.label, self.low, self.high, step=self.step, format=self.fmt, key=self.key, help=self.help)
        elif self.field == "price_elasticity":  # empty = learned per family (an empty field stays empty)
            where.number_input(self.label, self.low, self.high, step=self.step, value=None, key=self.key,
                               placeholder=self.placeholder, help=self.help)
        else:
            where.number_input(self.label, self.low, self.high, step=self.step, key=self.key, help=self.help)


_PCT = "%+.0f %%"
SCALAR_WIDGETS: tuple[LeverWidget, ...] = (
    LeverWidget("demand_change_pct", "demand_change_pct", "Demand change (all SKUs)", "slider", "%",
                -30.0, 30.0, 1.0, fmt=_PCT),
    LeverWidget("price_change_pct", "price_change_pct", "Price change", "slider", "%", -30.0, 30.0, 1.0, fmt=_PCT),
    LeverWidget("overtime_allowed", "overtime_allowed", "Overtime allowed", "toggle"),
    LeverWidget("price_elasticity", "price_elasticity", "Price elasticity", "number", "", -5.0, 0.0, 0.1,
                placeholder="learned per family",
                help="Demand × (1 + price change)^elasticity. Empty = each family's elasticity learned from the sales "
                "history (below); a number = that elasticity for every family; 0 = demand does not react to price."),
    LeverWidget("cost_change_pct", "cost_change_pct", "Unit cost change (%)", "number", "%", -50.0, 100.0, 1.0),
    LeverWidget("overtime_cost_change_pct", "overtime_cost_change_pct", "Overtime rate change (%)", "number", "%",
                -50.0, 200.0, 5.0),
    LeverWidget("lead_time_change_days", "lead_time_change_days", "Supplier lead-time change (days)", "number",
                "days", -60.0, 120.0, 7.0),
    LeverWidget("cycle_service_level", "cycle_service_level_pct", "Cycle service level (safety stock, %)", "number",
                "%", 0.0, 99.9, 0.5, scale=100.0, digits=1,
                help="The probability of no stockout in a replenishment cycle that every SKU's safety stock is set "
                "for; 0 = each product's own target (Supply review). A higher level or a longer lead time holds more "
                "safety stock."),
    LeverWidget("fill_rate_target", "fill_rate_target_pct", "Fill-rate target (constrained plan)", "slider", "%",
                0, 99, 1, scale=100.0, digits=None, fmt="%d %%",
                help="The share of each SKU's demand the plan must serve: 0 = none; the plan uses overtime and "
                "alternate suppliers before falling below it."),
    LeverWidget("cover_months", "cover_months", "Extra cover (months)", "number", "months", 0.0, 6.0, 0.25,
                help="Stock above the safety stock at each month end, in months of next month's demand."),
    LeverWidget("frozen_periods", "frozen_periods", "Frozen months (open orders only)", "number", "months", 0, 6, 1),
)
_WIDGET = {w.field: w for w in SCALAR_WIDGETS}
assert set(_WIDGET) <= set(whatif.LEVER_FIELDS), "a lever widget names no lever"


@dataclass(frozen=True)
class KeptLevers:
    """The levers of a loaded scenario the widgets do not show one by one, saved with it again: the family
    editor's starting changes, the SKU changes, the capacity changes beside the one the widgets show and the
    other supplier disruptions; ``generation`` counts the loads (a load starts fresh editors)."""

    family_changes: dict[str, float]
    sku_changes: dict[str, float]
    other_capacity: dict[str, float]
    other_disruptions: dict[str, list[str]]
    generation: int


def put_levers(values: Mapping[str, Any], choices: whatif.LeverChoices) -> None:
    """Put a scenario's lever values (:func:`sop_core.services.whatif.lever_values`) into the widgets, before they
    are drawn: one capacity change (one resource, or the same % on all) and one disruption window on the widgets,
    the rest kept aside (:class:`KeptLevers`)."""
    ss = st.session_state
    for w in SCALAR_WIDGETS:
        ss[w.key] = w.to_widget(values[w.field])
    ss["demand_from_month"], ss["demand_to_month"] = values["demand_from"], values["demand_to"]
    caps: dict[str, float] = values["capacity_changes"]
    if caps and set(caps) == set(choices.resources) and len(set(caps.values())) == 1:
        resource, pct = ALL_RESOURCES, next(iter(caps.values()))
    elif caps:
        resource, pct = next(iter(caps.items()))
    else:
        resource, pct = ALL_RESOURCES, 0.0
    ss["capacity_resource"], ss["capacity_change_pct"] = resource, float(pct)
    disruptions: dict[str, list[str]] = values["supplier_disruptions"]
    window = next(iter(disruptions.values())) if disruptions else None
    ss["disrupted_suppliers"] = [sup for sup, w in disruptions.items() if w == window]
    ss["disruption_from"], ss["disruption_to"] = window or (None, None)
    before = ss.get(KEY_KEPT)
    ss[KEY_KEPT] = KeptLevers(
        family_changes=dict(values["family_changes"]),
        sku_changes=dict(values["sku_changes"]),
        other_capacity={} if resource == ALL_RESOURCES else {r: v for r, v in caps.items() if r != resource},
        other_disruptions={sup: w for sup, w in disruptions.items() if w != window},
        generation=before.generation + 1 if before else 1,
    )


def settle(choices: whatif.LeverChoices) -> None:
    """Bring every widget's value within the cycle's months, resources and suppliers (after a load or a change of
    cycle): an unknown month is the first (last) one, an unknown resource all of them."""
    ss, months = st.session_state, choices.months
    if ss.get("demand_from_month") not in months:
        ss["demand_from_month"] = months[0]
    if ss.get("demand_to_month") not in months:
        ss["demand_to_month"] = months[-1]
    if ss.get("capacity_resource") not in [ALL_RESOURCES, *choices.resources]:
        ss["capacity_resource"] = ALL_RESOURCES
    if ss.get("disruption_from") not in months or ss.get("disruption_to") not in months:
        ss["disruption_from"], ss["disruption_to"] = months[0], months[min(2, len(months) - 1)]
    ss["disrupted_suppliers"] = [x for x in ss.get("disrupted_suppliers", []) if x in choices.suppliers]


def _pct_changes(keys: pd.Series, pcts: pd.Series) -> dict[str, float]:
    """The non-zero % changes of an editor's rows (empty rows and cells left out)."""
    return {str(k): float(v) for k, v in zip(keys, pcts, strict=True) if pd.notna(k) and pd.notna(v) and v}


def _change_editors(choices: whatif.LeverChoices, kept: KeptLevers) -> tuple[dict[str, float], dict[str, float]]:
    """The family and SKU demand-change editors; returns their non-zero changes [%]."""
    st.caption("Demand change per family (%), on top of the all-SKU change and in the same months; "
               "below it, extra changes per SKU (search a SKU and add its change).")
    families = pd.DataFrame(
        {"family": choices.families, "change_pct": [kept.family_changes.get(f, 0.0) for f in choices.families]}
    )
    edited = ui.data_editor(
        families,
        hide_index=True,
        disabled=["family"],
        key=f"family_editor_{kept.generation}",
        column_config={
            "family": st.column_config.TextColumn("Family"),
            "change_pct": st.column_config.NumberColumn("Demand change (%)", min_value=-90.0, max_value=200.0, step=1.0),
        },
    )
    return _pct_changes(edited["family"], edited["change_pct"]), _sku_changes(choices, kept)


def _add_sku_change(sku: str | None) -> None:
    """Button callback: the picked SKU's change joins the editor's (a fresh editor shows them all)."""
    ss = st.session_state
    if sku is None:
        return
    changes = dict(ss.get(KEY_SKU_NOW, ss[KEY_SKU_BASE]))
    changes[sku] = float(ss.get("sku_change_pct", 0.0))
    ss[KEY_SKU_BASE] = changes
    ss[KEY_SKU_EDITOR] = (ss[KEY_SKU_EDITOR][0], ss[KEY_SKU_EDITOR][1] + 1)


def _sku_changes(choices: whatif.LeverChoices, kept: KeptLevers) -> dict[str, float]:
    """The SKU changes: a SKU picked by search (only the matches go to the browser, however many SKUs the cycle
    has) and added with its %, then an editor of the changes so far (edit a %, delete a row)."""
    ss = st.session_state
    if ss.get(KEY_SKU_EDITOR, (None,))[0] != kept.generation:  # a loaded scenario starts from its own SKU changes
        ss[KEY_SKU_BASE], ss[KEY_SKU_EDITOR] = dict(kept.sku_changes), (kept.generation, 0)
        ss.pop(KEY_SKU_NOW, None)
    c_pick, c_pct, c_add = st.columns([3, 2, 1], vertical_alignment="bottom")
    sku = ui.search_picker("SKU", choices.skus, key="sku_change_pick", where=c_pick)
    c_pct.number_input("Extra demand change (%)", min_value=-90.0, max_value=200.0, value=10.0, step=1.0,
                       key="sku_change_pct", help="On top of the all-SKU and family changes, in the same months.")
    c_add.button("Add SKU change", key="sku_change_add", on_click=_add_sku_change, args=(sku,), disabled=sku is None)
    base: dict[str, float] = ss[KEY_SKU_BASE]
    generation, adds = ss[KEY_SKU_EDITOR]
    edited = ui.data_editor(
        pd.DataFrame({"sku": list(base), "change_pct": [float(v) for v in base.values()]},
                     columns=["sku", "change_pct"]).astype({"sku": "object", "change_pct": "float"}),
        hide_index=True,
        num_rows="delete",
        disabled=["sku"],
        key=f"sku_editor_{generation}_{adds}",
        column_config={
            "sku": st.column_config.TextColumn("SKU"),
            "change_pct": st.column_config.NumberColumn(
                "Extra demand change (%)", min_value=-90.0, max_value=200.0, step=1.0,
                help="On top of the all-SKU and family changes, in the same months.",
            ),
        },
    )
    ss[KEY_SKU_NOW] = _pct_changes(edited["sku"], edited["change_pct"])
    return dict(ss[KEY_SKU_NOW])


def elasticity_table(learned: pd.DataFrame) -> None:
    """The own-price elasticity learned per family (:func:`sop_core.services.whatif.family_elasticities`), with its
    standard error, and what the lever uses when empty."""
    pooled = learned.attrs.get("pooled", {})
    st.markdown(
        "Log-log regression of monthly quantity on net price per family, with SKU fixed effects, month-of-year, "
        "promotion and trend controls. Used where it is significantly negative; else the fallback."
    )
    ui.dataframe(
        learned[["family", "elasticity", "std_error", "n", "used", "value_used", "reason"]],
        hide_index=True,
        column_config={
            "family": "Family",
            "elasticity": st.column_config.NumberColumn("Estimate", format="%.2f"),
            "std_error": st.column_config.NumberColumn("± std. error", format="%.2f"),
            "n": st.column_config.NumberColumn("Months × SKUs", format="%,d"),
            "used": "Supported",
            "value_used": st.column_config.NumberColumn("Lever uses", format="%.2f"),
            "reason": st.column_config.TextColumn("Why", width="large"),
        },
    )
    if pooled:
        st.caption(
            f"All families together: {pooled.get('elasticity', float('nan')):.2f} ± "
            f"{pooled.get('std_error', float('nan')):.2f} (n {pooled.get('n', 0):,})"
        )


def draw_levers(choices: whatif.LeverChoices, learned: pd.DataFrame) -> dict[str, Any]:
    """Draw every lever (``learned``: the elasticities learned per family, shown in a popover); returns the levers
    as the widgets show them (:func:`lever_values`)."""
    w, months = _WIDGET, choices.months
    left, mid, right = st.columns(3)
    w["demand_change_pct"].draw(left)
    w["price_change_pct"].draw(mid)
    right.slider("Capacity change", -50.0, 50.0, step=5.0, format=_PCT, key="capacity_change_pct",
                 help="Regular hours of the resource chosen below (or of all resources).")
    c0, c1, c2, c3 = st.columns(4)
    c0.selectbox("Demand change from", months, key="demand_from_month")
    c1.selectbox("to", months, key="demand_to_month")
    c2.selectbox("Capacity change on", [ALL_RESOURCES, *choices.resources], key="capacity_resource")
    w["overtime_allowed"].draw(c3)
    kept: KeptLevers = st.session_state[KEY_KEPT]
    with st.expander("More levers"):
        c1, c_learned, c2, c3, c4 = st.columns([3, 2, 3, 3, 3], vertical_alignment="bottom")
        w["price_elasticity"].draw(c1)
        with c_learned.popover("Learned", width="stretch",
                               help="The own-price elasticity learned per family from the sales history"):
            elasticity_table(learned)
        for col, name in zip((c2, c3, c4), ("cost_change_pct", "overtime_cost_change_pct", "lead_time_change_days"),
                             strict=True):
            w[name].draw(col)
        row = st.columns(4)
        for col, name in zip(row, ("cycle_service_level", "fill_rate_target", "cover_months", "frozen_periods"),
                             strict=True):
            w[name].draw(col)
        c1, c2, c3 = st.columns([2, 1, 1])
        c1.multiselect("Supplier out of action", choices.suppliers, key="disrupted_suppliers")
        c2.selectbox("Out of action from", months, key="disruption_from")
        c3.selectbox("to", months, key="disruption_to")
        family_changes, sku_changes = _change_editors(choices, kept)
        also = [f"{r} {v:+.0f} %" for r, v in kept.other_capacity.items()]
        also += [f"{sup} out {win[0]} … {win[1]}" for sup, win in kept.other_disruptions.items()]
        if also:
            st.caption("Also in this scenario (kept when saved): " + " · ".join(also))
    return lever_values(choices, kept, family_changes, sku_changes)


def lever_values(
    choices: whatif.LeverChoices, kept: KeptLevers, family_changes: dict[str, float], sku_changes: dict[str, float]
) -> dict[str, Any]:
    """The levers as the widgets show them, with the ones kept aside: lever name → plain value."""
    ss, months = st.session_state, choices.months
    values = {w.field: w.from_widget(ss[w.key]) for w in SCALAR_WIDGETS}
    first, last = ss["demand_from_month"], ss["demand_to_month"]
    chosen, pct = ss["capacity_resource"], float(ss["capacity_change_pct"])
    targets = choices.resources if chosen == ALL_RESOURCES else [chosen]
    window = sorted([ss["disruption_from"], ss["disruption_to"]])
    capacity = {r: v for r, v in kept.other_capacity.items() if r not in targets}
    capacity.update({r: pct for r in targets} if pct else {})
    disrupted = ss["disrupted_suppliers"]
    disruptions = {sup: list(w) for sup, w in kept.other_disruptions.items() if sup not in disrupted}
    disruptions.update({sup: list(window) for sup in disrupted})
    values.update(
        family_changes=family_changes,
        sku_changes=sku_changes,
        demand_from="" if first == months[0] else first,
        demand_to="" if last == months[-1] else last,
        capacity_changes=capacity,
        supplier_disruptions=disruptions,
    )
    return values
