"""KPIs: cards with traffic lights against targets for the chosen segment, then four tabs of which only the open one
is drawn: trends; the targets editor; exceptions from the monitor with SKU drill-down; the inventory policy
(:mod:`views.inventory_section`). The open tab is in the address (?kpi_section=Exceptions), so a link opens the page
on it."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from sop_core import formatting
from sop_core.errors import EditConflict
from sop_core.services import kpi as kpi_service
from sop_core.services import kpi_review
from sop_core.services import kpi_targets as targets_service
from sop_core.services import monitor as monitor_service
from views import conflicts, inventory_section, state, ui

st.title("KPIs")

engine = state.get_engine()
url = engine.url.render_as_string(hide_password=True)
cycle = state.current_cycle()
user = state.current_user()
editing = state.editing("targets")

#: Each status's light: a colour and a symbol (the word opens the card's help, ui.STATUS_MARK).
LIGHT = {"green": ":green[✔]", "amber": ":orange[▲]", "red": ":red[✖]", "grey": ":gray[○]"}
CARDS_PER_ROW = 5
EXCEPTION_COLUMNS = {
    "type": "Type", "sku": "SKU", "supplier": "Supplier", "message": st.column_config.TextColumn("Finding", width="large"),
    "action": st.column_config.TextColumn("Proposed action", width="large"),
    "run_at": st.column_config.DatetimeColumn("Found", format="YYYY-MM-DD HH:mm"),
}  # fmt: skip
POLICY_CARDS = {"On hand": "on_hand", "On order": "on_order", "Safety stock": "safety_stock",
                "Reorder point": "reorder_point", "EOQ": "eoq"}  # fmt: skip
#: What each policy card of the drill-down means, and its basis [units].
POLICY_HELP = {
    "on_hand": "Units on hand in the newest inventory snapshot [units].",
    "on_order": "Units on open orders not yet received [units].",
    "safety_stock": "Safety stock of the cycle's inventory policy, for the SKU's cycle service level target over "
                    "lead time + review period [units].",
    "reorder_point": "Mean monthly demand × (lead time + 1 month review) + safety stock; order when on hand + on "
                     "order falls below it [units].",
    "eoq": "Economic order quantity √(2 · annual demand · order cost ÷ holding cost per unit) [units].",
}


@st.cache_data(ttl=60, show_spinner="Measuring KPIs…")
def load_review(_engine, db_url: str, segment: str) -> kpi_review.KpiReview:  # noqa: ANN001, ARG001
    return kpi_review.review(_engine, segment)


@st.cache_data(ttl=300)
def load_segments(_engine, db_url: str) -> list[str]:  # noqa: ANN001, ARG001
    return kpi_service.segments(_engine)


@st.cache_data(ttl=300, show_spinner="Loading the SKU…")
def load_detail(_engine, db_url: str, sku: str, cycle_id: int) -> kpi_service.SkuDetail:  # noqa: ANN001, ARG001
    return kpi_service.sku_detail(_engine, sku, cycle_id)


def line(fig: go.Figure, x: pd.Series, y: pd.Series, name: str, color: str, dash: str | None = None) -> None:
    mode = "lines" if dash else "lines+markers"
    fig.add_trace(go.Scatter(x=x, y=y, name=name, mode=mode, line=dict(color=ui.COLORS[color], dash=dash)))


def clear_kpi_caches() -> None:
    for loader in (load_review, load_detail):
        loader.clear()


def kpi_cards() -> None:
    """The segment's KPIs, a card each with its light, value, gap to the target and what it means."""
    for start in range(0, len(summary), CARDS_PER_ROW):
        row_cards = summary.iloc[start : start + CARDS_PER_ROW].iterrows()
        for column, (key, row) in zip(st.columns(CARDS_PER_ROW), row_cards, strict=False):
            definition = targets_service.KPI_DEFINITIONS[key]
            target = formatting.kpi_value(row["target"], row["unit"])
            basis = f"Basis: {ui.md(review.segment_label)}, as of {pd.Timestamp(summary.attrs['as_of']):%d %b %Y}."
            if definition.depends_on:  # measured against another KPI's target: moving that target moves this card
                other = summary.loc[definition.depends_on]
                basis += (f" Measured against the {other['kpi']} target, now "
                          f"{formatting.kpi_value(other['target'], other['unit'])}: changing that target moves this KPI.")
            column.metric(
                f"{LIGHT[row['status']]} {row['kpi']}",
                formatting.kpi_value(row["value"], row["unit"]),
                delta=formatting.kpi_gap(row["gap"], row["unit"]) if row["status"] != "grey" else None,
                delta_description=f"target {target}",
                delta_color={"higher": "normal", "lower": "inverse"}.get(row["direction"], "off"),
                help=f"**{ui.STATUS_MARK[row['status']]}.** {definition.help} Target {target}, tolerance "
                     f"±{row['tolerance']:g} ({row['unit']}). {basis}",
                border=True,
            )


segment = st.selectbox(
    "Segment", load_segments(engine, url), format_func=targets_service.segment_label, key="kpi_segment"
)
review = load_review(engine, url, segment)
summary = review.summary
st.caption(
    f"{review.segment_label}, measured as of {pd.Timestamp(summary.attrs['as_of']):%d %b %Y} (newest "
    f"inventory snapshot); forecast accuracy from the {summary.attrs['accuracy_source']}. Lights: :green[✔] on target, "
    ":orange[▲] watch: missed by no more than the KPI's tolerance, :red[✖] off target: missed by more, :gray[○] no "
    "data."
)

if flash := st.session_state.pop("kpi_flash", None):
    st.success(ui.md(flash))
kpi_cards()


def trends_section() -> None:
    """Each KPI's monthly history against its target, two charts a row."""
    st.subheader("Trends")
    trends = review.trends
    if trends.empty:
        st.info("No monthly history to chart for this segment yet.")
        return
    st.caption(
        "OTIF and supplier fill rate by month of receipt; turns (annualised) and days of supply from the month's cost "
        "of goods sold against the inventory value of the nearest snapshot (an estimate while only one snapshot exists)."
    )
    keys = list(dict.fromkeys(trends["key"]))
    for pair in range(0, len(keys), 2):
        for column, key in zip(st.columns(2), keys[pair : pair + 2], strict=False):
            part = trends[trends["key"] == key]
            fig = go.Figure()
            line(fig, part["period"], part["value"], part["kpi"].iloc[0], "forecast")
            line(fig, part["period"], part["target"], "Target", "ok", "dash")
            fig.update_xaxes(dtick="M1", tickformat="%b %y")
            column.plotly_chart(
                ui.base_layout(fig, part["kpi"].iloc[0], height=260), width="stretch", key=f"trend_{key}"
            )


def targets_section() -> None:
    """The segment's targets, editable by those who may; a save overtaken by another person's offers theirs or mine
    (:mod:`views.conflicts`)."""
    st.subheader("Targets")
    seen_key = f"kpi_targets_seen_{segment}"
    if seen_key not in st.session_state:
        st.session_state[seen_key] = targets_service.kpi_targets(engine, segment).reset_index()
    seen = st.session_state[seen_key]
    st.caption(
        f"Targets of {review.segment_label} (a segment without its own target uses the one of all SKUs, "
        "else the default). Saving checks that nobody changed them since you opened them; targets typed and not "
        "saved stay while another tab or page is open, until you save or reload them."
    )
    draft_key, base_key, editor_key = (f"kpi_targets_draft_{segment}", f"kpi_targets_base_{segment}",
                                       f"kpi_target_editor_{segment}")
    if editor_key not in st.session_state or base_key not in st.session_state:
        # the editor starts afresh (its tab was closed, which drops an editor's state): with the targets typed
        draft = st.session_state.get(draft_key, {})
        st.session_state[base_key] = seen.assign(target=[draft.get(k, t) for k, t in zip(seen["key"], seen["target"],
                                                                                          strict=True)])
    edited = ui.data_editor(
        st.session_state[base_key][["kpi", "unit", "target", "tolerance", "source", "updated_by"]],
        disabled=["kpi", "unit", "tolerance", "source", "updated_by"] if editing else True,
        hide_index=True,
        width="stretch",
        key=editor_key,
        column_config={
            "target": st.column_config.NumberColumn("Target", format="%.1f"),
            "kpi": "KPI",
            "unit": "Unit",
            "tolerance": "Amber tolerance",
            "source": "Set for",
            "updated_by": "Changed by",
        },
    )
    typed = pd.to_numeric(edited["target"], errors="coerce").to_numpy(float)
    stored = pd.to_numeric(seen["target"], errors="coerce").to_numpy(float)
    st.session_state[draft_key] = {k: float(v) for k, v, was in zip(seen["key"], typed, stored, strict=True)
                                   if not (v == was or (pd.isna(v) and pd.isna(was)))}
    if st.session_state[draft_key]:
        st.caption(f"{formatting.plural(len(st.session_state[draft_key]), 'target')} typed and not saved yet.")

    def forget_draft() -> None:
        """The stored targets again, and a fresh editor: the targets typed are saved or dropped."""
        for key in (seen_key, draft_key, base_key, editor_key):
            st.session_state.pop(key, None)

    conflict = f"kpi_targets_{segment}"

    def save_targets(changes: pd.DataFrame, seen_versions: dict[str, int] | None = None) -> None:
        """Save the edited targets (over the versions ``seen_versions`` after a conflict); a note for the next run
        (shown above the tabs)."""
        if seen_versions is not None:
            changes = changes.assign(version=changes["key"].map(seen_versions).fillna(changes["version"]).astype(int))
        n = targets_service.save_kpi_targets(engine, segment, changes, user.username)
        forget_draft()
        clear_kpi_caches()
        st.session_state["kpi_flash"] = f"{formatting.plural(n, 'target')} saved." if n else "No target changed."

    def keep_theirs() -> None:
        forget_draft()
        clear_kpi_caches()

    save, reload = st.columns([1, 5])
    if editing and save.button("Save targets", key="kpi_save_targets", type="primary"):
        changes = seen[["key", "version"]].assign(target=edited["target"].to_numpy(), seen_target=seen["target"])
        try:
            save_targets(changes)
            st.rerun()
        except EditConflict as err:
            conflicts.remember(conflict, err, changes)
        except targets_service.KpiError as err:
            st.error(ui.md(err))
    if editing:
        conflicts.offer(conflict, save_targets, keep_theirs)
    if reload.button("Reload targets", key="kpi_reload_targets"):
        forget_draft()
        st.rerun()


def exceptions_section() -> None:
    """The monitor's open exceptions (and, for those who may, a run of its checks now), with a drill-down to one
    SKU's policy, history and projection."""
    st.subheader("Exceptions")
    exceptions = review.exceptions
    left, right = st.columns([4, 1])
    left.caption(
        f"{formatting.plural(len(exceptions), 'open exception')} from the monitor (`python -m sop_core monitor`): "
        "projected reorder-point breaches, tracking signals beyond ±4 and suppliers below the OTIF target, each with a "
        "proposed action."
    )
    if state.editing("monitor") and right.button("Run checks now", key="kpi_run_monitor"):
        result = monitor_service.run_monitor(engine, cycle.id, user=user.username)
        clear_kpi_caches()
        st.toast(f"{result.stored} new, {result.already_open} already open, {result.resolved} resolved")
        st.rerun()
    ui.dataframe(
        exceptions[["type", "sku", "supplier", "message", "action", "run_at"]],
        hide_index=True,
        width="stretch",
        column_config=EXCEPTION_COLUMNS,
    )
    skus = list(dict.fromkeys(exceptions["sku"][exceptions["sku"] != ""]))
    sku = ui.search_picker("Drill down to a SKU", skus, key="kpi_drill_sku") if skus else None
    if sku is not None:
        sku_drill_down(sku, exceptions)


def sku_drill_down(sku: str, exceptions: pd.DataFrame) -> None:
    """One SKU of the exceptions: its policy cards, sales history with forecast and projected stock against the
    reorder point, and its exceptions."""
    detail = load_detail(engine, url, sku, cycle.id)
    st.markdown(f"**{ui.md(detail.sku)} — {ui.md(detail.name)}** ({ui.md(detail.family)})")
    policy = detail.policy
    for column, (label, key) in zip(st.columns(len(POLICY_CARDS)), POLICY_CARDS.items(), strict=True):
        column.metric(label, formatting.quantity(policy.get(key)), help=POLICY_HELP[key])
    fig = go.Figure(
        go.Bar(x=detail.history["period"], y=detail.history["quantity"], name="Sales", marker_color=ui.COLORS["actual"])
    )
    if not detail.projection.empty:
        line(fig, detail.projection["period"], detail.projection["demand"], "Forecast", "forecast")
        line(fig, detail.projection["period"], detail.projection["closing"], "Projected stock", "scenario")
    if policy.get("reorder_point") is not None:
        fig.add_hline(
            y=policy["reorder_point"], line=dict(color=ui.COLORS["bad"], dash="dot"), annotation_text="Reorder point"
        )
    st.plotly_chart(
        ui.base_layout(fig, f"{detail.sku}: history and projection", height=340), width="stretch", key="kpi_drill_chart"
    )
    ui.dataframe(
        exceptions[exceptions["sku"] == sku][["type", "supplier", "message", "action"]],
        hide_index=True,
        width="stretch",
        column_config=EXCEPTION_COLUMNS,
    )


def inventory_policy_section() -> None:
    """ABC/XYZ, safety stock, reorder points and order quantities, inventory per cycle service level, the policy
    backtest (:func:`views.inventory_section.render`)."""
    inventory_section.render(engine, cycle)


# ---- one section at a time (the open tab is in the address: ?kpi_section=Exceptions)
SECTIONS = {
    "Trends": trends_section,
    "Targets": targets_section,
    "Exceptions": exceptions_section,
    "Inventory policy": inventory_policy_section,
}
ui.section_tabs(SECTIONS, key="kpi_section")
