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


class SopError(ValueError):
    """A refusal the user sees as one sentence (a ``ValueError``: the input or the state does not allow it)."""


class NotAllowed(SopError):
    """The acting user may not do this: their role (or their account's state) does not allow it."""
