"""Use cases of gift vouchers (F11): a batch issued with random codes, its codes listed, one
voucher validated at a merchant for an account (its value credited to the available cagnotte).

Each is one transaction that writes the cagnotte entry and its ``AccountAdjusted`` through the
outbox together; the same request again answers what the first did (``fresh`` False)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from services.cards.adapters import cagnotte
from services.cards.adapters import catalogue as catalogue_db
from services.cards.adapters import money as db
from services.cards.domain import Movement
from services.cards.domain import money as rules
from services.cards.service.money_models import VoucherBatchIn, VoucherValidationIn
from services.cards.service.refusals import use_case
from shared import clock
from shared.contracts import AccountAdjusted
from shared.http import Problem
from shared.rules.codes import format_voucher_code, voucher_code


@dataclass(frozen=True, slots=True)
class BatchState:
    batch: asyncpg.Record
    counts: rules.BatchCounts
    fresh: bool = False  # issued by this request


@dataclass(frozen=True, slots=True)
class Validation:
    voucher: asyncpg.Record
    card_number: str | None
    balance_cents: int
    fresh: bool  # validated by this request


async def batch_state(
    conn: asyncpg.Connection | asyncpg.Pool, batch: asyncpg.Record, fresh: bool = False
) -> BatchState:
    # Expiry is the services' calendar, not the database server's.
    c = await db.batch_counts(conn, batch["id"], clock.now())
    counts = rules.BatchCounts(c["issued"], c["validated"], c["expired"], batch["value_cents"])
    return BatchState(batch, counts, fresh)


async def _issue_codes(conn: asyncpg.Connection, batch: asyncpg.Record) -> None:
    """``size`` random codes in one insert; the rare code already taken is drawn again."""
    missing = batch["size"]
    for _ in range(10):
        codes = list({voucher_code(secrets.randbelow) for _ in range(missing)})
        missing -= await db.insert_vouchers(conn, batch, codes)
        if missing == 0:
            return
    raise RuntimeError("could not draw unique voucher codes")  # 50 random bits: never


@use_case
async def issue_batch(pool: asyncpg.Pool, association_id: UUID, body: VoucherBatchIn) -> BatchState:
    """Issue ``size`` vouchers of ``value_cents`` with random codes. The same ``batch_id``
    again answers the batch; with other terms, 409."""
    terms = (body.reason, body.value_cents, body.expires_at, body.size)
    async with pool.acquire() as conn, conn.transaction():
        row = await db.voucher_batch(conn, body.batch_id)
        if row is not None:
            rules.check_same_batch(row, body.batch_id, association_id, terms)
            return await batch_state(conn, row)
        await catalogue_db.association(conn, association_id)
        rules.check_expiry_ahead(body.expires_at, clock.now())
        row = await db.insert_voucher_batch(conn, body.batch_id, association_id, *terms)
        if row is None:  # the same batch created by a concurrent request
            row = await db.voucher_batch(conn, body.batch_id)
            assert row is not None  # batches are never deleted
            rules.check_same_batch(row, body.batch_id, association_id, terms)
            return await batch_state(conn, row)
        await _issue_codes(conn, row)
        return await batch_state(conn, row, fresh=True)


async def get_batch(pool: asyncpg.Pool, batch_id: UUID) -> BatchState:
    async with pool.acquire() as conn:
        return await batch_state(conn, await db.voucher_batch_or_404(conn, batch_id))


@asynccontextmanager
async def batch_codes(
    pool: asyncpg.Pool, batch_id: UUID
) -> AsyncIterator[AsyncIterator[tuple[str, int, str]]]:
    """The batch's codes (formatted as printed), values and expiries (ISO 8601), read while
    inside: a cursor, so memory stays flat whatever the batch's size."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await db.voucher_batch_or_404(conn, batch_id)

        async def rows() -> AsyncIterator[tuple[str, int, str]]:
            async for r in db.voucher_codes(conn, batch_id):
                yield format_voucher_code(r["code"]), r["value_cents"], r["expires_at"].isoformat()

        yield rows()


async def _holder(
    conn: asyncpg.Connection, body: VoucherValidationIn, association_id: UUID
) -> tuple[UUID, asyncpg.Record | None]:
    """The account (and card) the voucher is validated for."""
    card = None
    if body.card_number is not None:
        card = await db.card_holder(conn, body.card_number)
        if card is None:
            raise Problem(422, "Unknown card", f"no card {body.card_number}", reason="unknown_card")
        account_id: UUID = card["account_id"]
    else:
        assert body.account_id is not None
        account_id = body.account_id
    belongs_to = await db.account_association(conn, account_id)
    rules.check_holder(account_id, belongs_to, association_id)
    return account_id, card


@use_case
async def validate(pool: asyncpg.Pool, code: str, body: VoucherValidationIn) -> Validation:
    """A voucher is validated once, at a merchant of its association, for an account named by
    card number or account id."""
    shown = format_voucher_code(code)
    async with pool.acquire() as conn, conn.transaction():
        voucher = await db.voucher(conn, code)
        if voucher is None:
            raise Problem(404, "Unknown voucher", f"no voucher {shown}", reason="unknown_voucher")
        association_id: UUID = voucher["association_id"]
        account_id, card = await _holder(conn, body, association_id)
        # A retry answers what the first request did, even if the card was lost since.
        if voucher["validated_at"] is not None:
            return await _not_validated(conn, code, account_id, body.merchant_id)
        rules.check_merchant(
            await db.merchant(conn, body.merchant_id), body.merchant_id, association_id
        )
        if card is not None:
            rules.check_not_blocked(card)
        card_number = card["number"] if card is not None else None
        now = clock.now()
        won = await db.validate_voucher(conn, code, now, body.merchant_id, account_id)
        if won is None:
            return await _not_validated(conn, code, account_id, body.merchant_id)
        balance = await _credit(conn, won, account_id, card_number, body.merchant_id, now)
        if balance is None:  # cannot happen while the guard holds: answer what is booked
            return await _not_validated(conn, code, account_id, body.merchant_id)
        return Validation(won, card_number, balance, fresh=True)


async def _credit(
    conn: asyncpg.Connection,
    voucher: asyncpg.Record,
    account_id: UUID,
    card_number: str | None,
    merchant_id: UUID,
    now: datetime,
) -> int | None:
    """The voucher's value credited to the available cagnotte, and announced; the balance
    after, or None when the voucher's reference was booked already."""
    reference = rules.voucher_reference(voucher["code"])
    shown = format_voucher_code(voucher["code"])
    posted = await cagnotte.post(
        conn,
        account_id,
        reference,
        [Movement("voucher", "available", voucher["value_cents"])],
        now,
        merchant_id=merchant_id,
        card_number=card_number,
        note=f"gift voucher {shown}",
    )
    if posted.already:
        return None
    balance = posted.balances_after[0]
    await db.announce(
        conn,
        AccountAdjusted(
            movement_id=reference,
            kind="voucher",
            account_id=account_id,
            association_id=voucher["association_id"],
            merchant_id=merchant_id,
            card_number=card_number,
            purse="cagnotte",
            bucket="available",
            amount_cents=voucher["value_cents"],
            balance_cents=balance,
            reason=f"gift voucher {shown}",
            occurred_at=now,
        ),
    )
    return balance


async def _not_validated(
    conn: asyncpg.Connection, code: str, account_id: UUID, merchant_id: UUID
) -> Validation:
    """Why the guard did not let a validation through, or the first answer to a retry."""
    voucher = await db.voucher(conn, code)
    assert voucher is not None  # vouchers are never deleted
    if voucher["validated_at"] is None:
        raise rules.refuse_expired(voucher)
    if rules.is_retry(voucher, account_id, merchant_id):
        entry = await db.voucher_entry(conn, rules.voucher_reference(code))
        if entry is None:  # validated before the cagnotte existed: nothing to repeat
            shown = format_voucher_code(code)
            raise Problem(409, "Voucher already validated", f"voucher {shown} was validated")
        return Validation(voucher, entry["card_number"], entry["balance_after_cents"], False)
    where = await db.merchant_name(conn, voucher["validated_by_merchant"])
    raise rules.refuse_validated(voucher, where)
