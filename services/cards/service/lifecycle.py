"""Use cases of the card life cycle (F4): block, reactivate, replace, renew.

Each is one transaction, with its events written to the outbox in it. Locks are taken in one
order everywhere, the order of the sales path: account, then card, then the association's
serial counter, then the blacklist; a deadlock or serialization failure that still happens
(with code elsewhere) is retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from uuid import UUID

import asyncpg

from services.cards.adapters import accounts, cagnotte, cards, serials
from services.cards.domain import cards as rules
from services.cards.domain.cards import Refused
from services.cards.service import blacklist
from services.cards.service.common import event, problem
from services.cards.service.issuance import card_issued, check_merchant
from services.cards.service.views import BlacklistChange, Card, card
from shared import clock, db, outbox
from shared.contracts import AccountAdjusted
from shared.events import Event
from shared.rules.codes import card_number


async def get(pool: asyncpg.Pool, number: str) -> Card:
    return card(await cards.get(pool, number), clock.now())


async def block(
    pool: asyncpg.Pool, number: str, reason: Literal["lost", "stolen"]
) -> tuple[Card, BlacklistChange | None]:
    """The card, and its blacklist change (None: a retry, already blocked for this reason)."""

    async def work(conn: asyncpg.Connection) -> BlacklistChange | None:
        row = await cards.lock(conn, number)
        try:
            entry = rules.block(cards.state(row), reason)
        except Refused as exc:
            raise problem(exc) from exc
        if entry is None:
            return None
        now = clock.now()
        await cards.set_status(conn, number, reason, now)
        events: list[Event[Any]] = []
        change = await blacklist.change(conn, row, entry, now, events)
        await outbox.write(conn, events)
        return change

    change = await db.transaction(pool, work)
    return await get(pool, number), change


@dataclass(frozen=True, slots=True)
class Reactivated:
    card: Card
    was_dormant: bool
    was_lost: bool
    pending_lost_cents: int
    cagnotte_reference: UUID | None
    blacklist_change: BlacklistChange | None


async def reactivate(pool: asyncpg.Pool, number: str, actor: str) -> Reactivated:
    """A dormant card forfeits its account's pending rewards (a ``pending_lost`` entry, once per
    dormant spell, recorded with the signed-in ``actor``) and the visits counted towards them;
    a lost card found again is active."""

    async def work(
        conn: asyncpg.Connection,
    ) -> tuple[bool, bool, int, UUID | None, BlacklistChange | None]:
        account_id = await cards.account_of(conn, number)
        account = await cagnotte.lock(conn, account_id)  # account first, as the sales path
        if account is None:
            raise accounts.unknown(account_id)
        row = await cards.lock(conn, number)
        now = clock.now()
        try:
            done = rules.reactivate(
                cards.state(row), cagnotte.state_of(account), now, row["dormant_after_days"]
            )
        except Refused as exc:
            raise problem(exc) from exc
        events: list[Event[Any]] = []
        lost_cents = 0
        forfeit = done.forfeit
        if forfeit is not None:
            posted = await cagnotte.post(
                conn,
                account_id,
                forfeit.reference,
                [forfeit.movement],
                now,
                card_number=number,
                actor=actor,
                note="dormant card reactivated: its pending rewards are lost",
            )
            if not posted.already:
                lost_cents = forfeit.cents
                await accounts.reset_visits(conn, account_id)
                events.append(
                    event(
                        AccountAdjusted(
                            movement_id=forfeit.reference,
                            kind="pending_lost",
                            account_id=account_id,
                            association_id=row["association_id"],
                            card_number=number,
                            purse="cagnotte",
                            bucket="pending",
                            amount_cents=forfeit.movement.amount,
                            balance_cents=posted.balances_after[0],
                            actor=actor,
                            reason="dormant card reactivated",
                            occurred_at=now,
                        ),
                        f"account/{account_id}",
                    )
                )
        if done.was_dormant:
            await cards.used_now(conn, number, now)
        change = None
        if done.blacklist is not None:
            await cards.set_status(conn, number, "active", now, reactivated=True)
            change = await blacklist.change(conn, row, done.blacklist, now, events)
        await outbox.write(conn, events)
        reference = forfeit.reference if forfeit is not None else None
        return done.was_dormant, done.was_lost, lost_cents, reference, change

    dormant, lost, lost_cents, reference, change = await db.transaction(pool, work)
    return Reactivated(await get(pool, number), dormant, lost, lost_cents, reference, change)


async def replace(
    pool: asyncpg.Pool,
    number: str,
    first_name: str | None,
    last_name: str | None,
    issued_by_merchant: UUID | None,
) -> tuple[Card, Card, BlacklistChange | None, bool]:
    """The new card, the old one, the old one's blacklist change and whether the replacement
    is new (False: a retry answered with the first one's card)."""

    async def work(conn: asyncpg.Connection) -> tuple[str, bool, BlacklistChange | None]:
        account_id = await cards.account_of(conn, number)
        await accounts.key_share(conn, account_id)
        old = await cards.lock(conn, number)
        try:
            plan = rules.replace_card(cards.state(old))
        except Refused as exc:
            raise problem(exc) from exc
        if plan.already is not None:
            return plan.already, False, None
        aid = old["association_id"]
        await check_merchant(conn, aid, issued_by_merchant)
        prefix = _prefix(aid, old["issuer_prefix"])
        serial = await serials.lock_next(conn, aid, prefix)
        await serials.take(conn, aid, serial, 1)
        new = card_number(prefix, serial)
        now = clock.now()
        first = first_name if first_name is not None else old["first_name"]
        last = last_name if last_name is not None else old["last_name"]
        await cards.insert(
            conn,
            number=new,
            association_id=aid,
            card_type_id=old["card_type_id"],
            account_id=account_id,
            batch_id=rules.replacement_batch_id(number),
            issued_at=now,
            issued_by_merchant=issued_by_merchant,
            first_name=first,
            last_name=last,
            expires_on=plan.expires_on,
        )
        await cards.set_status(conn, number, "replaced", now, replaced_by=new)
        events = [
            card_issued(
                new, account_id, aid, old["card_type_id"], now, issued_by_merchant, first, last,
                replaces=number,
            )
        ]  # fmt: skip
        change = None
        if plan.blacklist is not None:
            change = await blacklist.change(conn, old, plan.blacklist, now, events)
        await outbox.write(conn, events)
        return new, True, change

    new, created, change = await db.transaction(pool, work)
    return await get(pool, new), await get(pool, number), change, created


async def renew(pool: asyncpg.Pool, number: str, expires_on: date | None) -> Card:
    async def work(conn: asyncpg.Connection) -> None:
        row = await cards.lock(conn, number)
        try:
            until = rules.renew(
                cards.state(row), clock.now().date(), expires_on, row["validity_months"]
            )
        except Refused as exc:
            raise problem(exc) from exc
        await cards.set_expiry(conn, number, until)

    await db.transaction(pool, work)
    return await get(pool, number)


def _prefix(association_id: UUID, prefix: str | None) -> str:
    try:
        return rules.issuer_prefix(association_id, prefix)
    except Refused as exc:
        raise problem(exc) from exc
