"""The one base of every refusal a user can see.

A :class:`SopError` is a problem the user can fix or must know about (bad input, a closed cycle, a conflict
with another user's edit, a missing forecast); its message is one plain sentence, shown as it is on the page,
in the pack and on the command line. Anything else is a bug and keeps its traceback.

A :class:`NotAllowed` is the one refusal of an action the acting user's role does not allow (user
administration needs the admin role); its message names who, what and the role needed.

>>> issubclass(SopError, ValueError) and issubclass(NotAllowed, SopError)
True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


class SopError(ValueError):
    """A refusal the user sees as one sentence (a ``ValueError``: the input or the state does not allow it)."""


class NotAllowed(SopError):
    """The acting user may not do this: their role (or their account's state) does not allow it."""


@dataclass(frozen=True)
class Change:
    """What another person changed of an object the user was editing: ``what`` (a month, a KPI, a field),
    ``who`` and ``when`` they saved it, ``theirs`` (their value, as shown) and ``mine`` (the user's)."""

    what: str
    who: str
    when: dt.datetime | None
    theirs: str
    mine: str

    def sentence(self) -> str:
        """``2027-01: dana at 2026-12-02 09:00 saved 120 (yours: 90)``.

        >>> Change("2027-01", "dana", dt.datetime(2026, 12, 2, 9), "120", "90").sentence()
        '2027-01: dana at 2026-12-02 09:00 saved 120 (yours: 90)'
        """
        when = f" at {self.when:%Y-%m-%d %H:%M}" if self.when is not None else ""
        return f"{self.what}: {self.who or 'someone'}{when} saved {self.theirs} (yours: {self.mine})"


class EditConflict(SopError):
    """Someone else saved the same object since the user read it (optimistic locking), or at the same moment.

    Nothing of the user's edit was saved. ``changes`` lists what the other person changed (who, when, their
    value against the user's); ``seen`` is what the user would have seen had they read it now: passing it back to
    the same service saves the user's values over theirs ("save mine"), and doing nothing keeps theirs.

    >>> err = EditConflict("scenario 'Q1' was changed meanwhile", [Change("levers", "bob", None, "+7 %", "+3 %")], 2)
    >>> (str(err), err.seen, err.changes[0].sentence())
    ("scenario 'Q1' was changed meanwhile", 2, 'levers: bob saved +7 % (yours: +3 %)')
    """

    def __init__(self, message: str, changes: list[Change] | None = None, seen: Any = None) -> None:
        super().__init__(message)
        self.changes: list[Change] = list(changes or [])
        self.seen = seen
