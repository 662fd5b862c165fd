"""Data: the health of the input data, import of ERP/sales extracts (validated, all-or-nothing), templates."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from sop_core import formatting
from sop_core.services import data as data_service
from sop_core.services import page_figures
from views import state, ui

KEY_UPLOADS = "data_uploads"
KEY_CHECK = "data_validation"  # {"signature": str, "issues": list[dict], "rows": int}
KEY_REPORT = "data_last_import"  # {"signature": str, "text": str} of the last committed import
KEY_READ = "data_read"  # {sha256 of a file's name and bytes: its frame, or the ImportFailed of its reading}
SHOWN_READ_ISSUES = 10  # problems shown per unreadable file before Validate (which lists them all)

st.title("Data")

engine = state.get_engine()
url = engine.url.render_as_string(hide_password=True)
st.session_state.setdefault(KEY_CHECK, None)
st.session_state.setdefault(KEY_REPORT, None)
st.session_state.setdefault(KEY_READ, {})


@st.cache_data(ttl=300, show_spinner="Checking the data…")
def load_health(_engine, db_url: str) -> pd.DataFrame:  # noqa: ANN001, ARG001
    return data_service.data_health(_engine)


@st.cache_data(ttl=300)
def load_summary(_engine, db_url: str) -> data_service.DataSummary:  # noqa: ANN001, ARG001
    return data_service.data_summary(_engine)


@st.cache_data
def template(table: str, fmt: str) -> bytes:
    return data_service.template_bytes(table, fmt)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- data health
summary = load_summary(engine, url)
health = load_health(engine, url)
cols = st.columns(4)
cols[0].metric("SKUs", formatting.quantity(summary.skus), help="Products in the master data")
cols[1].metric("Months of history", f"{summary.months_of_history}", help="Months with sales actuals")
cols[2].metric("Last actual period", formatting.month(summary.last_actual),
               help="The newest month with sales actuals")
cols[3].metric("Empty input tables", f"{len(summary.empty_tables)}",
               help="Input tables without a row: " + (", ".join(summary.empty_tables) or "none"))
dates = {c: health[c].map(lambda d: f"{d:%Y-%m-%d}" if d else "") for c in ("first_period", "last_period")}
ui.dataframe(
    health.assign(**dates),
    hide_index=True,
    width="stretch",
    height=36 * (len(health) + 1) + 3,
    column_config={
        "table": "Table",
        "rows": st.column_config.NumberColumn("Rows", format="localized"),
        "first_period": "First date",
        "last_period": "Last date",
        "skus_covered": st.column_config.NumberColumn("SKUs covered", format="localized"),
        "skus_total": st.column_config.NumberColumn("SKUs in master data", format="localized"),
        "gaps": st.column_config.TextColumn("Gaps", width="large"),
    },
)

# --------------------------------------------------------------------------- import
def import_section() -> None:
    """Upload, validate and commit extracts (the ``import`` action: planners and admins)."""
    st.caption(data_service.UPSERT_RULE)
    uploads = st.file_uploader(
        "CSV (UTF-8) or XLSX files, one table per file",
        type=["csv", "xlsx"],
        accept_multiple_files=True,
        key=KEY_UPLOADS,
    )
    st.caption(f"Each file may be up to {st.get_option('server.maxUploadSize')} MB.")
    files = [(u.name, u.getvalue()) for u in uploads or []]
    signature = hashlib.sha256(b"".join(name.encode() + b"\0" + data for name, data in files)).hexdigest()

    # each file is read once per upload: its frame (or the refusal of its reading) is kept in the session under
    # the hash of its name and bytes, so that the reruns of every click do not parse it again
    digests = {name: hashlib.sha256(name.encode() + b"\0" + content).hexdigest() for name, content in files}
    kept = st.session_state[KEY_READ]
    for name, content in files:
        if digests[name] not in kept:
            try:
                kept[digests[name]] = data_service.read_extract(content, name)
            except data_service.ImportFailed as refusal:
                kept[digests[name]] = refusal
    st.session_state[KEY_READ] = kept = {d: kept[d] for d in digests.values()}  # only the files uploaded now

    for name, _content in files:
        frame = kept[digests[name]]
        if isinstance(frame, data_service.ImportFailed):  # one line per problem, as the CLI prints them
            err = frame
            lines = [str(i) for i in err.issues[:SHOWN_READ_ISSUES]]
            if len(err.issues) > SHOWN_READ_ISSUES:
                lines.append(f"… and {len(err.issues) - SHOWN_READ_ISSUES} more; Validate lists them all")
            st.error("  \n".join(ui.md(line) for line in lines))
            continue
        if note := data_service.header_note(frame):
            st.caption(f"{ui.md(name)}: {ui.md(note)}")
        with st.expander(f"{ui.md(name)} → {frame.attrs['table']} ({formatting.plural(len(frame), 'row')})"):
            ui.dataframe(frame.head(50), width="stretch")

    check = st.session_state[KEY_CHECK]
    if check is not None and check["signature"] != signature:
        check = st.session_state[KEY_CHECK] = None  # other files: validate again

    left, right = st.columns(2)
    if left.button("Validate", key="data_validate", disabled=not files, width="stretch"):
        with st.spinner("Validating…"):
            issues = data_service.validate_files(engine, files)
        check = {"signature": signature, "issues": [i.as_dict() for i in issues]}
        st.session_state[KEY_CHECK] = check

    passed = check is not None and not check["issues"]
    commit = right.button("Commit import", key="data_commit", type="primary", disabled=not passed, width="stretch")

    if commit:
        try:
            bar = st.progress(0.0, text="Importing…")
            report = data_service.import_files(engine, files, user=state.current_user().username,
                                               progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), text=msg))
        except data_service.ImportFailed as err:  # the database changed since validation
            check = {"signature": signature, "issues": [i.as_dict() for i in err.issues]}
            st.session_state[KEY_CHECK] = check
        else:
            page_figures.store_page_figures(  # the pages open with figures of the new data
                engine,
                progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), text=f"Preparing the pages: {msg}"))
            st.cache_data.clear()  # every page reads the imported tables
            st.session_state[KEY_REPORT] = {"signature": signature, "text": str(report)}
            st.session_state[KEY_CHECK] = check = None
            st.rerun()

    if check is not None and check["issues"]:
        issues = pd.DataFrame(check["issues"], columns=["file", "row", "column", "value", "reason"])
        st.error(f"{formatting.plural(len(issues), 'problem')} found; nothing was imported. Fix the files and validate "
                 "again.")
        ui.dataframe(
            issues.astype({"row": "Int64"}),
            hide_index=True,
            width="stretch",
            column_config={
                "row": st.column_config.NumberColumn(format="%d"),
                "reason": st.column_config.TextColumn(width="large"),
            },
        )
    elif check is not None:
        st.success(f"{formatting.plural(len(files), 'file')} valid: ready to commit.")
    last = st.session_state[KEY_REPORT]
    if last is not None and last["signature"] == signature and check is None:
        st.success(ui.md(last["text"]))


st.subheader("Import extracts")
if state.current_user().can("import"):
    import_section()
else:
    st.info(f"Importing data needs a planner or an admin (you are {state.current_user().role.replace('_', ' ')}).")

# --------------------------------------------------------------------------- templates
with st.expander("Import templates: the headers and two example rows per table"):
    st.caption(
        "Row numbers in messages are those you see in the file: the header is row 1, the first data row is row 2. "
        "A title row above the header is skipped (the header is looked for in rows 1–10). "
        "Optional columns may be left out; dates are YYYY-MM-DD and periods month starts (YYYY-MM-01)."
    )
    for table in data_service.INPUT_TABLES:
        name_col, csv_col, xlsx_col = st.columns([2, 1, 1])
        name_col.markdown(f"`{table}`")
        csv_col.download_button(
            "CSV", template(table, "csv"), f"{table}.csv", "text/csv", key=f"tpl_{table}_csv", width="stretch"
        )
        xlsx_col.download_button(
            "XLSX",
            template(table, "xlsx"),
            f"{table}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"tpl_{table}_xlsx",
            width="stretch",
        )
