"""Use case of a donation to a partner association (F19): a member gives part of the
available cagnotte to a partner of the association (a sports club, a parents' association),
paid to the partner with the monthly settlement.

A donation is one cagnotte entry (kind ``donation``, bucket ``available``, negative, with the
partner) and its ``AccountAdjusted`` event, written in one transaction. It is idempotent by
the ``donation_id`` the client chose: the same request again answers what the first did
(``fresh`` False) and takes nothing twice; the same id with other terms is a 409.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from services.cards.adapters import cagnotte
from services.cards.adapters import money as money_db
from services.cards.adapters import partners as db
from services.cards.domain import Movement, Overdrawn
from services.cards.domain import money as rules
from services.cards.service.money_models import DonationIn
from services.cards.service.refusals import use_case
from shared import clock
from shared.contracts import AccountAdjusted
from shared.http import Problem
from shared.rules.dates import DateWindow


@dataclass(frozen=True, slots=True)
class Donation:
    donation_id: UUID
    account_id: UUID
    partner_id: UUID
    amount_cents: int  # given, > 0
    balance_cents: int  # the available cagnotte after it
    occurred_at: datetime
    fresh: bool  # booked by this request


@use_case
async def donate(
    pool: asyncpg.Pool, account_id: UUID, body: DonationIn, window: DateWindow, actor: str
) -> Donation:
    """``amount_cents`` leaves the account's available cagnotte for the partner (clearing owes
    it to the partner until the monthly settlement); ``actor`` is who signed in to record it."""
    async with pool.acquire() as conn, conn.transaction():
        # Requests with the same id run one after the other: the second sees the first's entry.
        await money_db.serialise(conn, f"cards.donation:{body.donation_id}")
        account = await cagnotte.lock(conn, account_id)
        if account is None:
            raise Problem(404, "Unknown account", f"no account {account_id}")
        done = await db.donation(conn, body.donation_id)
        if done is not None:
            return _first(done, account_id, body)
        association_id: UUID = account["association_id"]
        partner = await db.partner(conn, body.partner_id)
        rules.check_partner(partner, body.partner_id, association_id)
        assert partner is not None
        insufficient = rules.insufficient(account["balance_cents"], body.amount_cents)
        if account["balance_cents"] < body.amount_cents:
            raise insufficient
        now = clock.now()
        if body.occurred_at is not None:
            start = await db.books_start(conn, association_id)
            rules.check_donation_date(body.occurred_at, now, start, window)
            now = body.occurred_at
        note = f"donation to {partner['partner_name']}"
        try:
            posted = await cagnotte.post(
                conn,
                account_id,
                body.donation_id,
                [Movement("donation", "available", -body.amount_cents)],
                now,
                actor=actor,
                note=note,
                partner_id=body.partner_id,
            )
        except Overdrawn as exc:  # cannot happen under the account's lock; refused all the same
            raise insufficient from exc
        balance = posted.balances_after[0]
        await money_db.announce(conn, _adjusted(body, account, balance, note, now, actor))
    return Donation(
        body.donation_id, account_id, body.partner_id, body.amount_cents, balance, now, True
    )


def _first(done: asyncpg.Record, account_id: UUID, body: DonationIn) -> Donation:
    """What the first request with this id booked, if it had the same terms; else 409. Who
    retries it is no term: the first one's actor stays recorded."""
    terms = (account_id, body.partner_id, -body.amount_cents)
    if not rules.same_terms(done, ("account_id", "partner_id", "amount_cents"), terms):
        raise rules.refuse_id_reused("donation", body.donation_id)
    return Donation(
        body.donation_id,
        done["account_id"],
        done["partner_id"],
        -done["amount_cents"],
        done["balance_after_cents"],
        done["occurred_at"],
        fresh=False,
    )


def _adjusted(
    body: DonationIn, account: asyncpg.Record, balance: int, note: str, at: datetime, actor: str
) -> AccountAdjusted:
    return AccountAdjusted(
        movement_id=body.donation_id,
        kind="donation",
        account_id=account["id"],
        association_id=account["association_id"],
        partner_id=body.partner_id,
        purse="cagnotte",
        bucket="available",
        amount_cents=-body.amount_cents,
        balance_cents=balance,
        actor=actor,
        reason=note,
        occurred_at=at,
    )
