"""Use cases of an account's own promotions (crm's birthday offer): granted once per id
chosen by the client, listed. Applied to the account's sales by ``service.sales``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from services.cards.adapters import account_promotions as db
from services.cards.adapters import accounts
from services.cards.adapters import catalogue as catalogue_db
from services.cards.domain import account_promotions as rules
from services.cards.domain.catalogue import check_merchant_of
from services.cards.service.refusals import use_case
from shared import clock


@dataclass(frozen=True, slots=True)
class Granted:
    promotion: asyncpg.Record
    fresh: bool  # made by this request


@use_case
async def grant(
    pool: asyncpg.Pool,
    promotion_id: UUID,
    account_id: UUID,
    merchant_id: UUID | None,
    reason: str,
    starts_at: datetime,
    ends_at: datetime,
    multiplier: tuple[int, int],
) -> Granted:
    """The account's promotion ``promotion_id``; the same id again with the same terms
    answers it as it is (a retry: a replica, a day run again), with others 409."""
    rules.check_terms(starts_at, ends_at, multiplier)
    terms = (account_id, merchant_id, reason, starts_at, ends_at, *multiplier)
    async with pool.acquire() as conn, conn.transaction():
        row = await db.get(conn, promotion_id)
        if row is None:
            account = await accounts.get(conn, account_id)
            if merchant_id is not None:
                merchant = await catalogue_db.merchant(conn, merchant_id)
                check_merchant_of(merchant, account["association_id"])
            row = await db.insert(
                conn, promotion_id, account_id, merchant_id, reason, starts_at, ends_at,
                multiplier, clock.now(),
            )  # fmt: skip
            if row is not None:
                return Granted(row, True)
            row = await db.get(conn, promotion_id)  # made meanwhile by a concurrent request
            assert row is not None  # never deleted
        rules.check_same(row, terms)
        return Granted(row, False)


async def of_account(pool: asyncpg.Pool, account_id: UUID) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        await accounts.get(conn, account_id)
        return await db.of_account(conn, account_id)
