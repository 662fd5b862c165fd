"""Edit conflicts on the pages (not a page): what the other person changed, and the user's two choices.

A service refuses a save that someone else's save overtook with :class:`sop_core.errors.EditConflict`. The page
hands it to :func:`remember` with the user's own edit; :func:`offer` then shows, on this and the next runs, who
changed what and when (their value against the user's) and two buttons: "Keep theirs" drops the user's edit,
"Save mine" saves it again over theirs, with the ``seen`` the conflict carries (what the user has now seen).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from sop_core.errors import EditConflict
from views import ui

PREFIX = "edit_conflict_"


def conflict_table(err: EditConflict) -> pd.DataFrame:
    """One row per change of the other person: ``What, Changed by, When, Their value, Your value``."""
    return pd.DataFrame(
        [{"What": c.what, "Changed by": c.who, "When": f"{c.when:%Y-%m-%d %H:%M}" if c.when else "",
          "Their value": c.theirs, "Your value": c.mine} for c in err.changes],
        columns=["What", "Changed by", "When", "Their value", "Your value"],
    )


def remember(key: str, err: EditConflict, mine: Any) -> None:  # noqa: ANN401 - the page's own edit
    """Keep the conflict of the edit ``key`` (and the user's edit ``mine``) for :func:`offer`."""
    st.session_state[PREFIX + key] = (err, mine)


def pending(key: str) -> bool:
    return PREFIX + key in st.session_state


def offer(key: str, save_mine: Callable[[Any, Any], None], keep_theirs: Callable[[], None]) -> None:
    """Show the conflict of ``key``, if any, with "Keep theirs" (``keep_theirs()``) and "Save mine"
    (``save_mine(mine, seen)``; a new conflict is remembered and shown in turn)."""
    if PREFIX + key not in st.session_state:
        return
    err, mine = st.session_state[PREFIX + key]
    st.error(str(err))
    if err.changes:
        ui.dataframe(conflict_table(err), hide_index=True, width="stretch")
    left, right = st.columns(2)
    if left.button("Keep theirs", key=f"{key}_keep_theirs", help="Drop your edit and show their numbers"):
        del st.session_state[PREFIX + key]
        keep_theirs()
        st.rerun()
    if right.button("Save mine", key=f"{key}_save_mine", type="primary", help="Save your edit over theirs"):
        del st.session_state[PREFIX + key]
        try:
            save_mine(mine, err.seen)
        except EditConflict as again:
            remember(key, again, mine)
        st.rerun()
