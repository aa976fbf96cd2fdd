"""Whose data a back-office route reaches (issue 15): the association, merchant and account a
resource belongs to, read before the route authorises and acts. Each look-up answers None for
a resource that does not exist (the route then authorises on no association: only the
operator passes, and the use case answers its own 404)."""

from __future__ import annotations

from typing import TypeAlias
from uuid import UUID

import asyncpg

Pool: TypeAlias = asyncpg.Pool | asyncpg.Connection


async def _association(pool: Pool, sql: str, key: object) -> UUID | None:
    found: UUID | None = await pool.fetchval(sql, key)
    return found


async def merchant(pool: Pool, merchant_id: UUID) -> UUID | None:
    """The merchant's association."""
    return await _association(
        pool, "SELECT association_id FROM merchants WHERE id = $1", merchant_id
    )


async def account(pool: Pool, account_id: UUID) -> UUID | None:
    """The account's association."""
    return await _association(pool, "SELECT association_id FROM accounts WHERE id = $1", account_id)


async def card(pool: Pool, number: str) -> tuple[UUID, UUID] | None:
    """The card's association and account."""
    row = await pool.fetchrow(
        "SELECT association_id, account_id FROM cards WHERE number = $1", number
    )
    return None if row is None else (row["association_id"], row["account_id"])


async def card_type(pool: Pool, card_type_id: UUID) -> UUID | None:
    return await _association(
        pool, "SELECT association_id FROM card_types WHERE id = $1", card_type_id
    )


async def card_batch(pool: Pool, batch_id: UUID) -> UUID | None:
    return await _association(
        pool, "SELECT association_id FROM card_batches WHERE id = $1", batch_id
    )


async def voucher_batch(pool: Pool, batch_id: UUID) -> UUID | None:
    return await _association(
        pool, "SELECT association_id FROM voucher_batches WHERE id = $1", batch_id
    )


async def voucher(pool: Pool, code: str) -> UUID | None:
    return await _association(pool, "SELECT association_id FROM vouchers WHERE code = $1", code)


async def quarantined(pool: Pool, line_id: int) -> UUID | None:
    """The association of the terminal whose line is held."""
    return await _association(
        pool, "SELECT association_id FROM card_quarantine WHERE id = $1", line_id
    )


async def _pair(pool: Pool, sql: str, key: UUID) -> tuple[UUID, UUID | None] | None:
    row = await pool.fetchrow(sql, key)
    return None if row is None else (row["association_id"], row["merchant_id"])


async def level(pool: Pool, level_id: UUID) -> tuple[UUID, UUID | None] | None:
    """The level's association and merchant (None: every merchant of it)."""
    return await _pair(
        pool, "SELECT association_id, merchant_id FROM levels WHERE id = $1", level_id
    )


async def promotion(pool: Pool, promotion_id: UUID) -> tuple[UUID, UUID | None] | None:
    """The promotion's association and merchant (None: network-wide)."""
    return await _pair(
        pool, "SELECT association_id, merchant_id FROM promotions WHERE id = $1", promotion_id
    )
