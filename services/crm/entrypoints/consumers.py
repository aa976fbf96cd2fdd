"""The events the crm takes: each handler reads its events into the domain's words and calls
one use case, in the consumer's transaction for the batch. The facts the statistics count (a
sale, a redemption, a return, a cancellation, a sale without a member, an enrolment) are
counted in the same transaction (entrypoints/statistics.py): one parse, one inbox row and one
commit per event for both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.crm.domain.visits import Cancellation, CustomerCard, Enrolment, Visit
from services.crm.entrypoints import statistics
from services.crm.service import consents, customers, levels, messages, sponsorship, triggers
from services.crm.service import visits as service
from services.crm.service.common import Links
from shared import logging as log
from shared.contracts import (
    AccountDetailsCorrected,
    AccountOpened,
    AnonymousSaleRecorded,
    CardIssued,
    LevelChanged,
    MessageStatusChanged,
    OptOutReceived,
    RewardReversed,
    SponsorshipReversalDone,
    SponsorshipReversalRefused,
    TransactionsBooked,
)
from shared.events import Event


async def on_booked(
    conn: asyncpg.Connection, events: list[Event[TransactionsBooked]], links: Links
) -> Sequence[Event[Any]]:
    """The sales cards booked, online or from a chip card: a visit each, keyed by the sale's
    id (a redemption is no visit); then, for each sale new here, its receipt and the visit
    threshold reached (the triggers of its merchant and association), and the sponsorship
    rewards of a newcomer's qualifying purchase. The statistics count its sales and
    redemptions."""
    await statistics.on_booked(conn, events)
    sales = [(e.data, t) for e in events for t in e.data.transactions if t.kind == "sale"]
    fresh = await service.record_visits(
        conn,
        (
            Visit(
                t.transaction_id,
                t.account_id,
                d.association_id,
                d.merchant_id,
                d.shop_id,
                t.amount_cents,
                t.product_family,
                t.occurred_at,
                t.reward_cents,
            )
            for d, t in sales
        ),
    )
    out = await triggers.after_sales(
        conn,
        links,
        [(d.association_id, d.merchant_id, t) for d, t in sales if t.transaction_id in fresh],
    )
    # The newcomers whose N-th purchase this may be: their sponsorship rewards (F22).
    return [
        *out,
        *await sponsorship.after_sales(
            conn, (t.account_id for _, t in sales if t.transaction_id in fresh)
        ),
    ]


async def on_reversed(
    conn: asyncpg.Connection, events: list[Event[RewardReversed]]
) -> Sequence[Event[Any]]:
    """A cancelled sale (F16) marks its visit and leaves the counters, once. A return of goods
    changes nothing here: the visit took place. Either, when it undoes a newcomer's qualifying
    sale (cancelled, or returned whole), takes the sponsorship rewards back (F22). The
    statistics count either."""
    await statistics.on_reversed(conn, events)
    await service.cancel_sales(
        conn,
        (
            Cancellation(
                d.sale_id,
                d.account_id,
                d.association_id,
                d.merchant_id,
                d.shop_id,
                d.amount_cents,
                d.occurred_at,
            )
            for d in (e.data for e in events)
            if d.reason == "cancelled"
        ),
    )
    return await sponsorship.take_back(
        conn,
        [
            (d.return_id, d.sale_id, d.reason, d.amount_cents, d.occurred_at)
            for d in (e.data for e in events)
        ],
    )


async def on_anonymous(
    conn: asyncpg.Connection, events: list[Event[AnonymousSaleRecorded]]
) -> Sequence[Event[Any]]:
    """A sale without a member: no visit, only the statistics count it."""
    return await statistics.on_anonymous(conn, events)


async def on_reversal_refused(
    conn: asyncpg.Connection, events: list[Event[SponsorshipReversalRefused]]
) -> Sequence[Event[Any]]:
    return await sponsorship.reversal_answered(conn, [], [e.data for e in events])


async def on_reversal_done(
    conn: asyncpg.Connection, events: list[Event[SponsorshipReversalDone]]
) -> Sequence[Event[Any]]:
    return await sponsorship.reversal_answered(conn, [e.data for e in events], [])


async def on_opened(
    conn: asyncpg.Connection, events: list[Event[AccountOpened]], links: Links
) -> Sequence[Event[Any]]:
    """An account opened: its customer file, with the details given at the opening; after a
    quick enrolment at the till, the link to complete them, and the sponsor its code names.
    The statistics count the enrolment."""
    await statistics.on_opened(conn, events)
    enrolments = [
        (
            Enrolment(
                d.account_id,
                d.association_id,
                d.phone,
                d.email,
                d.first_name,
                d.last_name,
                d.opened_at,
                d.merchant_id,
                d.title,
            ),
            d.request_kind,
        )
        for d in (e.data for e in events)
    ]
    out = await customers.opened(conn, [e for e, _ in enrolments])
    out += await customers.on_enrolled(conn, links, enrolments)
    # A newcomer enrolled at the till with a sponsor's code (F22); a code refused (unknown,
    # a loop...) leaves the account open without a sponsor, as the till was answered.
    for d in sorted((e.data for e in events if e.data.referral_code), key=lambda d: d.account_id):
        assert d.referral_code is not None
        linked, refused = await sponsorship.link_quietly(
            conn, d.account_id, d.referral_code, "till", d.merchant_id
        )
        if refused:
            log.get("crm").warning(
                "referral code refused", account_id=str(d.account_id), reason=refused
            )
        out += linked
    return out


async def on_corrected(
    conn: asyncpg.Connection, events: list[Event[AccountDetailsCorrected]]
) -> Sequence[Event[Any]]:
    """A holder's details corrected in cards' back office: crm owns them, so the file takes
    the correction and publishes it as any change of the file (cards, which takes that event
    back, publishes nothing then: the correction goes round once)."""
    return await customers.apply_corrections(
        conn,
        (
            (d.account_id, d.association_id, {name: getattr(d, name) for name in d.changed})
            for d in sorted((e.data for e in events), key=lambda d: d.corrected_at)
        ),
    )


async def on_status_changed(
    conn: asyncpg.Connection, events: list[Event[MessageStatusChanged]]
) -> Sequence[Event[Any]]:
    """What became of the messages crm asked for, kept per person."""
    await messages.on_statuses(
        conn, ((d.message_id, d.status, d.reason, d.at) for d in (e.data for e in events))
    )
    return []


async def on_opt_out(
    conn: asyncpg.Connection, events: list[Event[OptOutReceived]]
) -> Sequence[Event[Any]]:
    """An SMS STOP or a bounce: the consents of that address on that channel are withdrawn."""
    await consents.on_opt_outs(
        conn, ((d.channel, d.address, d.keyword, d.received_at) for d in (e.data for e in events))
    )
    return []


async def on_card_issued(
    conn: asyncpg.Connection, events: list[Event[CardIssued]]
) -> Sequence[Event[Any]]:
    """The card numbers of a customer, for the statements' detail lines."""
    await service.record_cards(
        conn,
        (
            CustomerCard(d.card_number, d.account_id, d.issued_at, d.replaces)
            for d in (e.data for e in events)
        ),
    )
    return []


async def on_level_changed(
    conn: asyncpg.Connection, events: list[Event[LevelChanged]], links: Links
) -> Sequence[Event[Any]]:
    """A customer's status level changed in cards' daily review: kept in the file, and told
    to the customer by message if they consented to it."""
    return await levels.on_changes(conn, links, ((e.id, e.data) for e in events))
