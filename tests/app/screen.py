"""Read what an AppTest run put on screen beyond the built-in accessors: plotly figures and downloads.

* ``figure(at, ...)`` parses the JSON a ``st.plotly_chart`` element sends to the browser (its ``spec``), with
  Plotly's base64 typed arrays (``{"dtype": "f8", "bdata": …}``) decoded to lists, so a test compares the
  numbers drawn with the numbers a service returns.
* ``DownloadRecorder`` keeps the in-memory media store of each run, so a test reads the bytes a
  ``st.download_button`` offers (AppTest only exposes the button's URL).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import streamlit.testing.v1.app_test as app_test_module
from sqlalchemy import Engine
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
    """Records the media store of every AppTest run started after :meth:`install`."""

    def __init__(self) -> None:
        self.stores: list[MemoryMediaFileStorage] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> DownloadRecorder:
        recorder = self

        class RecordingStorage(MemoryMediaFileStorage):
            def __init__(self, media_endpoint: str) -> None:
                super().__init__(media_endpoint)
                recorder.stores.append(self)

        monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", RecordingStorage)
        return self

    def file(self, at: AppTest, key: str) -> tuple[str | None, bytes]:
        """``(file name, bytes)`` offered by the download button ``key`` in the latest run."""
        button = next(b for b in at.get("download_button") if b.key == key)
        url = button.proto.url
        assert url, f"download button {key!r} has no file"
        assert self.stores, "no run since the recorder was installed"
        stored = self.stores[-1].get_file(url.rsplit("/", 1)[-1])
        return stored.filename, stored.content
