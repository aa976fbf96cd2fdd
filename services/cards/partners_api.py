"""Donations to partner associations (F19): a member gives part of the available cagnotte
to a partner of the association (a sports club, a parents' association), paid to the partner
with the monthly settlement.

A donation is one ledger entry (kind ``donation``, bucket ``available``, negative, with the
partner) and its ``AccountAdjusted`` event, written in one transaction. It is idempotent by
the ``donation_id`` the client chose: the same request again answers what the first did (200)
and takes nothing twice; the same id with other terms is a 409.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field

from services.cards import ledger
from services.cards.domain import Movement, Overdrawn
from services.cards.web import api, event
from shared import clock, outbox
from shared.clock import PARIS
from shared.contracts import MAX_SALE_CENTS, AccountAdjusted
from shared.fields import Text, UtcInstant
from shared.http import In, Problem, json_response, read_model, uuid_param
from shared.service import back_office

TAG = "partnerships"


class DonationIn(In):
    donation_id: UUID = Field(description="chosen by the client: the same id again is a retry")
    partner_id: UUID = Field(description="an active partner of the account's association")
    amount_cents: int = Field(gt=0, le=MAX_SALE_CENTS, description="taken from the available")
    actor: Text | None = Field(default=None, description="who records it (member, back office)")
    occurred_at: UtcInstant | None = Field(
        default=None,
        description="when the member gave it (a form signed in the shop, keyed in later); "
        "now if absent; within reason: not ahead of the clock (5 minutes' tolerance), not "
        "older than the window (45 days), not before the association's books start",
    )


class DonationOut(BaseModel):
    donation_id: UUID
    account_id: UUID
    partner_id: UUID
    amount_cents: int = Field(description="given, > 0")
    balance_cents: int = Field(description="the available cagnotte after the donation")
    occurred_at: datetime


def _out(donation_id: UUID, entry: asyncpg.Record | dict[str, Any]) -> DonationOut:
    return DonationOut(
        donation_id=donation_id,
        account_id=entry["account_id"],
        partner_id=entry["partner_id"],
        amount_cents=-entry["amount_cents"],
        balance_cents=entry["balance_after_cents"],
        occurred_at=entry["occurred_at"],
    )


def _refused(title: str, detail: str, reason: str, **extra: Any) -> Problem:
    return Problem(422, title, detail, reason=reason, **extra)


async def _partner(
    conn: asyncpg.Connection, partner_id: UUID, association_id: UUID
) -> asyncpg.Record:
    """The partner, if it takes donations from the members of ``association_id``; else 422."""
    partner: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM partners WHERE partner_id = $1", partner_id
    )
    if partner is None:
        raise _refused("Unknown partner", f"no partner {partner_id}", "unknown_partner")
    if partner["association_id"] != association_id:
        raise _refused(
            "Partner of another association",
            f"{partner['partner_name']} is a partner of association {partner['association_id']}, "
            f"not of the account's ({association_id})",
            "partner_not_in_association",
        )
    if not partner["active"]:
        raise _refused(
            "Partner inactive",
            f"{partner['partner_name']} takes no donations now",
            "partner_inactive",
        )
    return partner


@api.route(
    "POST",
    "/v1/accounts/{account_id}/donations",
    summary="Give part of the available cagnotte to a partner association (F19)",
    body=DonationIn,
    returns=DonationOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def donate(request: web.Request) -> web.Response:
    """`amount_cents` leaves the account's available cagnotte for the partner (clearing owes it
    to the partner until the monthly settlement). Refused with 422 and a `reason`:
    `unknown_partner`, `partner_not_in_association`, `partner_inactive`,
    `insufficient_balance` (with `available_cents`). The same `donation_id` again answers 200
    with the first result; with other terms, 409 `id_reused`."""
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    body = await read_model(request, DonationIn)
    async with rt.pool.acquire() as conn, conn.transaction():
        # Requests with the same id run one after the other: the second sees the first's entry.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"cards.donation:{body.donation_id}",
        )
        account = await ledger.lock(conn, account_id)
        if account is None:
            raise Problem(404, "Unknown account", f"no account {account_id}")
        done = await conn.fetchrow(
            """SELECT account_id, partner_id, amount_cents, balance_after_cents, actor, occurred_at
               FROM cagnotte_entries
               WHERE kind = 'donation' AND bucket = 'available' AND reference_id = $1""",
            body.donation_id,
        )
        if done is not None:
            if (done["account_id"], done["partner_id"], -done["amount_cents"], done["actor"]) != (
                account_id,
                body.partner_id,
                body.amount_cents,
                body.actor,
            ):
                raise Problem(
                    409,
                    "Id already used",
                    f"donation {body.donation_id} was already made with other terms; choose a "
                    "new id for a new one",
                    reason="id_reused",
                )
            return json_response(_out(body.donation_id, done))
        partner = await _partner(conn, body.partner_id, account["association_id"])
        insufficient = _refused(
            "Insufficient balance",
            f"the available cagnotte is {account['balance_cents']} cents, "
            f"{body.amount_cents} asked",
            "insufficient_balance",
            available_cents=account["balance_cents"],
        )
        if account["balance_cents"] < body.amount_cents:
            raise insufficient
        now = clock.now()
        if body.occurred_at is not None:
            # Dates within reason (shared/rules/dates.py), as for a sale: a donation backdated
            # into a closed month or before the books start would move money nobody can see.
            start = await conn.fetchval(
                "SELECT books_start FROM associations WHERE id = $1", account["association_id"]
            )
            books_start = datetime.combine(start, time(), PARIS) if start else None
            refusal = rt.settings.date_window().refusal(body.occurred_at, now, books_start)
            if refusal is not None:
                raise Problem(
                    422,
                    "Date out of reason",
                    f"occurred_at {body.occurred_at.isoformat()} is outside the accepted window "
                    f"at {now.isoformat()}"
                    + (f" (books start {start.isoformat()})" if start else ""),
                    reason=refusal,
                )
            now = body.occurred_at
        reason = f"donation to {partner['partner_name']}"
        try:
            posted = await ledger.post(
                conn,
                account_id,
                body.donation_id,
                [Movement("donation", "available", -body.amount_cents)],
                now,
                actor=body.actor,
                note=reason,
                partner_id=body.partner_id,
            )
        except Overdrawn as exc:  # cannot happen under the account's lock; refused all the same
            raise insufficient from exc
        balance = posted.balances_after[0]
        adjusted = AccountAdjusted(
            movement_id=body.donation_id,
            kind="donation",
            account_id=account_id,
            association_id=account["association_id"],
            partner_id=body.partner_id,
            purse="cagnotte",
            bucket="available",
            amount_cents=-body.amount_cents,
            balance_cents=balance,
            actor=body.actor,
            reason=reason,
            occurred_at=now,
        )
        await outbox.write(conn, [event(adjusted, f"account/{account_id}")])
    return json_response(
        DonationOut(
            donation_id=body.donation_id,
            account_id=account_id,
            partner_id=body.partner_id,
            amount_cents=body.amount_cents,
            balance_cents=balance,
            occurred_at=now,
        ),
        201,
    )
