"""The SQL of the customers' current status levels (cards' ``account.level_changed.v1``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

Change = tuple[UUID, UUID, UUID | None, str | None, str | None, datetime]


async def apply(conn: asyncpg.Connection, changes: list[Change]) -> set[tuple[UUID, UUID | None]]:
    """(account, association, merchant, code, name, at): each scope's level, unless a newer
    change is there already; the (account, merchant) scopes that took their change."""
    rows = await conn.fetch(
        """INSERT INTO customer_levels AS c (account_id, association_id, merchant_id, level_code,
               level_name, changed_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                                $6::timestamptz[])
           ON CONFLICT (account_id, merchant_id) DO UPDATE SET
               level_code = excluded.level_code, level_name = excluded.level_name,
               changed_at = excluded.changed_at
           WHERE c.changed_at < excluded.changed_at
           RETURNING account_id, merchant_id""",
        *(list(column) for column in zip(*changes, strict=True)),
    )
    return {(r["account_id"], r["merchant_id"]) for r in rows}


async def names(
    conn: asyncpg.Connection, scopes: list[tuple[UUID, UUID | None]]
) -> dict[tuple[UUID, UUID | None], tuple[str | None, str | None]]:
    """The (code, name) each (account, merchant) scope holds now, before a change."""
    if not scopes:
        return {}
    rows = await conn.fetch(
        """SELECT c.account_id, c.merchant_id, c.level_code, c.level_name
           FROM customer_levels c
           JOIN unnest($1::uuid[], $2::uuid[]) AS s (account_id, merchant_id)
             ON s.account_id = c.account_id
            AND s.merchant_id IS NOT DISTINCT FROM c.merchant_id""",
        [a for a, _ in scopes],
        [m for _, m in scopes],
    )
    return {(r["account_id"], r["merchant_id"]): (r["level_code"], r["level_name"]) for r in rows}


async def of_customer(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT merchant_id, level_code, level_name, changed_at FROM customer_levels
           WHERE account_id = $1 AND level_code IS NOT NULL
           ORDER BY merchant_id NULLS FIRST""",
        account_id,
    )
    return rows
