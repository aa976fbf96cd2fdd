"""Sponsorship's use cases (F22): a customer's referral code, a newcomer linked to a sponsor
with it, the programmes, the rewards decided at the enrolment or at the newcomer's N-th
purchase (asked of cards as ``SponsorshipRewardGranted``, through the outbox, in the
transaction that decided them), the rewards taken back when their qualifying sale is
cancelled or returned whole (``SponsorshipRewardReversed``), and the best sponsors.

Each reward is decided once: the sponsorship row is locked and marked decided in the same
transaction, and the reward's id (``shared.contracts.sponsorship.reward_id``) is the cagnotte
entry's reference in cards, written once whatever the redelivery."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg

from services.crm.adapters import people
from services.crm.adapters import sponsorship as rows
from services.crm.adapters import sponsorship_reversals as reversals
from services.crm.domain import sponsorship as rules
from services.crm.service import messages
from services.crm.service.common import event
from shared import clock
from shared.contracts import (
    SponsorshipReversalDone,
    SponsorshipReversalRefused,
    SponsorshipRewardGranted,
    SponsorshipRewardReversed,
)
from shared.contracts.messages import Channel
from shared.contracts.sponsorship import HowLinked, reversal_id, reward_id
from shared.events import Event
from shared.http import Problem
from shared.rules.codes import (
    InvalidCode,
    format_referral_code,
    parse_referral_code,
    referral_code,
)


def _uuid_order(u: UUID) -> int:
    """The UUIDs' own order, compared in C (``sorted`` of UUIDs calls ``UUID.__lt__``)."""
    return u.int


def problem(r: rules.Refusal) -> Problem:
    return Problem(r.status, "Sponsorship refused", r.detail, reason=r.reason)


def parse_code(raw: str) -> str:
    try:
        return parse_referral_code(raw)
    except InvalidCode as exc:
        raise Problem(
            422, "Invalid referral code", str(exc), reason="invalid_referral_code"
        ) from exc


async def ensure_code(conn: asyncpg.Connection, account_id: UUID, association_id: UUID) -> str:
    """The customer's referral code, drawn the first time (again on the rare collision)."""
    for _ in range(10):
        code = await rows.code_of(conn, account_id)
        if code is not None:
            return code
        await rows.insert_code(
            conn, account_id, association_id, referral_code(secrets.randbelow), clock.now()
        )
    raise RuntimeError("could not draw a unique referral code")  # 35 bits: never


async def codes(conn: asyncpg.Connection, wanted: dict[UUID, UUID]) -> dict[UUID, str]:
    """The referral codes of the accounts of ``wanted`` (account -> association), read at once;
    only an account without one yet draws it (a batch of receipts: one query, not one each)."""
    held = await rows.codes_of(conn, sorted(wanted, key=lambda a: a.int))
    for account_id, association_id in wanted.items():
        if account_id not in held:
            held[account_id] = await ensure_code(conn, account_id, association_id)
    return held


async def code(conn: asyncpg.Connection, account_id: UUID) -> str | None:
    """The customer's code, drawn the first time; none for an erased customer (erasure
    forgot it: reading their sponsorship must not give them a new one)."""
    file = await people.file(conn, account_id)
    if file["erased_at"] is not None:
        return None
    return await ensure_code(conn, account_id, file["association_id"])


async def send_code(
    conn: asyncpg.Connection, account_id: UUID, channel: Channel | None, merchant_id: UUID | None
) -> Event[Any]:
    """The customer's referral code, sent to them (they asked for it: transactional), by
    e-mail if the file has one, else by SMS, unless the channel is given."""
    file = await people.file(conn, account_id)
    if file["erased_at"] is not None:
        raise Problem(
            409, "Customer erased", "this customer's data were erased", reason="erased_customer"
        )
    channel = channel or ("email" if file["email"] else "sms")
    if file["email" if channel == "email" else "phone"] is None:
        raise Problem(
            422, "No address", f"the file has no address for {channel}", reason="no_address"
        )
    variables: dict[str, Any] = {
        "referral_code": format_referral_code(
            await ensure_code(conn, account_id, file["association_id"])
        )
    }
    if file["first_name"]:
        variables["first_name"] = file["first_name"]
    return await messages.transactional(
        conn, file, channel, "referral_code", variables, merchant_id
    )


async def held(pool: asyncpg.Pool, association_id: UUID, raw_code: str) -> str:
    """The code, normalised, if a customer of the association holds it (404 otherwise)."""
    code_ = parse_code(raw_code)
    async with pool.acquire() as conn:
        if await rows.holder_of_code(conn, association_id, code_) is None:
            raise problem(replace(rules.UNKNOWN_CODE, status=404))
    return code_


async def link(
    conn: asyncpg.Connection,
    newcomer_id: UUID,
    raw_code: str,
    how: HowLinked,
    merchant_id: UUID | None,
) -> list[Event[Any]]:
    """Link the newcomer to the holder of the code (422/409 with the reason when refused); the
    rewards at once when the programme gives them at the enrolment."""
    code_ = parse_code(raw_code)
    file = await people.file(conn, newcomer_id)
    association_id: UUID = file["association_id"]
    await rows.lock_links(conn, association_id)
    sponsor = await rows.holder_of_code(conn, association_id, code_)
    if sponsor is None:
        raise problem(rules.UNKNOWN_CODE)
    refusal = rules.link_refusal(
        newcomer_id,
        sponsor["account_id"],
        has_sponsor=await rows.sponsorship(conn, newcomer_id) is not None,
        newcomer_visits=file["visit_count"],
        sponsor_chain=await rows.chain_up(conn, sponsor["account_id"]),
    )
    if refusal is not None:
        raise problem(refusal)
    now = clock.now()
    enrolled_by = file["enrolled_by_merchant"]  # text in the file's read
    merchant = merchant_id or (UUID(enrolled_by) if enrolled_by else None)
    await rows.insert_sponsorship(
        conn, newcomer_id, sponsor["account_id"], association_id, merchant, how, now
    )
    return await _decide_due(conn, [newcomer_id], "enrolment")


async def link_quietly(
    conn: asyncpg.Connection,
    newcomer_id: UUID,
    raw_code: str,
    how: HowLinked,
    merchant_id: UUID | None,
) -> tuple[list[Event[Any]], str | None]:
    """``link`` for an event's consumer (a till's enrolment): a refusal is a reason returned,
    not an error (the account is open whatever the code)."""
    try:
        async with conn.transaction():  # a savepoint: a refusal leaves nothing behind
            return await link(conn, newcomer_id, raw_code, how, merchant_id), None
    except Problem as p:
        return [], str(p.extra.get("reason") or p.title)


async def after_sales(conn: asyncpg.Connection, accounts: Iterable[UUID]) -> list[Event[Any]]:
    """After the sales new here: the rewards of the newcomers among their customers whose
    N-th purchase came."""
    return await _decide_due(conn, sorted(set(accounts), key=_uuid_order), "purchase")


async def _decide_due(
    conn: asyncpg.Connection, newcomer_ids: list[UUID], trigger: rules.RewardAt
) -> list[Event[Any]]:
    out: list[Event[Any]] = []
    if not newcomer_ids:
        return out
    undecided = await rows.undecided_for_update(conn, newcomer_ids)
    # Each sponsor's cap is counted by one transaction at a time: their locks taken in one
    # order, before any is counted, so two batches never wait for each other in a cycle.
    for sponsor_id in sorted({s["sponsor_id"] for s in undecided}):
        await rows.lock_sponsor(conn, sponsor_id)
    for s in undecided:
        merchant_p, association_p = await rows.programmes_for(
            conn, s["association_id"], s["merchant_id"]
        )
        p = rules.applicable(merchant_p, association_p)
        if p is None or p.reward_at != trigger:
            continue
        sale = None
        if trigger == "purchase":
            sale = await rows.nth_purchase(conn, s["newcomer_id"], p.merchant_id, p.purchase_number)
            if sale is None:
                continue
        out += await _grant(conn, s, p, sale)
    return out


async def _grant(
    conn: asyncpg.Connection, s: asyncpg.Record, p: rules.Programme, sale: asyncpg.Record | None
) -> list[Event[Any]]:
    newcomer_id: UUID = s["newcomer_id"]
    sponsor_id: UUID = s["sponsor_id"]
    at: datetime = sale["occurred_at"] if sale is not None else s["linked_at"]
    period = rules.cap_period_start(at, p.cap_period)
    granted = await rows.granted_in_period(conn, sponsor_id, period)
    purchase = sale["amount_cents"] if sale is not None else None
    held = await rows.roles_holding(conn, newcomer_id)
    decided = rules.rewards(p, newcomer_id, sponsor_id, purchase, granted, held)
    trigger: rules.RewardAt = "purchase" if sale is not None else "enrolment"
    sale_id = sale["sale_id"] if sale is not None else None
    ids = [(reward_id(newcomer_id, r.role, sale_id), r) for r in decided]
    new = set(await rows.insert_rewards(conn, newcomer_id, p, ids, trigger, sale_id, at, period))
    await rows.decided(conn, newcomer_id, clock.now())
    return [
        event(
            SponsorshipRewardGranted(
                reward_id=i,
                newcomer_id=newcomer_id,
                sponsor_id=sponsor_id,
                role=r.role,
                account_id=r.account_id,
                association_id=p.association_id,
                merchant_id=p.merchant_id,
                amount_cents=r.amount_cents,
                trigger=trigger,
                sale_id=sale_id,
                occurred_at=at,
            ),
            str(r.account_id),
        )
        for i, r in ids
        if i in new and r.status == "granted" and r.amount_cents > 0
    ]


# A sale cancelled or goods returned: the return's id, the sale's, why, the cents, when.
Undone = tuple[UUID, UUID, Literal["cancelled", "returned"], int, datetime]


async def take_back(conn: asyncpg.Connection, undone: Sequence[Undone]) -> list[Event[Any]]:
    """The rewards won by sales now cancelled, or returned whole (by one return or by several
    adding up to the sale, each return counted once by its id), taken back once each (F16's
    rule for rewards: a new entry, never an edit); the sponsor's cap counts them no more. A
    sponsorship is re-decided (a later sale may now be the N-th) once cards answered each of
    its reversals (``reversal_answered``): a reward cards could not take back (spent) is kept
    by its holder, who gets no second one, whichever comes first, that answer or the
    newcomer's next purchase."""
    returns = [(u[0], u[1], u[3], u[4]) for u in undone if u[2] == "returned"]
    if returns:
        await reversals.record_returns(conn, returns)
    sales: dict[UUID, tuple[str, datetime]] = {}
    for _, sale_id, reason, _, at in undone:  # one per sale; a cancellation says more
        if sale_id not in sales or reason == "cancelled":
            sales[sale_id] = (reason, at)
    found = await reversals.rewards_to_take_back(conn, [(s, r) for s, (r, _) in sales.items()])
    if not found:
        return []
    newcomers = sorted({r["newcomer_id"] for r in found}, key=_uuid_order)
    await reversals.lock_sponsorships(conn, newcomers)
    when = {sale_id: at for sale_id, (_, at) in sales.items()}
    new = set(
        await reversals.insert_reversals(
            conn,
            [
                (
                    reversal_id(r["id"]),
                    r["id"],
                    r["newcomer_id"],
                    r["sale_id"],
                    r["reason"],
                    when[r["sale_id"]],
                )
                for r in found
            ],
        )
    )
    asked = [
        r
        for r in found
        if reversal_id(r["id"]) in new and r["status"] == "granted" and r["amount_cents"] > 0
    ]
    # A reward capped at 0 has nothing to take back in cards: its reversal is done at once.
    nothing = [reversal_id(r["id"]) for r in found if reversal_id(r["id"]) in new]
    nothing = [i for i in nothing if i not in {reversal_id(r["id"]) for r in asked}]
    await reversals.reversals_done(conn, nothing, clock.now())
    out: list[Event[Any]] = [
        event(
            SponsorshipRewardReversed(
                reversal_id=reversal_id(r["id"]),
                reward_id=r["id"],
                newcomer_id=r["newcomer_id"],
                role=r["role"],
                account_id=r["account_id"],
                association_id=r["association_id"],
                merchant_id=r["funded_by"],
                amount_cents=r["amount_cents"],
                sale_id=r["sale_id"],
                occurred_at=when[r["sale_id"]],
            ),
            str(r["account_id"]),
        )
        for r in asked
    ]
    return out + await _redecide(conn, newcomers)


async def reversal_answered(
    conn: asyncpg.Connection,
    done: Sequence[SponsorshipReversalDone],
    refused: Sequence[SponsorshipReversalRefused],
) -> list[Event[Any]]:
    """cards took rewards back (``done``), or could not (``refused``: spent already; the
    reversal says so, for the back office to settle by an adjustment, and the reward counts
    again). The sponsorships whose reversals are all answered now are re-decided."""
    now = clock.now()
    answered = await reversals.reversals_done(conn, [d.reversal_id for d in done], now)
    answered += await reversals.reversals_refused(
        conn, [(r.reversal_id, r.detail) for r in refused], now
    )
    newcomers = sorted(set(answered), key=_uuid_order)
    if not newcomers:
        return []
    await reversals.lock_sponsorships(conn, newcomers)
    return await _redecide(conn, newcomers)


async def _redecide(conn: asyncpg.Connection, newcomers: list[UUID]) -> list[Event[Any]]:
    """Reopen and decide again the sponsorships (locked) none of whose reversals waits for
    cards' answer: the roles still holding a reward (kept, or not yet answered) get none."""
    waiting = await reversals.pending(conn, newcomers)
    ready = [n for n in newcomers if n not in waiting]
    await rows.reopen(conn, ready)
    return await _decide_due(conn, ready, "purchase")


async def save_programme(
    conn: asyncpg.Connection,
    association_id: UUID,
    merchant_id: UUID | None,
    terms: dict[str, Any],
) -> asyncpg.Record:
    return await rows.save_programme(conn, uuid4(), association_id, merchant_id, terms, clock.now())


async def view(conn: asyncpg.Connection, account_id: UUID) -> dict[str, Any]:
    """What a customer's sponsorship shows: their code, their sponsor, their newcomers, the
    rewards decided for them."""
    code_ = await code(conn, account_id)
    s = await rows.sponsorship(conn, account_id)
    return {
        "account_id": account_id,
        "referral_code": code_,
        "sponsor": dict(s) if s is not None else None,
        "newcomers": [dict(r) for r in await rows.sponsorees(conn, account_id)],
        "rewards": [dict(r) for r in await rows.rewards_of(conn, account_id)],
    }
