"""The notices in PostgreSQL: every statement of the notifications service is here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg

from services.notifications.domain import HandedOver, StatementNotice
from shared.contracts import MonthlyStatementReady
from shared.db.query import Batch, as_model, as_models, one_or_404

# The statement's columns (migration 0002), named as the contract's fields: a field added to
# the contract without its type here fails at import, not at the first statement.
_TYPES = {
    "statement_id": "uuid",
    "association_id": "uuid",
    "merchant_id": "uuid",
    "merchant_name": "text",
    "period_start": "date",
    "period_end": "date",
    "purchases_count": "integer",
    "purchases_cents": "bigint",
    "cagnottages_cents": "bigint",
    "fees_cents": "bigint",
    "redemptions_count": "integer",
    "redemptions_cents": "bigint",
    "net_cents": "bigint",
    "xlsx_path": "text",
    "csv_path": "text",
}
FIELDS = tuple(MonthlyStatementReady.model_fields)

# The primary key drops a statement re-sent under a new event id (the first copy stays).
NOTICES = Batch(
    "statement_notices",
    [("event_id", "uuid"), *((f, _TYPES[f]) for f in FIELDS)],
    "ON CONFLICT (statement_id) DO NOTHING RETURNING statement_id",
)

_COLUMNS = ", ".join(StatementNotice.model_fields)


async def insert_notices(conn: asyncpg.Connection, handed: Sequence[HandedOver]) -> set[UUID]:
    """The statements whose notices were inserted (those already there are left as they are)."""
    rows = await NOTICES.fetch(
        conn, ((h.event_id, *(getattr(h.statement, f) for f in FIELDS)) for h in handed)
    )
    return {r["statement_id"] for r in rows}


async def carried_by(
    conn: asyncpg.Connection, rows: Sequence[tuple[UUID, UUID | None, str, str | None]]
) -> None:
    """(statement id, message id, status, reason): the message that carries each notice, or
    why there is none."""
    if not rows:
        return
    ids, messages, statuses, reasons = map(list, zip(*rows, strict=True))
    await conn.execute(
        """UPDATE statement_notices n SET message_id = o.message_id, status = o.status,
                  reason = o.reason
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])
                AS o(statement_id, message_id, status, reason)
           WHERE n.statement_id = o.statement_id""",
        ids,
        messages,
        statuses,
        reasons,
    )


async def list_notices(
    conn: asyncpg.Connection | asyncpg.Pool,
    merchant_id: UUID | None,
    association_id: UUID | None,
    period_start: date | None,
    limit: int,
) -> list[StatementNotice]:
    """Newest first, filtered by merchant, association and period (None: any)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM statement_notices
            WHERE ($1::uuid IS NULL OR merchant_id = $1)
              AND ($2::uuid IS NULL OR association_id = $2)
              AND ($3::date IS NULL OR period_start = $3)
            ORDER BY received_at DESC, statement_id LIMIT $4""",
        merchant_id,
        association_id,
        period_start,
        limit,
    )
    return as_models(StatementNotice, rows)


async def notice(conn: asyncpg.Connection | asyncpg.Pool, statement_id: UUID) -> StatementNotice:
    """The notice of one statement, or a 404 ``unknown_statement``."""
    row = await one_or_404(
        conn,
        "statement",
        statement_id,
        f"SELECT {_COLUMNS} FROM statement_notices WHERE statement_id = $1",
        statement_id,
    )
    return as_model(StatementNotice, row)


async def settle(
    conn: asyncpg.Connection, outcomes: Sequence[tuple[UUID, str, str | None]]
) -> None:
    """(message id, status, reason) of messages that carry a statement: its notice follows."""
    if not outcomes:
        return
    ids, statuses, reasons = map(list, zip(*outcomes, strict=True))
    await conn.execute(
        """UPDATE statement_notices n SET status = o.status, reason = o.reason
           FROM unnest($1::uuid[], $2::text[], $3::text[]) AS o(message_id, status, reason)
           WHERE n.message_id = o.message_id""",
        ids,
        statuses,
        reasons,
    )
