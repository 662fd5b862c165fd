"""Checks of the free texts a user types or imports, before they reach the database: a length limit per field,
no NUL or other control character, valid Unicode (no lone surrogate, which no UTF-8 database can store).

A text that fails is refused with :class:`TextRejected`, one sentence naming the field and the reason, instead of
the database driver's error. The limits (:data:`LIMITS`) are those of the columns the texts are stored in (a
``Text`` column gets a limit a meeting note never reaches).

>>> checked("scenario name", "Promo push +10 %")
'Promo push +10 %'
>>> problem("a" * 10_001, 200)
'is 10,001 characters long; at most 200 are allowed'
>>> problem("x\\x00y", 200)
'holds a NUL character (at position 2); remove it'
>>> problem("ok\\ud800", 200)
'holds a lone surrogate U+D800 (at position 3), which is not valid Unicode; type or paste the text again'
>>> problem("line\\nbreak", 200, single_line=True)
'holds a line break or tab (at position 5); write it on one line'
>>> storable("a\\x00b\\udc80")
'a\\ufffdb\\ufffd'

A text written to a file a spreadsheet opens (a CSV download, the errors of an import) must stay text:
:func:`spreadsheet_text` puts an apostrophe before one that a spreadsheet would run as a formula.

>>> [spreadsheet_text(t) for t in ('=HYPERLINK("http://x","y")', "-4", "@SUM(A1)", "A-100")]
['\\'=HYPERLINK("http://x","y")', '-4', "'@SUM(A1)", 'A-100']
"""

from __future__ import annotations

import re

import pandas as pd

from sop_core.errors import SopError

#: The longest text each free-text field takes, in characters.
LIMITS: dict[str, int] = {
    "scenario name": 200,
    "decision": 2000,
    "outcome": 4000,
    "owner": 64,
    "comment": 2000,
    "note": 2000,
    "user name": 64,
    "display name": 200,
}

#: C0 control characters but tab, line feed and carriage return; DEL; the C1 controls.
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE = re.compile(r"[\t\n\r]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class TextRejected(SopError):
    """A typed or imported text cannot be stored: too long, a NUL or control character, or not valid Unicode."""


def problem(text: str, max_length: int, *, single_line: bool = False) -> str | None:
    """Why ``text`` cannot be stored (a reason read after the field's name), or None when it can."""
    if len(text) > max_length:
        return f"is {len(text):,} characters long; at most {max_length:,} are allowed"
    if (at := text.find("\x00")) >= 0:
        return f"holds a NUL character (at position {at + 1}); remove it"
    if found := _SURROGATE.search(text):
        return (f"holds a lone surrogate U+{ord(found.group()):04X} (at position {found.start() + 1}), which is not "
                "valid Unicode; type or paste the text again")
    if found := _CONTROL.search(text):
        return f"holds the control character U+{ord(found.group()):04X} (at position {found.start() + 1}); remove it"
    if single_line and (found := _LINE.search(text)):
        return f"holds a line break or tab (at position {found.start() + 1}); write it on one line"
    return None


def checked(field: str, text: str, *, single_line: bool = False) -> str:
    """``text`` as given, when it may be stored as the ``field`` (a key of :data:`LIMITS`).

    Raises:
        TextRejected: the text is too long for the field, holds a NUL or control character, or a lone surrogate.
    """
    reason = problem(text, LIMITS[field], single_line=single_line)
    if reason is not None:
        raise TextRejected(f"the {field} {reason}")
    return text


def storable(text: str) -> str:
    """``text`` with every NUL, control character and lone surrogate replaced by U+FFFD (for a key that must be
    stored whatever was typed, such as the user name of a failed sign-in)."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("\ufffd", text.replace("\x00", "\ufffd")))


#: The first characters that make a spreadsheet read a cell's text as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def spreadsheet_text(text: str) -> str:
    """``text`` as a cell a spreadsheet keeps as text: an apostrophe before a text that starts with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return (:data:`FORMULA_STARTS`) and is not a plain number (``-4`` stays)."""
    if text.startswith(FORMULA_STARTS) and not _plain_number(text):
        return "'" + text
    return text


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell passed through :func:`spreadsheet_text` (for a CSV a spreadsheet opens)."""
    texts = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    return frame.assign(**{str(c): frame[c].map(lambda v: spreadsheet_text(v) if isinstance(v, str) else v)
                           for c in texts})
