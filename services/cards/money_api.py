"""Back-office money routes of the cards service: gift vouchers (F11), loads of stored value
(F11), audited adjustments (F16) and customer file imports (F5).

Each operation is one transaction that writes the ledger entries and their ``AccountAdjusted``
(or ``AccountOpened``, ``CardIssued``) events through the outbox together. Every money
operation is idempotent by an id the client chose: the same request again answers what the
first one did (200 instead of 201) and counts nothing twice; the same id with other terms is
a 409.
"""

from __future__ import annotations

import asyncio
import csv
import secrets
import time
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, model_validator

from services.cards import customer_import, imports, ledger
from services.cards.customer_import import ImportFileError
from services.cards.domain import BLOCKED, Movement
from services.cards.web import MAX_BATCH, MONEY_KINDS, api, association, card_param, event
from shared import clock, outbox
from shared import logging as log
from shared.contracts import MAX_SALE_CENTS, AccountAdjusted
from shared.fields import CardNumber, Text
from shared.http import (
    In,
    Problem,
    json_response,
    read_model,
    read_query,
    stream_csv,
    uuid_param,
)
from shared.rules.codes import InvalidCode, format_voucher_code, parse_voucher_code, voucher_code
from shared.service import back_office

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_RAW = 1000  # characters of a rejected line shown in the report
# A voucher's ledger reference is derived from its code: one entry per voucher, ever.
VOUCHER_NAMESPACE = uuid.UUID("0f4b8a52-93e1-4d6c-8b2a-7e5c1d9f3a64")

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=1000)]


def voucher_reference(code: str) -> UUID:
    return uuid.uuid5(VOUCHER_NAMESPACE, f"voucher:{code}")


# --- models ------------------------------------------------------------------------------------


class VoucherBatchIn(In):
    batch_id: UUID = Field(description="chosen by the client: the same id again is a retry")
    reason: Literal["birthday", "sponsorship", "big_purchase", "lottery", "other"]
    value_cents: int = Field(gt=0, le=MAX_SALE_CENTS)
    expires_at: AwareDatetime
    size: int = Field(ge=1, le=MAX_BATCH, description="how many vouchers to issue")


class VoucherBatchOut(BaseModel):
    batch_id: UUID
    association_id: UUID
    reason: str
    value_cents: int
    expires_at: datetime
    size: int
    created_at: datetime
    issued: int
    validated: int
    expired: int = Field(description="not validated and past their expiry")
    outstanding: int = Field(description="still valid and not validated")
    value_validated_cents: int
    value_outstanding_cents: int


class VoucherValidationIn(In):
    merchant_id: UUID = Field(description="the merchant where the voucher is handed in")
    card_number: CardNumber | None = None
    account_id: UUID | None = None

    @model_validator(mode="after")
    def _one_holder(self) -> VoucherValidationIn:
        if (self.card_number is None) == (self.account_id is None):
            raise ValueError("give the customer's card_number or account_id, exactly one")
        return self


class VoucherValidationOut(BaseModel):
    code: str = Field(description="formatted, as printed")
    batch_id: UUID
    association_id: UUID
    value_cents: int
    account_id: UUID
    card_number: str | None
    merchant_id: UUID
    validated_at: datetime
    movement_id: UUID = Field(description="the ledger reference of the credit")
    balance_cents: int = Field(description="the available cagnotte after the credit")


class LoadIn(In):
    load_id: UUID = Field(description="chosen by the client: the same id again is a retry")
    merchant_id: UUID = Field(description="the merchant who took the customer's money")
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS)


class LoadOut(BaseModel):
    load_id: UUID
    card_number: str
    account_id: UUID
    merchant_id: UUID
    amount_cents: int
    stored_value_cents: int = Field(description="the card's stored value after the load")
    occurred_at: datetime


class AdjustmentIn(In):
    adjustment_id: UUID = Field(description="chosen by the client: the same id again is a retry")
    amount_cents: int = Field(
        ge=-MAX_SALE_CENTS, le=MAX_SALE_CENTS, description="signed, not zero: > 0 credits"
    )
    bucket: Literal["available", "pending", "stored_value"]
    actor: Text = Field(description="who makes the correction")
    reason: Reason = Field(description="why (at least 5 characters)")

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentIn:
        if self.amount_cents == 0:
            raise ValueError("an adjustment of 0 cents changes nothing")
        return self


class AdjustmentOut(BaseModel):
    adjustment_id: UUID
    account_id: UUID
    bucket: str
    amount_cents: int
    balance_after_cents: int
    negative: bool = Field(description="the bucket is below zero after the adjustment")
    actor: str
    reason: str
    occurred_at: datetime


class AdjustmentList(BaseModel):
    account_id: UUID
    adjustments: list[AdjustmentOut]


class ImportQuery(In):
    import_id: UUID | None = Field(
        default=None, description="names the import in its events and entries (default: new)"
    )


class ImportCounts(BaseModel):
    lines: int = Field(description="customer lines read (blank lines skipped)")
    accepted: int
    created: int = Field(description="accounts opened")
    updated: int = Field(description="existing accounts completed, given a card or a balance")
    unchanged: int
    rejected: int
    opening_balances: int = Field(description="balances booked by this run")
    opening_balance_cents: int
    cards_linked: int


class RejectedLine(BaseModel):
    line: int = Field(description="the header is line 1")
    raw: str
    reasons: list[str]


class ImportReport(BaseModel):
    import_id: UUID
    association_id: UUID
    counts: ImportCounts
    rejected_lines: list[RejectedLine]
    ignored_columns: list[str]
    elapsed_ms: int


# --- helpers -----------------------------------------------------------------------------------


async def _row(conn: asyncpg.Connection, table: str, what: str, id_: UUID) -> asyncpg.Record:
    """The row ``id_`` of ``table``, or a 404 naming it ``what``."""
    row: asyncpg.Record | None = await conn.fetchrow(f"SELECT * FROM {table} WHERE id = $1", id_)
    if row is None:
        raise Problem(404, f"Unknown {what}", f"no {what} {id_}")
    return row


async def _announce(conn: asyncpg.Connection, adjusted: AccountAdjusted) -> None:
    await outbox.write(conn, [event(adjusted, f"account/{adjusted.account_id}")])


async def _serialise(conn: asyncpg.Connection, key: str) -> None:
    """Requests with the same id run one after the other (until the transaction ends)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


def _voucher_code(request: web.Request) -> str:
    try:
        return parse_voucher_code(request.match_info["code"])
    except InvalidCode as exc:
        raise Problem(400, "Invalid voucher code", str(exc), reason="invalid_code") from exc


async def _merchant(conn: asyncpg.Connection, merchant_id: UUID, association_id: UUID) -> str:
    row = await conn.fetchrow(
        "SELECT name, association_id FROM merchants WHERE id = $1", merchant_id
    )
    if row is None:
        raise Problem(
            422, "Unknown merchant", f"no merchant {merchant_id}", reason="unknown_merchant"
        )
    if row["association_id"] != association_id:
        raise Problem(
            422,
            "Merchant of another association",
            f"merchant {row['name']} does not belong to association {association_id}",
            reason="merchant_not_in_association",
        )
    name: str = row["name"]
    return name


def _refuse_blocked(card: asyncpg.Record) -> None:
    if card["status"] in BLOCKED:
        raise Problem(
            409,
            "Card blocked",
            f"card {card['number']} is {card['status']} (blacklisted)",
            reason=BLOCKED[card["status"]],
        )


# --- gift vouchers (F11) -----------------------------------------------------------------------


async def _batch_out(conn: asyncpg.Connection, batch: asyncpg.Record) -> VoucherBatchOut:
    counts = await conn.fetchrow(
        """SELECT count(*) AS issued, count(validated_at) AS validated,
                  count(*) FILTER (WHERE validated_at IS NULL AND expires_at <= $2) AS expired
           FROM vouchers WHERE batch_id = $1""",
        batch["id"],
        clock.now(),  # expiry is the services' calendar, not the database server's
    )
    outstanding = counts["issued"] - counts["validated"] - counts["expired"]
    return VoucherBatchOut(
        batch_id=batch["id"],
        association_id=batch["association_id"],
        reason=batch["reason"],
        value_cents=batch["value_cents"],
        expires_at=batch["expires_at"],
        size=batch["size"],
        created_at=batch["created_at"],
        issued=counts["issued"],
        validated=counts["validated"],
        expired=counts["expired"],
        outstanding=outstanding,
        value_validated_cents=counts["validated"] * batch["value_cents"],
        value_outstanding_cents=outstanding * batch["value_cents"],
    )


def _same_batch(row: asyncpg.Record, association_id: UUID, body: VoucherBatchIn) -> None:
    if (
        row["association_id"],
        row["reason"],
        row["value_cents"],
        row["expires_at"],
        row["size"],
    ) != (
        association_id,
        body.reason,
        body.value_cents,
        body.expires_at,
        body.size,
    ):
        raise Problem(
            409,
            "Batch id already used",
            f"voucher batch {body.batch_id} exists with other terms; choose a new batch_id",
            reason="id_reused",
        )


async def _issue_codes(conn: asyncpg.Connection, batch: asyncpg.Record) -> None:
    """``size`` random codes in one insert; the rare code already taken is drawn again."""
    missing = batch["size"]
    for _ in range(10):
        codes = list({voucher_code(secrets.randbelow) for _ in range(missing)})
        inserted = await conn.fetch(
            """INSERT INTO vouchers (code, batch_id, association_id, value_cents, expires_at)
               SELECT c, $2, $3, $4, $5 FROM unnest($1::text[]) c
               ON CONFLICT (code) DO NOTHING RETURNING code""",
            codes,
            batch["id"],
            batch["association_id"],
            batch["value_cents"],
            batch["expires_at"],
        )
        missing -= len(inserted)
        if missing == 0:
            return
    raise RuntimeError("could not draw unique voucher codes")  # 50 random bits: never


@api.route(
    "POST",
    "/v1/associations/{association_id}/voucher-batches",
    summary="Issue a batch of gift vouchers",
    body=VoucherBatchIn,
    returns=VoucherBatchOut,
    status=201,
    also=(200,),
    tag="vouchers",
)
async def create_voucher_batch(request: web.Request) -> web.Response:
    """Issue `size` vouchers of `value_cents` with random codes (Crockford base 32 and a check
    character). The same `batch_id` again answers 200 with the batch; with other terms, 409."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    body = await read_model(request, VoucherBatchIn)
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow("SELECT * FROM voucher_batches WHERE id = $1", body.batch_id)
        if row is not None:
            _same_batch(row, association_id, body)
            return json_response(await _batch_out(conn, row))
        await association(conn, association_id)
        if body.expires_at <= clock.now():
            raise Problem(
                422,
                "Expiry in the past",
                f"expires_at {body.expires_at.isoformat()} is already past",
            )
        row = await conn.fetchrow(
            """INSERT INTO voucher_batches (id, association_id, reason, value_cents, expires_at, size)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (id) DO NOTHING RETURNING *""",
            body.batch_id,
            association_id,
            body.reason,
            body.value_cents,
            body.expires_at,
            body.size,
        )
        if row is None:  # the same batch created by a concurrent request
            row = await conn.fetchrow("SELECT * FROM voucher_batches WHERE id = $1", body.batch_id)
            assert row is not None  # batches are never deleted
            _same_batch(row, association_id, body)
            return json_response(await _batch_out(conn, row))
        await _issue_codes(conn, row)
        return json_response(await _batch_out(conn, row), 201)


# Declared before GET /v1/voucher-batches/{batch_id}, whose variable would match "<id>.csv".
@api.route(
    "GET",
    "/v1/voucher-batches/{batch_id}.csv",
    summary="The codes of a voucher batch, as CSV",
    content_type="text/csv",
    tag="vouchers",
)
async def voucher_batch_csv(request: web.Request) -> web.StreamResponse:
    """Streamed: `code` (formatted as printed), `value_cents`, `expires_at` (ISO 8601)."""
    rt = back_office(request)
    batch_id = uuid_param(request, "batch_id")
    async with rt.pool.acquire() as conn, conn.transaction(readonly=True):
        await _row(conn, "voucher_batches", "voucher batch", batch_id)
        vouchers = conn.cursor(
            "SELECT code, value_cents, expires_at FROM vouchers WHERE batch_id = $1 ORDER BY code",
            batch_id,
            prefetch=2000,
        )
        return await stream_csv(
            request,
            f"vouchers-{batch_id}.csv",
            ("code", "value_cents", "expires_at"),
            (
                (format_voucher_code(r["code"]), r["value_cents"], r["expires_at"].isoformat())
                async for r in vouchers
            ),
        )


@api.route(
    "GET",
    "/v1/voucher-batches/{batch_id}",
    summary="A voucher batch and how many of its vouchers were validated",
    returns=VoucherBatchOut,
    tag="vouchers",
)
async def get_voucher_batch(request: web.Request) -> web.Response:
    rt = back_office(request)
    batch_id = uuid_param(request, "batch_id")
    async with rt.pool.acquire() as conn:
        row = await _row(conn, "voucher_batches", "voucher batch", batch_id)
        return json_response(await _batch_out(conn, row))


async def _holder(
    conn: asyncpg.Connection, body: VoucherValidationIn, association_id: UUID
) -> tuple[UUID, asyncpg.Record | None]:
    """The account (and card) the voucher is validated for."""
    card = None
    if body.card_number is not None:
        card = await conn.fetchrow(
            "SELECT number, account_id, status FROM cards WHERE number = $1", body.card_number
        )
        if card is None:
            raise Problem(422, "Unknown card", f"no card {body.card_number}", reason="unknown_card")
        account_id: UUID = card["account_id"]
    else:
        assert body.account_id is not None
        account_id = body.account_id
    belongs_to = await conn.fetchval(
        "SELECT association_id FROM accounts WHERE id = $1", account_id
    )
    if belongs_to is None:
        raise Problem(422, "Unknown account", f"no account {account_id}", reason="unknown_account")
    if belongs_to != association_id:
        raise Problem(
            422,
            "Account of another association",
            f"the voucher is of association {association_id}, the account of another",
            reason="account_not_in_association",
        )
    return account_id, card


def _validation_out(
    voucher: asyncpg.Record, card_number: str | None, balance: int
) -> VoucherValidationOut:
    return VoucherValidationOut(
        code=format_voucher_code(voucher["code"]),
        batch_id=voucher["batch_id"],
        association_id=voucher["association_id"],
        value_cents=voucher["value_cents"],
        account_id=voucher["account_id"],
        card_number=card_number,
        merchant_id=voucher["validated_by_merchant"],
        validated_at=voucher["validated_at"],
        movement_id=voucher_reference(voucher["code"]),
        balance_cents=balance,
    )


@api.route(
    "POST",
    "/v1/vouchers/{code}/validation",
    summary="Validate a gift voucher at a merchant: its value goes to the cagnotte",
    body=VoucherValidationIn,
    returns=VoucherValidationOut,
    status=201,
    also=(200,),
    tag="vouchers",
)
async def validate_voucher(request: web.Request) -> web.Response:
    """A voucher is validated once, at a merchant of its association, for an account named
    by `card_number` or `account_id`: its value is credited to the available cagnotte. The
    very same request again (same code, account and merchant) answers 200 with the first
    result; any other validation of a validated voucher is a 409 saying when and where. A
    mistyped code (wrong check character) is a 400, an unknown one a 404, an expired one a
    422."""
    rt = back_office(request)
    code = _voucher_code(request)
    body = await read_model(request, VoucherValidationIn)
    shown = format_voucher_code(code)
    async with rt.pool.acquire() as conn, conn.transaction():
        voucher = await conn.fetchrow("SELECT * FROM vouchers WHERE code = $1", code)
        if voucher is None:
            raise Problem(404, "Unknown voucher", f"no voucher {shown}", reason="unknown_voucher")
        association_id: UUID = voucher["association_id"]
        account_id, card = await _holder(conn, body, association_id)
        # A retry answers what the first request did, even if the card was lost since.
        if voucher["validated_at"] is not None:
            return await _not_validated(conn, code, account_id, body.merchant_id)
        await _merchant(conn, body.merchant_id, association_id)
        if card is not None:
            _refuse_blocked(card)
        card_number = card["number"] if card is not None else None
        now = clock.now()
        # The guard: of two concurrent validations, the second waits for the first's row
        # lock, then finds validated_at set and updates nothing.
        won = await conn.fetchrow(
            """UPDATE vouchers SET validated_at = $2, validated_by_merchant = $3, account_id = $4
               WHERE code = $1 AND validated_at IS NULL AND expires_at > $2
               RETURNING *""",
            code,
            now,
            body.merchant_id,
            account_id,
        )
        if won is None:
            return await _not_validated(conn, code, account_id, body.merchant_id)
        reference = voucher_reference(code)
        posted = await ledger.post(
            conn,
            account_id,
            reference,
            [Movement("voucher", "available", won["value_cents"])],
            now,
            merchant_id=body.merchant_id,
            card_number=card_number,
            note=f"gift voucher {shown}",
        )
        if posted.already:  # cannot happen while the guard holds: answer what is booked
            return await _not_validated(conn, code, account_id, body.merchant_id)
        balance = posted.balances_after[0]
        await _announce(
            conn,
            AccountAdjusted(
                movement_id=reference,
                kind="voucher",
                account_id=account_id,
                association_id=association_id,
                merchant_id=body.merchant_id,
                card_number=card_number,
                purse="cagnotte",
                bucket="available",
                amount_cents=won["value_cents"],
                balance_cents=balance,
                reason=f"gift voucher {shown}",
                occurred_at=now,
            ),
        )
        return json_response(_validation_out(won, card_number, balance), 201)


async def _not_validated(
    conn: asyncpg.Connection, code: str, account_id: UUID, merchant_id: UUID
) -> web.Response:
    """Why the guard did not let a validation through, or the first answer to a retry."""
    voucher = await conn.fetchrow("SELECT * FROM vouchers WHERE code = $1", code)
    assert voucher is not None  # vouchers are never deleted
    shown = format_voucher_code(code)
    if voucher["validated_at"] is not None:
        if voucher["account_id"] == account_id and voucher["validated_by_merchant"] == merchant_id:
            entry = await conn.fetchrow(
                """SELECT card_number, balance_after_cents FROM cagnotte_entries
                   WHERE kind = 'voucher' AND bucket = 'available' AND reference_id = $1""",
                voucher_reference(code),
            )
            if entry is None:  # validated before the ledger existed: nothing to repeat
                raise Problem(409, "Voucher already validated", f"voucher {shown} was validated")
            return json_response(
                _validation_out(voucher, entry["card_number"], entry["balance_after_cents"])
            )
        where = await conn.fetchval(
            "SELECT name FROM merchants WHERE id = $1", voucher["validated_by_merchant"]
        )
        raise Problem(
            409,
            "Voucher already validated",
            f"voucher {shown} was validated on {voucher['validated_at'].isoformat()} at "
            f"{where or voucher['validated_by_merchant']}",
            reason="voucher_already_validated",
            validated_at=voucher["validated_at"].isoformat(),
            merchant_id=str(voucher["validated_by_merchant"]),
            merchant_name=where,
        )
    raise Problem(
        422,
        "Voucher expired",
        f"voucher {shown} expired on {voucher['expires_at'].isoformat()}",
        reason="voucher_expired",
        expires_at=voucher["expires_at"].isoformat(),
    )


# --- stored value (F11) ------------------------------------------------------------------------


async def _movement(conn: asyncpg.Connection, kind: str, reference: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT account_id, bucket, amount_cents, balance_after_cents, merchant_id, card_number,
                  actor, note, occurred_at
           FROM cagnotte_entries WHERE kind = $1 AND reference_id = $2""",
        kind,
        reference,
    )
    return row


def _id_reused(what: str, reference: UUID) -> Problem:
    return Problem(
        409,
        "Id already used",
        f"{what} {reference} was already made with other terms; choose a new id for a new one",
        reason="id_reused",
    )


@api.route(
    "POST",
    "/v1/cards/{number}/loads",
    summary="Load money on a gift card, prepaid card or e-purse",
    body=LoadIn,
    returns=LoadOut,
    status=201,
    also=(200,),
    tag="stored value",
)
async def load_card(request: web.Request) -> web.Response:
    """The customer paid `merchant_id` `amount_cents`, now held on the card's stored value
    (spent later at terminals with purse `stored_value`). Only gift, prepaid and e-purse cards
    hold stored value (409 otherwise), and not a blocked or expired card (409). The same
    `load_id` again answers 200 with the first result."""
    rt = back_office(request)
    number = card_param(request)
    body = await read_model(request, LoadIn)
    async with rt.pool.acquire() as conn, conn.transaction():
        await _serialise(conn, f"cards.load:{body.load_id}")
        # The card is read, not locked: the sales path locks an account, then its card;
        # locking in the other order here could deadlock with a spend of this card.
        card = await conn.fetchrow(
            """SELECT c.number, c.account_id, c.association_id, c.status, c.expires_on,
                      t.kind AS type_kind
               FROM cards c JOIN card_types t ON t.id = c.card_type_id
               WHERE c.number = $1""",
            number,
        )
        if card is None:
            raise Problem(404, "Unknown card", f"no card {number}", reason="unknown_card")
        done = await _movement(conn, "load", body.load_id)
        if done is not None:
            if (done["card_number"], done["merchant_id"], done["amount_cents"]) != (
                number,
                body.merchant_id,
                body.amount_cents,
            ):
                raise _id_reused("load", body.load_id)
            return json_response(_load_out(body, number, done))
        if card["type_kind"] not in MONEY_KINDS:
            raise Problem(
                409,
                "Card holds no stored value",
                f"card {number} is of a {card['type_kind']} card type; only gift, prepaid "
                "and e-purse cards can be loaded",
                reason="no_stored_value",
            )
        _refuse_blocked(card)
        now = clock.now()
        if card["expires_on"] is not None and now.date() > card["expires_on"]:
            raise Problem(
                409,
                "Card expired",
                f"card {number} expired on {card['expires_on'].isoformat()}",
                reason="card_expired",
            )
        await _merchant(conn, body.merchant_id, card["association_id"])
        posted = await ledger.post(
            conn,
            card["account_id"],
            body.load_id,
            [Movement("load", "stored_value", body.amount_cents)],
            now,
            merchant_id=body.merchant_id,
            card_number=number,
        )
        balance = posted.balances_after[0]
        await _announce(
            conn,
            AccountAdjusted(
                movement_id=body.load_id,
                kind="load",
                account_id=card["account_id"],
                association_id=card["association_id"],
                merchant_id=body.merchant_id,
                card_number=number,
                purse="stored_value",
                bucket="stored_value",
                amount_cents=body.amount_cents,
                balance_cents=balance,
                occurred_at=now,
            ),
        )
        return json_response(
            LoadOut(
                load_id=body.load_id,
                card_number=number,
                account_id=card["account_id"],
                merchant_id=body.merchant_id,
                amount_cents=body.amount_cents,
                stored_value_cents=balance,
                occurred_at=now,
            ),
            201,
        )


def _load_out(body: LoadIn, number: str, done: asyncpg.Record) -> LoadOut:
    return LoadOut(
        load_id=body.load_id,
        card_number=number,
        account_id=done["account_id"],
        merchant_id=done["merchant_id"],
        amount_cents=done["amount_cents"],
        stored_value_cents=done["balance_after_cents"],
        occurred_at=done["occurred_at"],
    )


# --- adjustments (F16) -------------------------------------------------------------------------


def _adjustment_out(reference: UUID, account_id: UUID, row: Any) -> AdjustmentOut:
    return AdjustmentOut(
        adjustment_id=reference,
        account_id=account_id,
        bucket=row["bucket"],
        amount_cents=row["amount_cents"],
        balance_after_cents=row["balance_after_cents"],
        negative=row["balance_after_cents"] < 0,
        actor=row["actor"] or "",
        reason=row["note"] or "",
        occurred_at=row["occurred_at"],
    )


@api.route(
    "POST",
    "/v1/accounts/{account_id}/adjustments",
    summary="Correct an account by an audited adjusting entry",
    body=AdjustmentIn,
    returns=AdjustmentOut,
    status=201,
    also=(200,),
    tag="adjustments",
)
async def adjust(request: web.Request) -> web.Response:
    """A signed entry on one bucket, with who made it and why; history is never edited. The
    only entry that may take a balance below zero (an account over-redeemed before a return):
    the answer says the balance after and whether it is negative. The same `adjustment_id`
    again answers 200 with the first result."""
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    body = await read_model(request, AdjustmentIn)
    async with rt.pool.acquire() as conn, conn.transaction():
        await _serialise(conn, f"cards.adjustment:{body.adjustment_id}")
        account = await ledger.lock(conn, account_id)
        if account is None:
            raise Problem(404, "Unknown account", f"no account {account_id}")
        done = await _movement(conn, "adjustment", body.adjustment_id)
        if done is not None:
            if (
                done["account_id"],
                done["bucket"],
                done["amount_cents"],
                done["actor"],
                done["note"],
            ) != (account_id, body.bucket, body.amount_cents, body.actor, body.reason):
                raise _id_reused("adjustment", body.adjustment_id)
            return json_response(_adjustment_out(body.adjustment_id, account_id, done))
        now = clock.now()
        posted = await ledger.post(
            conn,
            account_id,
            body.adjustment_id,
            [Movement("adjustment", body.bucket, body.amount_cents)],
            now,
            actor=body.actor,
            note=body.reason,
        )
        balance = posted.balances_after[0]
        await _announce(
            conn,
            AccountAdjusted(
                movement_id=body.adjustment_id,
                kind="adjustment",
                account_id=account_id,
                association_id=account["association_id"],
                purse="stored_value" if body.bucket == "stored_value" else "cagnotte",
                bucket=body.bucket,
                amount_cents=body.amount_cents,
                balance_cents=balance,
                actor=body.actor,
                reason=body.reason,
                occurred_at=now,
            ),
        )
        row = {
            "bucket": body.bucket,
            "amount_cents": body.amount_cents,
            "balance_after_cents": balance,
            "actor": body.actor,
            "note": body.reason,
            "occurred_at": now,
        }
        return json_response(_adjustment_out(body.adjustment_id, account_id, row), 201)


@api.route(
    "GET",
    "/v1/accounts/{account_id}/adjustments",
    summary="The adjustments of an account (audit trail)",
    returns=AdjustmentList,
    tag="adjustments",
)
async def list_adjustments(request: web.Request) -> web.Response:
    """Oldest first, each with who made it, why, and the bucket's balance after it."""
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    async with rt.pool.acquire() as conn:
        await _row(conn, "accounts", "account", account_id)
        rows = await conn.fetch(
            """SELECT reference_id, bucket, amount_cents, balance_after_cents, actor, note,
                      occurred_at
               FROM cagnotte_entries WHERE account_id = $1 AND kind = 'adjustment' ORDER BY id""",
            account_id,
        )
    return json_response(
        AdjustmentList(
            account_id=account_id,
            adjustments=[_adjustment_out(r["reference_id"], account_id, r) for r in rows],
        )
    )


# --- customer file import (F5) -----------------------------------------------------------------


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The raw body up to ``limit`` bytes (the application's own limit is for JSON bodies)."""
    too_big = Problem(
        413, "File too large", f"a customer file is at most {limit // (1024 * 1024)} MB"
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


@api.route(
    "POST",
    "/v1/associations/{association_id}/imports",
    summary="Import a customer file (CSV)",
    query=ImportQuery,
    returns=ImportReport,
    request_content_type="text/csv",
    tag="imports",
)
async def import_customers(request: web.Request) -> web.Response:
    """The body is the CSV file itself (UTF-8, `,` or `;`, header line with French or English
    column names, at most 20 MB). Accounts are upserted by phone: new ones opened, existing
    ones have their missing details completed (what is set is never overwritten); a balance
    is booked once per account as an opening balance; a card number is issued to the account
    with the association's default card type unless it belongs to another account, which
    rejects the line. Running the same file again creates nothing. The report counts the
    lines and gives every rejected line with its number and reasons."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    query = read_query(request, ImportQuery)
    async with rt.pool.acquire() as conn:  # before reading a file for nothing
        await association(conn, association_id)
    raw = await _read_body(request, MAX_IMPORT_BYTES)
    started = time.perf_counter()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(
            422,
            "File not in UTF-8",
            f"byte {exc.start} is not UTF-8: export the file as CSV UTF-8",
        ) from exc
    if "\x00" in text:
        raise Problem(422, "Not a text file", "the file contains NUL characters")
    now = clock.now()
    try:
        # Parsing a large file takes a while: off the event loop.
        report = await asyncio.to_thread(customer_import.read, text, now.date())
    except (ImportFileError, csv.Error) as exc:
        raise Problem(422, "Unreadable customer file", str(exc)) from exc
    import_id = query.import_id or uuid.uuid4()
    async with rt.pool.acquire() as conn, conn.transaction():
        try:
            outcome = await imports.upsert(conn, association_id, report.accepted, import_id, now)
        except LookupError as exc:
            raise Problem(404, "Unknown association", str(exc)) from exc
        except imports.ImportConflict as exc:
            raise Problem(409, "Concurrent change", f"{exc}; nothing was imported, retry") from exc
    rejected = [
        RejectedLine(line=r.line, raw=r.raw[:MAX_RAW], reasons=list(r.reasons))
        for r in report.rejected
    ]
    rejected += [
        RejectedLine(line=c.line, raw=c.raw[:MAX_RAW], reasons=[reason])
        for c, reason in outcome.rejected
    ]
    rejected.sort(key=lambda r: r.line)
    lines = len(report.accepted) + len(report.rejected)
    result = ImportReport(
        import_id=import_id,
        association_id=association_id,
        counts=ImportCounts(
            lines=lines,
            accepted=outcome.created + outcome.updated + outcome.unchanged,
            created=outcome.created,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
            rejected=len(rejected),
            opening_balances=outcome.opening_balances,
            opening_balance_cents=outcome.opening_balance_cents,
            cards_linked=outcome.cards_linked,
        ),
        rejected_lines=rejected,
        ignored_columns=report.ignored_columns,
        elapsed_ms=round((time.perf_counter() - started) * 1000),
    )
    log.get("imports").info(
        "customer_file_imported",
        association_id=str(association_id),
        import_id=str(import_id),
        **{k: v for k, v in result.counts.model_dump().items() if k != "opening_balance_cents"},
        elapsed_ms=result.elapsed_ms,
    )
    return json_response(result)
