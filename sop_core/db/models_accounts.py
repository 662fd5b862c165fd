"""Tables of sign-in: the failed sign-ins that throttle further attempts.

* ``sign_in_failure``: one row per failed sign-in and per key it counts against: ``kind`` ``user`` (the
  user name typed, in lower case, whether such a user exists or not) or ``client`` (the client's address).
  Every app process reads and writes the same rows, so the throttle holds across processes; rows older than
  the counting window are deleted as new ones are written.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sop_core.db.models import Base


class SignInFailure(Base):
    __tablename__ = "sign_in_failure"
    __table_args__ = (Index("ix_sign_in_failure_kind_key_at", "kind", "key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # user | client
    key: Mapped[str] = mapped_column(String(200))  # the user name typed (lower case) or the client's address
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False))  # UTC


ACCOUNT_MODELS: tuple[type[Base], ...] = (SignInFailure,)
