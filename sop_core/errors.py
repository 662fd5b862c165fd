"""The one base of every refusal a user can see.

A :class:`SopError` is a problem the user can fix or must know about (bad input, a closed cycle, a conflict
with another user's edit, a missing forecast); its message is one plain sentence, shown as it is on the page,
in the pack and on the command line. Anything else is a bug and keeps its traceback.

>>> issubclass(SopError, ValueError)
True
"""

from __future__ import annotations


class SopError(ValueError):
    """A refusal the user sees as one sentence (a ``ValueError``: the input or the state does not allow it)."""
