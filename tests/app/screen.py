"""Read what an AppTest run put on screen beyond the built-in accessors: plotly figures and downloads.

* ``figure(at, ...)`` parses the JSON a ``st.plotly_chart`` element sends to the browser (its ``spec``), with
  Plotly's base64 typed arrays (``{"dtype": "f8", "bdata": …}``) decoded to lists, so a test compares the
  numbers drawn with the numbers a service returns.
* ``DownloadRecorder`` keeps the in-memory media store of each run, so a test reads the bytes a
  ``st.download_button`` offers (AppTest only exposes the button's URL).
* ``table_problems(at)`` lists what the tables on screen (``st.dataframe`` and ``st.data_editor``) show that a
  reader should never see: a snake_case column header, or a cell that reads "None", "nan" or "NaT".
* ``texts(at)`` lists the words a run put on screen (labels, help, markdown and captions, table headers,
  chart titles, axes and trace names); ``bare_service_terms`` picks those that say "service level" or
  "service target" without saying which: a cycle service level or a fill rate.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import streamlit.testing.v1.app_test as app_test_module
from sqlalchemy import Engine
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from sop_core.db.engine import make_engine
from sop_core.services.cycle import list_cycles


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if isinstance(value.get("bdata"), str) and isinstance(value.get("dtype"), str):
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]).newbyteorder("<"))
        if shape := value.get("shape"):
            dims = shape if isinstance(shape, list) else str(shape).split(",")
            array = array.reshape([int(d) for d in dims])
        return array.tolist()
    return {k: _decode(v) for k, v in value.items()}


@contextmanager
def current_cycle(url: str) -> Iterator[tuple[Engine, Any]]:
    """An engine on the test's database and its newest cycle, for computing the numbers a page must show;
    the engine is disposed afterwards."""
    engine = make_engine(url)
    try:
        yield engine, list_cycles(engine)[0]
    finally:
        engine.dispose()


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """``at`` rerun with the tab ``label`` of the tabs keyed ``key`` open (a page draws only its open tab), as a
    click on the tab would; fails on an exception."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def figures(at: AppTest) -> list[dict[str, Any]]:
    """Every plotly figure on screen, in order: ``{"key": user key or None, "data": [...], "layout": {...}}``."""
    out = []
    for element in at.get("plotly_chart"):
        spec = _decode(json.loads(element.proto.spec))
        out.append({"key": element.key, "data": spec.get("data", []), "layout": spec.get("layout", {})})
    return out


def figure(at: AppTest, *, key: str | None = None, trace_name: str | None = None, trace_type: str | None = None):
    """The first figure with this widget key, or with a trace of this name and/or type."""
    for fig in figures(at):
        if key is not None and fig["key"] != key:
            continue
        traces = fig["data"]
        if trace_name is not None and not any(t.get("name") == trace_name for t in traces):
            continue
        if trace_type is not None and not any(t.get("type") == trace_type for t in traces):
            continue
        return fig
    raise AssertionError(f"no figure on screen with key={key!r} trace_name={trace_name!r} trace_type={trace_type!r}")


def trace(fig: dict[str, Any], name: str) -> dict[str, Any]:
    """The trace called ``name`` of a figure."""
    for t in fig["data"]:
        if t.get("name") == name:
            return t
    raise AssertionError(f"no trace {name!r} in {[t.get('name') for t in fig['data']]}")


class DownloadRecorder:
    """Records the media store and file manager of every AppTest run started after :meth:`install`."""

    def __init__(self) -> None:
        self.stores: list[MemoryMediaFileStorage] = []
        self.managers: list[MediaFileManager] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> DownloadRecorder:
        recorder = self

        class RecordingStorage(MemoryMediaFileStorage):
            def __init__(self, media_endpoint: str) -> None:
                super().__init__(media_endpoint)
                recorder.stores.append(self)

        class RecordingManager(MediaFileManager):
            def __init__(self, storage: MemoryMediaFileStorage) -> None:
                super().__init__(storage)
                recorder.managers.append(self)

        monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", RecordingStorage)
        monkeypatch.setattr(app_test_module, "MediaFileManager", RecordingManager)
        return self

    def file(self, at: AppTest, key: str) -> tuple[str | None, bytes]:
        """``(file name, bytes)`` offered by the download button ``key`` in the latest run (a file built when the
        button is clicked is built here, as a click would)."""
        button = next(b for b in at.get("download_button") if b.key == key)
        assert self.stores and self.managers, "no run since the recorder was installed"
        url = button.proto.url
        if not url and button.proto.deferred_file_id:
            url = self.managers[-1].execute_deferred(button.proto.deferred_file_id)
        assert url, f"download button {key!r} has no file"
        stored = self.stores[-1].get_file(url.rsplit("/", 1)[-1])
        return stored.filename, stored.content


#: Proto fields whose strings a planner reads (``body`` is the text of markdown, captions and metric values).
_TEXT_FIELDS = ("label", "help", "body", "placeholder", "options", "text")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def _table_headers(frame: Any) -> list[str]:
    """Column headers as shown: the column_config label (and help) where set, else the column's own name."""
    config = json.loads(frame.proto.columns or "{}")
    value = frame.value
    out = [str(n) for n in value.index.names if n is not None]
    for column in value.columns:
        conf = config.get(str(column)) or {}
        out.append(conf.get("label") or str(column))
        if conf.get("help"):
            out.append(conf["help"])
    return out


#: A header that is a column's name in the data contract (``demand_qty``), not a label.
SNAKE_CASE = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")
#: What a cell must never read: Python's and pandas' words for a missing value.
MISSING_WORDS = {"None", "nan", "NaN", "NaT", "<NA>"}


def table_problems(at: AppTest) -> list[str]:
    """Every snake_case header and every cell reading "None", "nan" or "NaT" of the tables on screen, as
    ``"<table key or position>: …"``. A header is the column config's label where set, else the column's name;
    columns left out by ``column_order`` or hidden are not shown. A missing value shows the table's placeholder, and
    "None" where the table sets none (Streamlit's default)."""
    out = []
    for position, frame in enumerate(at.dataframe):
        name = frame.key or f"table {position} ({frame.editing_mode})"
        config = json.loads(frame.proto.columns or "{}")
        order = list(frame.proto.column_order)
        value = frame.value
        placeholder = frame.proto.placeholder if frame.proto.HasField("placeholder") else "None"
        if not (config.get("_index") or {}).get("hidden"):
            out += [f"{name}: index header {n!r}" for n in value.index.names
                    if n is not None and SNAKE_CASE.match(str(n))]
        for column in value.columns:
            conf = config.get(str(column)) or {}
            if conf.get("hidden") or (order and str(column) not in order):
                continue
            header = conf.get("label") or str(column)
            if SNAKE_CASE.match(header):
                out.append(f"{name}: header {header!r}")
            cells = value[column]
            words = {str(v) for v in cells[cells.notna()] if str(v) in MISSING_WORDS}
            if cells.isna().any() and placeholder in MISSING_WORDS:
                words.add(placeholder)
            out += [f"{name}: {header!r} shows {word!r}" for word in sorted(words)]
    return out


def _figure_texts(element: Any) -> list[str]:
    spec = _decode(json.loads(element.proto.spec))
    layout = spec.get("layout", {})
    out = _strings(layout.get("title"))
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            out += _strings(axis.get("title"))
    out += [s for a in layout.get("annotations", []) for s in _strings(a.get("text"))]
    for trace in spec.get("data", []):
        out += _strings(trace.get("name")) + _strings(trace.get("text")) + _strings(trace.get("hovertemplate"))
        out += [v for axis in ("x", "y") for v in _strings(trace.get(axis))]  # category labels
    return out


def texts(at: AppTest) -> list[str]:
    """Every text the run shows in the main area and the sidebar, in order (see the module docstring)."""
    out: list[str] = []
    for root in (at.main, at.sidebar):
        for node in root:
            proto = getattr(node, "proto", None)
            if proto is None or not hasattr(proto, "ListFields"):
                continue
            kind = getattr(node, "type", "")
            if kind == "dataframe":
                out += _table_headers(node)
            elif kind == "plotly_chart":
                out += _figure_texts(node)
            else:
                for field, value in proto.ListFields():
                    if field.name in _TEXT_FIELDS and isinstance(value, str | Iterable):
                        out += _strings(value if isinstance(value, str) else list(value))  # repeated: the options
    return out


#: "service level" / "service target" (any case, also as ``service_level``) not preceded by "cycle", and a fill
#: rate called "(service)": the words that leave open whether a figure is a cycle service level or a fill rate.
_BARE_SERVICE = re.compile(r"(?<!cycle[ _-])\bservice[ _-]?(level|target)s?\b|\(service\)", re.IGNORECASE)


def bare_service_terms(shown: list[str]) -> list[str]:
    """The texts of ``shown`` that name a service figure without saying which measure it is."""
    return [t for t in shown if _BARE_SERVICE.search(t)]
