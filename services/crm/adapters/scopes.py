"""Whose data a back-office route reaches, read before the route authorises (issue 15): the
association of a customer, the association and merchant of a trigger, a campaign, a shop.
Small reads of their own, so that a refusal reads nothing else."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from shared.http import Problem

Scope = tuple[UUID, UUID | None]  # (association, merchant; None: the association's own)


async def customer_association(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> UUID:
    """The customer's association, or a 404 ``unknown_customer``."""
    found: UUID | None = await conn.fetchval(
        "SELECT association_id FROM customers WHERE account_id = $1", account_id
    )
    if found is None:
        raise Problem(
            404, "Unknown customer", f"no customer {account_id}", reason="unknown_customer"
        )
    return found


_OF = {
    table: f"SELECT association_id, merchant_id FROM {table} WHERE id = $1"
    for table in ("triggers", "campaigns", "segments")
}


async def _scope(conn: asyncpg.Connection | asyncpg.Pool, table: str, key: UUID) -> Scope | None:
    row = await conn.fetchrow(_OF[table], key)
    return None if row is None else (row["association_id"], row["merchant_id"])


async def trigger(conn: asyncpg.Connection | asyncpg.Pool, trigger_id: UUID) -> Scope | None:
    return await _scope(conn, "triggers", trigger_id)


async def campaign(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: UUID) -> Scope | None:
    return await _scope(conn, "campaigns", campaign_id)


async def segment(conn: asyncpg.Connection | asyncpg.Pool, segment_id: UUID) -> Scope | None:
    """Any association's segment (the routes' own read keeps to the path's association)."""
    return await _scope(conn, "segments", segment_id)


async def merchant_of_shop(conn: asyncpg.Connection | asyncpg.Pool, shop_id: UUID) -> UUID | None:
    """The shop's merchant, as its sales told the statistics (None: no sale counted yet)."""
    found: UUID | None = await conn.fetchval(
        "SELECT merchant_id FROM statistics_days WHERE scope_id = $1 LIMIT 1", shop_id
    )
    return found
