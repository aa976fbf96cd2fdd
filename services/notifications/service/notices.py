"""The notifications' use cases: one function per command, over a connection the caller holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from services.notifications.adapters import notices
from services.notifications.domain import HandedOver, StatementNotice, one_per_statement

MAX_NOTICES = 500

statement_notices = Counter(
    "comptoir_statement_notices_total",
    "Monthly statements taken over as notices to send (a statement re-sent is not counted again)",
)


async def take_over_statements(conn: asyncpg.Connection, handed: Iterable[HandedOver]) -> int:
    """One notice per statement, queued to send; the number of new notices."""
    new = await notices.insert_notices(conn, one_per_statement(handed))
    if new:
        statement_notices.inc(new)
    return new


async def find_notices(
    conn: asyncpg.Connection | asyncpg.Pool,
    merchant_id: UUID | None = None,
    association_id: UUID | None = None,
    period_start: date | None = None,
) -> list[StatementNotice]:
    """Newest first, at most MAX_NOTICES."""
    return await notices.list_notices(conn, merchant_id, association_id, period_start, MAX_NOTICES)


async def notice(conn: asyncpg.Connection | asyncpg.Pool, statement_id: UUID) -> StatementNotice:
    return await notices.notice(conn, statement_id)


async def settle_notices(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> None:
    """A statement's notice is sent when its e-mail is, failed when it failed for good."""
    final = [
        (r["message_id"], r["status"], r["reason"])
        for r in rows
        if r["status"] in ("sent", "failed")
    ]
    await notices.settle(conn, final)
