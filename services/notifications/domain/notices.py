"""The notices, pure: a monthly statement clearing handed over, and where its sending stands.
Messages to customers (e-mail, SMS) will join them here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal, NamedTuple
from uuid import UUID, uuid5

from pydantic import Field

from shared.contracts import Attachment, MessageRequested, MonthlyStatementReady

# Statements' message ids are derived from the statement's: a statement handed over twice
# asks for the same message, which is stored and sent once.
STATEMENT_MESSAGES = UUID("6f1d0c0e-6d1a-4c55-9a55-2f3b1c7e0a13")

NoticeStatus = Literal["queued", "sent", "failed"]


class StatementNotice(MonthlyStatementReady):
    """The statement as clearing handed it over, and where its sending stands."""

    status: NoticeStatus
    received_at: datetime
    message_id: UUID | None = Field(default=None, description="the e-mail that carries it")
    reason: str | None = Field(default=None, description="why it failed")


class HandedOver(NamedTuple):
    """A statement as an event brought it (the event's id is kept, for tracing)."""

    event_id: str
    statement: MonthlyStatementReady


def statement_message(s: MonthlyStatementReady, email: str, language: str) -> MessageRequested:
    """The e-mail that carries a merchant's statement, its XLSX attached (fetched from
    clearing's API when it is sent)."""
    period = f"{s.period_start:%Y-%m}"
    return MessageRequested(
        message_id=uuid5(STATEMENT_MESSAGES, str(s.statement_id)),
        channel="email",
        category="transactional",
        to=email,
        language="en" if language == "en" else "fr",
        template="statement",
        variables={
            "merchant_name": s.merchant_name,
            "period_start": s.period_start.isoformat(),
            "period_end": s.period_end.isoformat(),
            "net_cents": s.net_cents,
        },
        association_id=s.association_id,
        merchant_id=s.merchant_id,
        attachments=[
            Attachment(
                service="clearing",
                path=s.xlsx_path,
                filename=f"releve-{period}.xlsx",
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        ],
    )


def one_per_statement(handed: Iterable[HandedOver]) -> list[HandedOver]:
    """One notice per statement, the first copy seen (a statement re-sent under a new event id
    keeps its first notice). Sorted: two batches carrying the same statements wait on the key
    in the same order."""
    first: dict[UUID, HandedOver] = {}
    for h in handed:
        first.setdefault(h.statement.statement_id, h)
    return sorted(first.values(), key=lambda h: str(h.statement.statement_id))
