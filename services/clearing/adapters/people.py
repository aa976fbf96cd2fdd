"""What clearing holds of one cardholder, for crm's answer to a GDPR access request."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def holder(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT account_id, association_id, title, first_name, last_name, erased_at
           FROM holders WHERE account_id = $1""",
        account_id,
    )
    return row


async def lines(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> list[asyncpg.Record]:
    """The journal's lines of the account (the statements' detail lines), oldest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT id, occurred_at, kind, merchant_id, card_number, purchase_cents, amount_cents,
                  reward_cents, product_family, period
           FROM journal_entries WHERE account_id = $1 ORDER BY occurred_at, id""",
        account_id,
    )
    return rows
