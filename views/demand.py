"""Demand review: statistical forecast, planners' overrides with reasons, consensus and accuracy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from sop_core import formatting
from sop_core.errors import EditConflict, SopError
from sop_core.services import demand, demand_accuracy, forecasting, overrides, page_figures
from views import conflicts, demand_charts, state, ui

LEVELS = {"total": "Total", "category": "Category", "family": "Family", "sku": "SKU"}
#: What the accuracy tables' columns mean: their rows mix bases (this run's backtest, earlier cycles' stored
#: forecasts against the actuals that arrived since), so each column says which.
ACCURACY_HELP = {
    "Forecast": st.column_config.TextColumn(help="Backtest of this run (holdout months), or an earlier cycle's "
                                            "stored forecast against the actuals that arrived since"),
    "Months": st.column_config.TextColumn(help="Months with both a forecast and an actual in this row's basis"),
    "WMAPE": st.column_config.TextColumn(help="Σ|actual − forecast| ÷ Σ actual over the row's months"),
    "MAPE": st.column_config.TextColumn(help="Mean of |actual − forecast| ÷ actual per month (months with sales)"),
    "MASE": st.column_config.TextColumn(help="Mean absolute error ÷ the seasonal naive error of the training history"),
    "Bias": st.column_config.TextColumn(help="Σ(forecast − actual) ÷ Σ actual; > 0 over-forecast"),
    "Tracking signal": st.column_config.TextColumn(help="Σ(actual − forecast) ÷ mean absolute deviation"),
}
FVA_HELP = {
    "Months": st.column_config.NumberColumn(help="Months with actuals that every step forecast"),
    "FVA statistical": st.column_config.TextColumn(help="WMAPE naive − WMAPE statistical: > 0 the model helped"),
    "FVA consensus": st.column_config.TextColumn(help="WMAPE statistical − WMAPE consensus: > 0 the overrides helped"),
}
KEY_LEVEL, KEY_ITEM, KEY_SKU, KEY_STAMP = "demand_level", "demand_item", "demand_sku", "demand_saved"

st.title("Demand review")

engine = state.get_engine()
cycle = state.current_cycle()
url = engine.url.render_as_string(hide_password=True)
# The data this session shows is a snapshot of the database, named by its review stamp (it changes with every
# run, override, sales or event change, whoever makes it); the shared cache is keyed on it. A snapshot moves
# on when this session saves or asks for the latest, so edits in progress are never swapped under the user.
KEY_SNAPSHOT = f"{KEY_STAMP}_{cycle.id}"
latest = demand.review_stamp(engine, cycle.id)
st.session_state.setdefault(KEY_SNAPSHOT, latest)
st.session_state.setdefault(KEY_STAMP, 0)  # this session's reloads: a fresh grid editor after each


def refresh() -> None:
    st.session_state[KEY_SNAPSHOT] = demand.review_stamp(engine, cycle.id)
    st.session_state[KEY_STAMP] += 1


#: The services this page shows, by the name its cache keys on.
SERVICES: dict[str, Callable[..., Any]] = {
    "latest_run": demand.latest_run,
    "forecast_freshness": demand.forecast_freshness,
    "items": demand.items,
    "item_names": demand.item_names,
    "chart_view": demand.chart_view,
    "item_summary": demand.item_summary,
    "events_in_scope": demand.events_in_scope,
    "overrides_locked": overrides.overrides_locked,
    "override_grid": overrides.override_grid,
    "changes_vs_last_cycle": demand_accuracy.changes_vs_last_cycle,
    "item_accuracy": demand_accuracy.item_accuracy,
    "fva_table": demand_accuracy.fva_table,
    "tracking_flags": demand_accuracy.tracking_flags,
}


@st.cache_data(ttl=600, show_spinner="Loading demand…")
def load(name: str, db_url: str, stamp: str, *args: object) -> Any:  # noqa: ARG001 - cache keys
    """The result of the service ``name`` of :data:`SERVICES`, cached per database and data snapshot."""
    return SERVICES[name](engine, *args)


def run_now() -> None:
    bar = st.progress(0.0, text="Starting the forecast…")
    try:
        forecasting.run_forecast(engine, cycle_id=cycle.id, user=state.current_user().username,
                                 progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), text=msg))
    except ValueError as err:
        st.error(ui.md(err))
        return
    page_figures.store_page_figures(  # the pages open with figures of the new run
        engine, cycle.id, progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), text=f"Preparing the pages: {msg}"))
    refresh()
    st.rerun()


stamp = st.session_state[KEY_SNAPSHOT]
if stamp != latest:
    note, reload = st.columns([4, 1])
    note.info("The demand data changed since this page loaded it (another planner's save, a forecast run or an "
              "import). Your unsaved edits stay until you load the latest.")
    reload.button("Load the latest", key="demand_latest", on_click=refresh)
run = load("latest_run", url, stamp, cycle.id)
if run is None:
    st.info(f"Cycle {cycle.label} has no forecast yet.")
    if state.editing("forecast") and st.button("Run the statistical forecast", type="primary", key="demand_run"):
        run_now()
    st.stop()

st.caption(f"Cycle {cycle.label} · {demand.run_label(run)} · horizon {run['horizon']} months")
freshness = load("forecast_freshness", url, stamp, run["id"])
if freshness.stale:
    (st.info if freshness.frozen else st.warning)(freshness.message())

# ---- selection
left, right = st.columns([1, 3])
level = left.selectbox("Level", list(LEVELS), format_func=LEVELS.get, key=KEY_LEVEL)
options = load("items", url, stamp, level)
if level == "sku":  # thousands of SKUs: found by a search, not listed
    names = load("item_names", url, stamp, level)
    by_label = {names[sku]: sku for sku in options}
    picked = ui.search_picker("SKU", by_label, key=KEY_SKU, where=right)
    if picked is None:
        st.stop()
    item = by_label[picked]
else:
    if st.session_state.get(KEY_ITEM) not in options:
        st.session_state[KEY_ITEM] = options[0]
    item = right.selectbox(LEVELS[level], options, key=KEY_ITEM, format_func=load("item_names", url, stamp, level).get)

view = load("chart_view", url, stamp, cycle.id, level, item)
summary = load("item_summary", url, stamp, level, item, run["id"], cycle.id)

# ---- headline
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Forecast, next 12 months", formatting.quantity(summary["forecast_12m"]),
          help="Statistical forecast, sum of the first 12 forecast months [units]")
c2.metric("Consensus, next 12 months", formatting.quantity(summary["consensus_12m"]),
          help="Statistical forecast + overrides, first 12 forecast months [units]")
since = (f"{summary['actual_from']:%Y-%m} – {summary['actual_to']:%Y-%m}" if summary["actual_from"] is not None
         else "the 12 months before the forecast")
c3.metric("vs last 12 months", formatting.percent(summary["change_12m"]),
          help=f"Statistical forecast, next 12 months, vs the actuals of the same SKUs in the 12 months before the "
               f"forecast starts ({since}: {formatting.quantity(summary['actual_last_12m'])} units)")
c4.metric("Backtest WMAPE", formatting.percent(summary["backtest_wmape"]),
          help=run["backtest"].get("method", "holdout") + " · Σ|y − ŷ| / Σ|y|")
c5.metric("Forecast run", f"#{summary['run_id']} · {summary['engine']}", help=demand.run_label(run))

# ---- chart: history, intervals, statistical forecast, consensus, events
events = load("events_in_scope", url, stamp, level, item, cycle.id)
name = item if level == "total" else f"{LEVELS[level]} {item}"
st.subheader(f"{ui.md(name)}: history, statistical forecast and consensus")
st.plotly_chart(demand_charts.forecast_figure(view, events), width="stretch", key="demand_chart")

# ---- overrides
st.subheader("Overrides and consensus by month")
locked = load("overrides_locked", url, stamp, cycle.id)
read_only = bool(locked) or not state.editing("override")
if locked:
    st.info(ui.md(locked))
elif state.meeting_mode():
    st.info("Meeting mode: overrides are read-only.")
elif read_only:
    st.info(f"Overrides are read-only for you: changing them needs a demand planner or an admin "
            f"(you are {state.current_user().role.replace('_', ' ')}).")
st.caption("Enter a quantity (units) or a change in % of the statistical forecast, and a reason. An override of a "
           "family, category or the total is spread to its SKUs in proportion to their statistical forecast; "
           "a lower level wins over a higher one. Clear both numbers to remove an override.")
grid = load("override_grid", url, stamp, cycle.id, level, item)
edited = ui.data_editor(
    grid, key=f"demand_grid_{cycle.id}_{level}_{item}_{st.session_state[KEY_STAMP]}", hide_index=True, width="stretch",
    disabled=read_only or ["period", "statistical", "consensus", "author", "created_at", "version"],
    column_order=["period", "statistical", "value", "pct", "reason", "comment", "consensus", "author", "created_at"],
    column_config={
        "period": st.column_config.DateColumn("Month", format="MMM YYYY"),
        "statistical": st.column_config.NumberColumn("Statistical", format="%,.0f"),
        "value": st.column_config.NumberColumn("Override (units)", min_value=0.0, format="%,.0f"),
        "pct": st.column_config.NumberColumn("Override (%)", min_value=-100.0, format="%+.1f"),
        "reason": st.column_config.SelectboxColumn("Reason", options=list(overrides.REASON_CODES)),
        "comment": st.column_config.TextColumn("Comment"),
        "consensus": st.column_config.NumberColumn("Consensus", format="%,.0f"),
        "author": st.column_config.TextColumn("By"),
        "created_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
    },
)
CONFLICT = f"demand_{cycle.id}_{level}_{item}"


def save_mine(edits: pd.DataFrame, seen: dict[Any, int | None]) -> None:
    overrides.save_overrides(engine, cycle.id, level, item, edits, state.current_user().username, seen)
    refresh()


if not read_only and st.button("Save overrides", type="primary", key="demand_save"):
    edits, versions = overrides.grid_edits(grid, edited)
    try:
        if edits.empty:
            st.info("Nothing changed.")
        else:
            overrides.save_overrides(engine, cycle.id, level, item, edits, state.current_user().username, versions)
            refresh()
            st.rerun()
    except EditConflict as err:
        conflicts.remember(CONFLICT, err, edits)
    except SopError as err:
        st.error(ui.md(err))
if not read_only:
    conflicts.offer(CONFLICT, save_mine, refresh)

# ---- changes vs last cycle
st.subheader("Biggest changes vs last cycle")
tabs = st.tabs(["By family", "By SKU"])
for tab, by in zip(tabs, ("family", "sku"), strict=True):
    changes = load("changes_vs_last_cycle", url, stamp, cycle.id, by)
    if changes.empty:
        tab.info("No earlier cycle to compare with.")
        continue
    tab.caption(f"Consensus of {cycle.label} vs {changes.attrs['previous']} over the {changes.attrs['months']} "
                "months both forecast")
    ui.dataframe(pd.DataFrame({
        "Family" if by == "family" else "SKU": changes["item"],
        "Last cycle": changes["last_cycle"].map(formatting.quantity),
        "This cycle": changes["this_cycle"].map(formatting.quantity),
        "Change": changes["change"].map(formatting.quantity),
        "Change %": changes["change_pct"].map(formatting.percent),
    }), tab, hide_index=True, width="stretch", key=f"demand_changes_{by}")

# ---- accuracy
st.subheader("Accuracy")
st.caption("Backtest of this run, and earlier cycles' stored forecasts against the actuals that arrived since. "
           "MASE is scaled by the seasonal naive error of the training history of the SKUs forecast; tracking signal = "
           "Σ(y − ŷ) / MAD.")
acc = load("item_accuracy", url, stamp, cycle.id, level, item)
ui.dataframe(pd.DataFrame({
    "Forecast": acc["forecast"], "Months": acc["n"].map(lambda n: "–" if pd.isna(n) else f"{int(n)}"),
    "WMAPE": acc["wmape"].map(formatting.percent), "MAPE": acc["mape"].map(formatting.percent),
    "MASE": acc["mase"].map(formatting.number),
    "Bias": acc["bias"].map(formatting.percent), "Tracking signal": acc["tracking_signal"].map(formatting.number),
}), hide_index=True, width="stretch", key="demand_accuracy", column_config=ACCURACY_HELP)
fva = load("fva_table", url, stamp, cycle.id)
st.markdown("**Forecast value added** (naive → statistical → consensus; > 0: the step made the forecast better)")
ui.dataframe(pd.DataFrame({
    "Group": fva["group"], "Name": fva["name"], "Months": fva["n"],
    "WMAPE naive": fva["wmape_naive"].map(formatting.percent),
    "WMAPE statistical": fva["wmape_statistical"].map(formatting.percent),
    "WMAPE consensus": fva["wmape_consensus"].map(formatting.percent),
    "FVA statistical": fva["fva_statistical"].map(formatting.percent),
    "FVA consensus": fva["fva_consensus"].map(formatting.percent),
}), hide_index=True, width="stretch", key="demand_fva", column_config=FVA_HELP)
flags = load("tracking_flags", url, stamp, cycle.id, "sku")
st.markdown(f"**Review: {formatting.plural(len(flags), 'SKU')} with a tracking signal beyond "
            f"±{demand_accuracy.TRACKING_LIMIT:.0f}**")
if not flags.empty:
    ui.dataframe(pd.DataFrame({
        "SKU": flags["item"], "Tracking signal": flags["tracking_signal"].map(formatting.number),
        "Bias": flags["bias"].map(formatting.percent),
        "WMAPE consensus": flags["wmape_consensus"].map(formatting.percent),
    }), hide_index=True, width="stretch", key="demand_flags")

with st.expander("About this forecast"):
    st.caption(f"Input sha256 {run['data_hash'][:16]}… · versions "
               + ", ".join(f"{k} {v}" for k, v in sorted(run["versions"].items())))
    if state.editing("forecast") and st.button("Re-run the statistical forecast", key="demand_rerun"):
        run_now()
