"""Whose data a back-office route reaches, read before the route authorises (issue 15): the
association, merchant and person of a message, a campaign's messages, a statement's notice,
a webhook subscription or delivery. Small reads of their own, so that a refusal reads nothing
else; None where nothing is found (the route's own read then answers its 404)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias
from uuid import UUID

import asyncpg

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class Scope:
    association_id: UUID
    merchant_id: UUID | None = None
    account_id: UUID | None = None


def _scope(row: asyncpg.Record | None) -> Scope | None:
    if row is None:
        return None
    return Scope(row["association_id"], row["merchant_id"], row.get("account_id"))


async def message(conn: Conn, message_id: UUID) -> Scope | None:
    return _scope(
        await conn.fetchrow(
            "SELECT association_id, merchant_id, account_id FROM messages WHERE message_id = $1",
            message_id,
        )
    )


async def campaign(conn: Conn, campaign_id: UUID) -> Scope | None:
    """A campaign's, as its messages tell (None: no message of it here yet)."""
    return _scope(
        await conn.fetchrow(
            "SELECT association_id, merchant_id FROM messages WHERE campaign_id = $1 LIMIT 1",
            campaign_id,
        )
    )


async def person(conn: Conn, account_id: UUID) -> Scope | None:
    """A person's association, as their messages tell (None: no message to them here)."""
    found: UUID | None = await conn.fetchval(
        "SELECT association_id FROM messages WHERE account_id = $1 LIMIT 1", account_id
    )
    return None if found is None else Scope(found, None, account_id)


async def notice(conn: Conn, statement_id: UUID) -> Scope | None:
    return _scope(
        await conn.fetchrow(
            "SELECT association_id, merchant_id FROM statement_notices WHERE statement_id = $1",
            statement_id,
        )
    )


async def subscription(conn: Conn, subscription_id: UUID) -> Scope | None:
    """A subscription's, deleted ones too (their log stays to be read)."""
    return _scope(
        await conn.fetchrow(
            "SELECT association_id, merchant_id FROM webhook_subscriptions WHERE id = $1",
            subscription_id,
        )
    )


async def delivery(conn: Conn, delivery_id: UUID) -> Scope | None:
    return _scope(
        await conn.fetchrow(
            """SELECT s.association_id, s.merchant_id
               FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
               WHERE d.id = $1""",
            delivery_id,
        )
    )
