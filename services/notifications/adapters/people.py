"""What notifications' message store holds of a person, read and pseudonymised (GDPR; the
person's addresses come from crm, which owns personal data)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg


async def messages_to(
    conn: asyncpg.Connection | asyncpg.Pool, addresses: Sequence[str]
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT message_id AS id, channel, category, recipient, template, variables, status,
                  reason, requested_at, sent_at, delivered_at
           FROM messages WHERE recipient = ANY($1::text[]) ORDER BY requested_at, message_id""",
        list(addresses),
    )
    return rows


async def pseudonymise(
    conn: asyncpg.Connection, account_id: UUID, addresses: Sequence[str], pseudonym: str
) -> int:
    """The person's messages (by account or address) keep their status and dates; the address
    becomes the pseudonym and the variables, which named the person, go. One not sent yet is
    never sent: failed, with the reason."""
    status: str = await conn.execute(
        """UPDATE messages SET recipient = $3, variables = '{}'::jsonb, unsubscribe_url = NULL,
                  status = CASE WHEN status IN ('queued', 'deferred', 'sending')
                                THEN 'failed' ELSE status END,
                  reason = CASE WHEN status IN ('queued', 'deferred', 'sending')
                                THEN 'erased: the person asked for erasure' ELSE reason END,
                  due_at = CASE WHEN status IN ('queued', 'deferred', 'sending')
                                THEN NULL ELSE due_at END
           WHERE account_id = $1 OR recipient = ANY($2::text[])""",
        account_id,
        list(addresses),
        pseudonym,
    )
    return int(status.rsplit(" ", 1)[-1])
