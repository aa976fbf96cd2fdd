"""The events notifications takes: the merchants' monthly statements (clearing), the messages
requested (crm, clearing), the merchants' contacts (cards)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.notifications import service
from services.notifications.domain import HandedOver
from services.notifications.service import messages, notices
from shared.contracts import MerchantRegistered, MessageRequested, MonthlyStatementReady
from shared.events import Event


async def on_statement_ready(
    conn: asyncpg.Connection, events: list[Event[MonthlyStatementReady]]
) -> Sequence[Event[Any]]:
    """One notice per statement: the consumer's inbox drops a redelivered event, and the
    primary key a statement re-sent under a new event id (the first copy stays)."""
    return await service.take_over_statements(conn, (HandedOver(e.id, e.data) for e in events))


async def on_merchant(
    conn: asyncpg.Connection, events: list[Event[MerchantRegistered]]
) -> Sequence[Event[Any]]:
    """The merchants' contacts (the statement's recipient); the latest registration wins."""
    await notices.keep_merchant_contacts(conn, (e.data for e in events))
    return []


async def on_message_requested(
    conn: asyncpg.Connection, events: list[Event[MessageRequested]]
) -> Sequence[Event[Any]]:
    """Stored once per message id (the inbox drops a redelivered event, the primary key a
    request re-sent under a new event id); the sending job takes it from there."""
    return await messages.take_over(conn, ((e.id, e.data) for e in events))
