"""The notifications' use cases: one function per command, over a connection the caller holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from services.notifications.adapters import messages as store
from services.notifications.adapters import notices
from services.notifications.domain import HandedOver, StatementNotice, one_per_statement
from services.notifications.domain.notices import statement_message
from services.notifications.service import messages
from shared import clock
from shared.contracts import MerchantRegistered, MessageRequested
from shared.events import Event

NO_EMAIL = "the merchant has no e-mail address (cards: PUT the merchant with its email)"

MAX_NOTICES = 500

statement_notices = Counter(
    "comptoir_statement_notices_total",
    "Monthly statements taken over as notices to send (a statement re-sent is not counted again)",
)


async def take_over_statements(
    conn: asyncpg.Connection, handed: Iterable[HandedOver]
) -> list[Event[Any]]:
    """One notice per statement, and the e-mail that carries it to the merchant (a notice
    without a known address fails at once, with the reason: never queued for ever). The
    events to publish."""
    statements = one_per_statement(handed)
    new = await notices.insert_notices(conn, statements)
    statement_notices.inc(len(new))
    requests: list[tuple[str, MessageRequested]] = []
    carried: list[tuple[UUID, UUID | None, str, str | None]] = []
    for h in statements:
        s = h.statement
        if s.statement_id not in new:
            continue
        email, language = await store.merchant_email(conn, s.merchant_id)
        if email is None:
            carried.append((s.statement_id, None, "failed", NO_EMAIL))
            continue
        request = statement_message(s, email, language)
        requests.append((h.event_id, request))
        carried.append((s.statement_id, request.message_id, "queued", None))
    await notices.carried_by(conn, carried)
    return await messages.take_over(conn, requests)


async def keep_merchant_contacts(
    conn: asyncpg.Connection, registered: Iterable[MerchantRegistered]
) -> None:
    """The merchants' names and e-mail addresses, as cards last told them."""
    at = clock.now()
    rows = [
        (m.merchant_id, m.association_id, m.merchant_name, m.email, "fr", at) for m in registered
    ]
    await store.save_merchant_contacts(conn, rows)


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
