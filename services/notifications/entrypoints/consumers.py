"""Taking over the merchants' monthly statements from clearing, as notices queued to send."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.notifications import service
from services.notifications.domain import HandedOver
from shared.contracts import MonthlyStatementReady
from shared.events import Event


async def on_statement_ready(
    conn: asyncpg.Connection, events: list[Event[MonthlyStatementReady]]
) -> Sequence[Event[Any]]:
    """One notice per statement: the consumer's inbox drops a redelivered event, and the
    primary key a statement re-sent under a new event id (the first copy stays)."""
    await service.take_over_statements(conn, (HandedOver(e.id, e.data) for e in events))
    return []
