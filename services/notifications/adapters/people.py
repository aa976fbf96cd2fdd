"""What notifications' message log holds of a person, read and pseudonymised by address
(GDPR; the person's addresses come from crm, which owns personal data)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg


async def messages_to(
    conn: asyncpg.Connection | asyncpg.Pool, addresses: Sequence[str]
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT id, channel, recipient, subject, body, status, created_at, sent_at
           FROM messages WHERE recipient = ANY($1::text[]) ORDER BY created_at, id""",
        list(addresses),
    )
    return rows


async def pseudonymise(conn: asyncpg.Connection, addresses: Sequence[str], pseudonym: str) -> int:
    """The messages to these addresses keep their status and dates; the address becomes the
    pseudonym and the text, which named the person, goes."""
    status: str = await conn.execute(
        """UPDATE messages SET recipient = $2, subject = NULL, body = ''
           WHERE recipient = ANY($1::text[])""",
        list(addresses),
        pseudonym,
    )
    return int(status.rsplit(" ", 1)[-1])
