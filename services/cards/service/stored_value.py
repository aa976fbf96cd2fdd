"""Use cases of loads of stored value (F11) and audited adjustments (F16).

Each is one transaction that writes the cagnotte entry and its ``AccountAdjusted`` through the
outbox together, idempotent by the id the client chose: requests with the same id run one
after the other, and the second answers what the first booked (``fresh`` False)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import cagnotte
from services.cards.adapters import money as db
from services.cards.domain import Movement
from services.cards.domain import money as rules
from services.cards.service.money_models import AdjustmentIn, LoadIn
from services.cards.service.refusals import use_case
from shared import clock
from shared.contracts import AccountAdjusted
from shared.http import Problem


@dataclass(frozen=True, slots=True)
class Booked:
    """A load or an adjustment as booked: its account, bucket's balance after, and time."""

    account_id: UUID
    merchant_id: UUID | None
    amount_cents: int
    balance_after_cents: int
    occurred_at: datetime
    fresh: bool  # booked by this request
    actor: str | None = None  # an adjustment's: who made it (the first request's, on a retry)


@use_case
async def load(pool: asyncpg.Pool, number: str, body: LoadIn) -> Booked:
    """The customer paid the merchant ``amount_cents``, now held on the card's stored value."""
    async with pool.acquire() as conn, conn.transaction():
        await db.serialise(conn, f"cards.load:{body.load_id}")
        card = await db.card_with_kind(conn, number)
        if card is None:
            raise Problem(404, "Unknown card", f"no card {number}", reason="unknown_card")
        done = await db.movement(conn, "load", body.load_id)
        if done is not None:
            terms = (number, body.merchant_id, body.amount_cents)
            if not rules.same_terms(done, ("card_number", "merchant_id", "amount_cents"), terms):
                raise rules.refuse_id_reused("load", body.load_id)
            return _booked(done)
        now = clock.now()
        rules.check_loadable(card, number, now)
        merchant = await db.merchant(conn, body.merchant_id)
        rules.check_merchant(merchant, body.merchant_id, card["association_id"])
        posted = await cagnotte.post(
            conn,
            card["account_id"],
            body.load_id,
            [Movement("load", "stored_value", body.amount_cents)],
            now,
            merchant_id=body.merchant_id,
            card_number=number,
        )
        balance = posted.balances_after[0]
        await db.announce(conn, _loaded(body, card, balance, now))
        return Booked(card["account_id"], body.merchant_id, body.amount_cents, balance, now, True)


def _loaded(body: LoadIn, card: Any, balance: int, at: datetime) -> AccountAdjusted:
    return AccountAdjusted(
        movement_id=body.load_id,
        kind="load",
        account_id=card["account_id"],
        association_id=card["association_id"],
        merchant_id=body.merchant_id,
        card_number=card["number"],
        purse="stored_value",
        bucket="stored_value",
        amount_cents=body.amount_cents,
        balance_cents=balance,
        occurred_at=at,
    )


def _adjusted(
    body: AdjustmentIn, account: Any, balance: int, at: datetime, actor: str
) -> AccountAdjusted:
    return AccountAdjusted(
        movement_id=body.adjustment_id,
        kind="adjustment",
        account_id=account["id"],
        association_id=account["association_id"],
        purse=rules.purse_of(body.bucket),
        bucket=body.bucket,
        amount_cents=body.amount_cents,
        balance_cents=balance,
        actor=actor,
        reason=body.reason,
        occurred_at=at,
    )


def _booked(done: Any) -> Booked:
    return Booked(
        done["account_id"],
        done["merchant_id"],
        done["amount_cents"],
        done["balance_after_cents"],
        done["occurred_at"],
        fresh=False,
        actor=done["actor"],
    )


@use_case
async def adjust(pool: asyncpg.Pool, account_id: UUID, body: AdjustmentIn, actor: str) -> Booked:
    """A signed entry on one bucket, with who made it (``actor``, the signed-in person) and
    why; history is never edited. The only entry that may take a balance below zero (an
    account over-redeemed before a return)."""
    async with pool.acquire() as conn, conn.transaction():
        await db.serialise(conn, f"cards.adjustment:{body.adjustment_id}")
        account = await cagnotte.lock(conn, account_id)
        if account is None:
            raise Problem(404, "Unknown account", f"no account {account_id}")
        done = await db.movement(conn, "adjustment", body.adjustment_id)
        if done is not None:
            # Who retries it is no term: the first one's actor stays recorded.
            columns = ("account_id", "bucket", "amount_cents", "note")
            terms = (account_id, body.bucket, body.amount_cents, body.reason)
            if not rules.same_terms(done, columns, terms):
                raise rules.refuse_id_reused("adjustment", body.adjustment_id)
            return _booked(done)
        now = clock.now()
        posted = await cagnotte.post(
            conn,
            account_id,
            body.adjustment_id,
            [Movement("adjustment", body.bucket, body.amount_cents)],
            now,
            actor=actor,
            note=body.reason,
        )
        balance = posted.balances_after[0]
        await db.announce(conn, _adjusted(body, account, balance, now, actor))
        return Booked(account_id, None, body.amount_cents, balance, now, True, actor)


async def adjustments(pool: asyncpg.Pool, account_id: UUID) -> list[asyncpg.Record]:
    """Oldest first, each with who made it, why, and the bucket's balance after it."""
    async with pool.acquire() as conn:
        await db.account(conn, account_id)
        return await db.adjustments(conn, account_id)
