"""What a sale, a redemption or an enrolment names, resolved in bulk for a batch of events.

A customer is named by a phone or an e-mail address (a cardless account of the terminal's
association, earning under the association's default card type) or a card number (the card's
account and type, after the card's checks: blacklist, expiry, dormancy, acceptance at this
merchant). The first purchase or the enrolment of a new phone opens its account; an e-mail
address names an account enrolled with it (a purchase by an unknown address opens none: an
address is typed letter by letter at the till, and a typo must not open an account and mail
a stranger the link to its details).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, cast
from uuid import UUID

import asyncpg

from services.cards.adapters import accounts, associations, cards
from services.cards.domain import CardState, card_refusal
from services.cards.domain.rulebooks import CardTypeRules, Snapshot
from services.cards.service.common import SOURCE
from shared import clock
from shared.clock import PARIS
from shared.contracts import AccountOpened, RedemptionRequested, RefusalReason, SaleRecorded
from shared.events import Event, new_event
from shared.rules.dates import DateWindow

# The production window; the service passes the one its settings give (entrypoints/consumers.py).
WINDOW = DateWindow()

Refusal = tuple[RefusalReason, str]


@dataclass(frozen=True, slots=True)
class Resolved:
    account_id: UUID
    rules: CardTypeRules
    card_number: str | None


def merchant_error(snap: Snapshot, merchant_id: UUID, association_id: UUID) -> Refusal | None:
    merchant = snap.merchants.get(merchant_id)
    if merchant is None:
        return "unknown_merchant", "this merchant is not registered with the cards service"
    if merchant.association_id != association_id:
        return (
            "merchant_not_in_association",
            "the terminal's merchant belongs to another association",
        )
    return None


async def dates_out_of_reason(
    conn: asyncpg.Connection, events: Sequence[Event[Any]], window: DateWindow
) -> dict[str, Refusal]:
    """Per event id, why its date may not be booked (shared/rules/dates.py): in the future,
    older than the window or before its association's books start. The gateway refuses the
    terminals' requests already; this is for every other way an event reaches cards."""
    starts = await associations.books_start(conn, (e.data.association_id for e in events))
    now = clock.now()
    out: dict[str, Refusal] = {}
    for e in events:
        d = e.data
        start = starts.get(d.association_id)
        books_start = datetime.combine(start, time(), PARIS) if start else None
        refusal = window.refusal(d.occurred_at, now, books_start)
        if refusal is not None:
            out[e.id] = (
                refusal,
                f"occurred at {d.occurred_at.isoformat()}, checked at {now.isoformat()}"
                + (f", books start {start.isoformat()}" if start else ""),
            )
    return out


async def resolve(
    conn: asyncpg.Connection,
    snap: Snapshot,
    events: Sequence[Event[Any]],
    phone_accounts: dict[tuple[UUID, str], UUID],
) -> list[Resolved | Refusal]:
    """Per event, in order: the account and rules that apply, or (reason, detail) of a refusal."""
    found = await cards.for_checks(conn, (e.data.card_number for e in events if e.data.card_number))
    by_email = await accounts.email_accounts(
        conn, ((e.data.association_id, e.data.email) for e in events if e.data.email)
    )
    return [resolve_one(snap, e.data, found, phone_accounts, by_email) for e in events]


def resolve_one(
    snap: Snapshot,
    d: SaleRecorded | RedemptionRequested,
    cards: dict[str, asyncpg.Record],
    phone_accounts: dict[tuple[UUID, str], UUID],
    email_accounts: dict[tuple[UUID, str], list[UUID]],
) -> Resolved | Refusal:
    err = merchant_error(snap, d.merchant_id, d.association_id)
    if err:
        return err
    if d.card_number is None:
        account = _cardless(d, phone_accounts, email_accounts)
        if isinstance(account, tuple):
            return account
        card_type = snap.default_card_type(d.association_id)
        rules = snap.rules(card_type) if card_type else None
        if rules is None:
            return "unknown_merchant", "the association has no default card type"
        return Resolved(account, rules, None)
    card = cards.get(d.card_number)
    if card is None:
        return "unknown_card", f"no card {d.card_number}"
    state = CardState(
        card["number"], card["status"], card["expires_on"], card["last_used_at"], card["issued_at"]
    )
    refusal = card_refusal(state, d.occurred_at, card["dormant_after_days"])
    if refusal:
        return cast(RefusalReason, refusal[0]), refusal[1]
    rules = snap.rules(card["card_type_id"])
    if rules is None or d.merchant_id not in rules.accepted_at:
        return "card_not_accepted", f"card {d.card_number}'s type is not accepted by this merchant"
    return Resolved(card["account_id"], rules, d.card_number)


def _cardless(
    d: SaleRecorded | RedemptionRequested,
    phone_accounts: dict[tuple[UUID, str], UUID],
    email_accounts: dict[tuple[UUID, str], list[UUID]],
) -> UUID | Refusal:
    """The cardless account a phone or an e-mail address names in the association."""
    if d.phone is not None:
        account = phone_accounts.get((d.association_id, d.phone))
        if account is None:
            return "unknown_account", "no account with this phone number in the association"
        return account
    assert d.email is not None
    found = email_accounts.get((d.association_id, d.email), [])
    if not found:
        return "unknown_account", "no account with this e-mail address in the association"
    if len(found) > 1:  # addresses given in the back office before they were checked unique
        return (
            "unknown_account",
            f"{len(found)} accounts of the association have this e-mail address: name the "
            "customer by their phone or card",
        )
    return found[0]


Wanted = tuple[UUID, str, UUID, UUID, str | None, str | None, str | None]


async def open_for(
    conn: asyncpg.Connection,
    wanted: list[Wanted],
    causes: dict[UUID, Event[Any]],
    out: list[Event[Any]],
) -> tuple[dict[tuple[UUID, str], UUID], set[UUID]]:
    """The account ids of (association, phone, merchant, request, email, first, last); open
    those not yet known, emitting account.opened. Returns the ids and those opened now.

    New accounts are inserted in (association, phone) order so that concurrent batches cannot
    deadlock; the callers then lock every account in id order."""
    keys = {(w[0], w[1]) for w in wanted}
    if not keys:
        return {}, set()
    known = await accounts.account_ids(conn, keys)
    first: dict[tuple[UUID, str], Wanted] = {}
    for w in wanted:
        if (w[0], w[1]) not in known:
            first.setdefault((w[0], w[1]), w)
    ids = {key: uuid.uuid4() for key in first}
    created = await accounts.open_accounts(
        conn, [(ids[k], w[0], w[1], w[2], w[4], w[5], w[6]) for k, w in sorted(first.items())]
    )
    known.update((k, ids[k]) for k in first if ids[k] in created)
    if len(created) < len(first):  # another batch opened some of them first: read those
        known.update(await accounts.account_ids(conn, (k for k in first if k not in known)))
    now = clock.now()
    for key, w in first.items():
        account = ids[key]
        if account in created:
            out.append(
                new_event(
                    SOURCE,
                    AccountOpened(
                        account_id=account,
                        association_id=w[0],
                        merchant_id=w[2],
                        phone=w[1],
                        email=w[4],
                        first_name=w[5],
                        last_name=w[6],
                        opened_at=now,
                        request_id=w[3],
                        request_kind="sale"
                        if isinstance(causes[w[3]].data, SaleRecorded)
                        else "enrolment",
                        referral_code=getattr(causes[w[3]].data, "referral_code", None),
                    ),
                    subject=f"account/{account}",
                    cause=causes[w[3]],
                )
            )
    return known, created
