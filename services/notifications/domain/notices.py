"""The notices, pure: a monthly statement clearing handed over, and where its sending stands.
Messages to customers (e-mail, SMS) will join them here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal, NamedTuple
from uuid import UUID

from shared.contracts import MonthlyStatementReady

NoticeStatus = Literal["queued", "sent", "failed"]


class StatementNotice(MonthlyStatementReady):
    """The statement as clearing handed it over, and where its sending stands."""

    status: NoticeStatus
    received_at: datetime


class HandedOver(NamedTuple):
    """A statement as an event brought it (the event's id is kept, for tracing)."""

    event_id: str
    statement: MonthlyStatementReady


def one_per_statement(handed: Iterable[HandedOver]) -> list[HandedOver]:
    """One notice per statement, the first copy seen (a statement re-sent under a new event id
    keeps its first notice). Sorted: two batches carrying the same statements wait on the key
    in the same order."""
    first: dict[UUID, HandedOver] = {}
    for h in handed:
        first.setdefault(h.statement.statement_id, h)
    return sorted(first.values(), key=lambda h: str(h.statement.statement_id))
