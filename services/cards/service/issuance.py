"""Use cases of issuance (F3): a card on its own, to an existing account or a new one, and a
print batch of cards each on a new anonymous account. The number is the association's issuer
prefix, its next serial and a Luhn check digit; a retry with the same id answers the same
card or batch."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import accounts, associations, batches, cards, serials
from services.cards.domain import cards as rules
from services.cards.domain.cards import Refused
from services.cards.service.common import event, problem
from services.cards.service.views import Batch, Card, card
from shared import clock, db, outbox
from shared.contracts import AccountOpened, CardIssued
from shared.events import Event
from shared.http import Problem
from shared.rules.codes import card_number


@dataclass(frozen=True, slots=True)
class Issue:
    """A card to issue: ``issue_id`` is chosen by the client, a retry answers the same card."""

    issue_id: UUID
    card_type_id: UUID | None = None
    account_id: UUID | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    issued_by_merchant: UUID | None = None


def card_issued(
    number: str,
    account_id: UUID,
    association_id: UUID,
    card_type_id: UUID,
    issued_at: datetime,
    issued_by_merchant: UUID | None,
    first_name: str | None,
    last_name: str | None,
    replaces: str | None = None,
) -> Event[Any]:
    return event(
        CardIssued(
            card_number=number,
            account_id=account_id,
            association_id=association_id,
            card_type_id=card_type_id,
            first_name=first_name,
            last_name=last_name,
            issued_at=issued_at,
            issued_by_merchant=issued_by_merchant,
            replaces=replaces,
        ),
        f"card/{number}",
    )


def _prefix(association_id: UUID, prefix: str | None) -> str:
    try:
        return rules.issuer_prefix(association_id, prefix)
    except Refused as exc:
        raise problem(exc) from exc


async def card_type(
    conn: asyncpg.Connection, association: asyncpg.Record, card_type_id: UUID | None
) -> asyncpg.Record:
    wanted = card_type_id or association["default_card_type_id"]
    if wanted is None:
        raise Problem(
            409,
            "No card type",
            f"association {association['id']} has no default card type: give card_type_id",
        )
    row = await associations.card_type(conn, association["id"], wanted)
    if row is None:
        raise Problem(
            422, "Unknown card type", f"no card type {wanted} in association {association['id']}"
        )
    return row


async def check_merchant(
    conn: asyncpg.Connection, association_id: UUID, merchant_id: UUID | None
) -> None:
    if merchant_id is None:
        return
    if await associations.merchant_association(conn, merchant_id) != association_id:
        raise Problem(
            422,
            "Unknown merchant",
            f"merchant {merchant_id} is not a merchant of association {association_id}",
        )


async def _existing_account(
    conn: asyncpg.Connection, association_id: UUID, body: Issue
) -> UUID | None:
    """The account the card goes to when the request names one that exists, key-locked so it
    stays while the card is written; None when a new account is to be opened."""
    if body.account_id is not None:
        owner = await accounts.key_share(conn, body.account_id)
        if owner is None:
            raise Problem(422, "Unknown account", f"no account {body.account_id}")
        if owner != association_id:
            raise Problem(
                422,
                "Account of another association",
                f"account {body.account_id} belongs to association {owner}",
            )
        return body.account_id
    if body.phone is not None:
        return await accounts.by_phone_key_share(conn, association_id, body.phone)
    return None


async def _replay_issue(
    conn: asyncpg.Connection, association_id: UUID, body: Issue, batch: asyncpg.Record
) -> str:
    """The card a previous request with this issue_id made, if this request asks the same."""
    done = await batches.issued_in(conn, body.issue_id)
    if batch["association_id"] != association_id or batch["size"] != 1 or done is None:
        raise Problem(
            409,
            "issue_id already used",
            f"{body.issue_id} already names another batch or issuance: choose a new issue_id",
        )
    differs = [
        f
        for f in (
            "card_type_id",
            "account_id",
            "phone",
            "first_name",
            "last_name",
            "issued_by_merchant",
        )
        if getattr(body, f) is not None and getattr(body, f) != done[f]
    ]
    if differs:
        raise Problem(
            409,
            "issue_id already used",
            f"{body.issue_id} issued card {done['number']} with another {', '.join(differs)}: "
            "a retry must send the same request",
        )
    number: str = done["number"]
    return number


async def issue(pool: asyncpg.Pool, association_id: UUID, body: Issue) -> tuple[Card, bool]:
    """The card, and whether it was issued now (False: a retry)."""
    aid = association_id

    async def work(conn: asyncpg.Connection) -> tuple[str, bool]:
        assoc = await associations.get(conn, aid)
        prefix = _prefix(aid, assoc["issuer_prefix"])
        account_id = await _existing_account(conn, aid, body)
        serial = await serials.lock_next(conn, aid, prefix)
        batch = await batches.get(conn, body.issue_id)
        if batch is not None:
            return await _replay_issue(conn, aid, body, batch), False
        kind = await card_type(conn, assoc, body.card_type_id)
        await check_merchant(conn, aid, body.issued_by_merchant)
        now = clock.now()
        events: list[Event[Any]] = []
        if account_id is None:
            account_id = uuid.uuid4()
            await accounts.open_account(
                conn, account_id, aid, body.phone, body.issued_by_merchant,
                body.first_name, body.last_name, now,
            )  # fmt: skip
            events.append(
                event(
                    AccountOpened(
                        account_id=account_id,
                        association_id=aid,
                        merchant_id=body.issued_by_merchant,
                        phone=body.phone,
                        first_name=body.first_name,
                        last_name=body.last_name,
                        opened_at=now,
                        request_id=body.issue_id,
                        request_kind="issuance",
                    ),
                    f"account/{account_id}",
                )
            )
        await serials.take(conn, aid, serial, 1)
        number = card_number(prefix, serial)
        await cards.insert(
            conn,
            number=number,
            association_id=aid,
            card_type_id=kind["id"],
            account_id=account_id,
            batch_id=body.issue_id,
            issued_at=now,
            issued_by_merchant=body.issued_by_merchant,
            first_name=body.first_name,
            last_name=body.last_name,
            expires_on=rules.expiry(now, kind["validity_months"]),
        )
        events.append(
            card_issued(
                number, account_id, aid, kind["id"], now, body.issued_by_merchant,
                body.first_name, body.last_name,
            )
        )  # fmt: skip
        await outbox.write(conn, events)
        return number, True

    number, created = await db.transaction(pool, work)
    return card(await cards.get(pool, number), clock.now()), created


async def batch_summary(pool: asyncpg.Pool, batch_id: UUID) -> Batch:
    row = await batches.summary(pool, batch_id)
    return Batch(**dict(row), csv=f"/v1/card-batches/{batch_id}.csv")


async def batches_of(
    pool: asyncpg.Pool, association_id: UUID, before: datetime | None, limit: int
) -> list[Batch]:
    """The association's print batches, newest first, each with its CSV's path (a file can
    be printed again whenever it is needed)."""
    rows = await batches.of_association(pool, association_id, before, limit)
    return [Batch(**dict(r), csv=f"/v1/card-batches/{r['batch_id']}.csv") for r in rows]


async def create_batch(
    pool: asyncpg.Pool, association_id: UUID, batch_id: UUID, card_type_id: UUID | None, size: int
) -> tuple[Batch, bool]:
    """``size`` consecutive numbers, each card on a new anonymous account; the batch, and
    whether it was made now (False: a retry)."""
    aid = association_id

    async def work(conn: asyncpg.Connection) -> bool:
        assoc = await associations.get(conn, aid)
        prefix = _prefix(aid, assoc["issuer_prefix"])
        first = await serials.lock_next(conn, aid, prefix)
        existing = await batches.get(conn, batch_id)
        if existing is not None:
            same = (
                existing["association_id"] == aid
                and existing["size"] == size
                and card_type_id in (None, existing["card_type_id"])
            )
            if not same:
                raise Problem(
                    409,
                    "batch_id already used",
                    f"batch {batch_id} exists with another association, size or card type: "
                    "choose a new batch_id",
                )
            return False
        kind = await card_type(conn, assoc, card_type_id)
        await serials.take(conn, aid, first, size)
        now = clock.now()
        numbers = [card_number(prefix, first + i) for i in range(size)]
        opened = [uuid.uuid4() for _ in range(size)]
        await batches.insert(conn, batch_id, aid, kind["id"], size, now)
        await accounts.open_anonymous(conn, aid, opened, now)
        await batches.insert_cards(
            conn,
            numbers,
            opened,
            association_id=aid,
            card_type_id=kind["id"],
            issued_at=now,
            batch_id=batch_id,
            expires_on=rules.expiry(now, kind["validity_months"]),
        )
        events: list[Event[Any]] = []
        for number, account_id in zip(numbers, opened, strict=True):
            events.append(
                event(
                    AccountOpened(
                        account_id=account_id,
                        association_id=aid,
                        opened_at=now,
                        request_id=batch_id,
                        request_kind="issuance",
                    ),
                    f"account/{account_id}",
                )
            )
            events.append(card_issued(number, account_id, aid, kind["id"], now, None, None, None))
        await outbox.write(conn, events)
        return True

    created = await db.transaction(pool, work)
    return await batch_summary(pool, batch_id), created


async def printer_lines(conn: asyncpg.Connection, batch_id: UUID) -> AsyncIterator[asyncpg.Record]:
    """A batch's cards for the card printer (call in a transaction); 404 for no such batch."""
    if not await batches.exists(conn, batch_id):
        raise Problem(404, "Unknown batch", f"no card batch {batch_id}")
    return batches.for_printer(conn, batch_id)
