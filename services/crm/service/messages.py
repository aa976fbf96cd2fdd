"""The messages crm asks notifications to send (MessageRequested), each logged per person.

Transactional ones (the details link, the double opt-in) go whatever the marketing consents.
A marketing one goes only through ``marketing`` (``marketing_many`` for a batch), which asks ``domain.consent.may_send`` for
the consent it relies on, names it in ``consent_id`` and puts in the RFC 8058 one-click
unsubscribe URL of that consent (notifications writes it in the e-mail's List-Unsubscribe
header; an SMS says STOP): no other path in crm requests a marketing message.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import asyncpg

from services.crm.adapters import consents as consent_rows
from services.crm.adapters import people as rows
from services.crm.adapters import triggers as trigger_rows
from services.crm.domain.consent import Consent, may_send
from services.crm.domain.triggers import capped
from services.crm.service.common import Links, event
from shared import clock
from shared.contracts import MessageRequested
from shared.contracts.messages import Channel
from shared.events import Event


async def transactional(
    conn: asyncpg.Connection,
    file: asyncpg.Record,
    channel: Channel,
    template: str,
    variables: dict[str, Any],
    merchant_id: UUID | None = None,
    message_id: UUID | None = None,
) -> Event[Any]:
    """A message the person needs whatever their marketing consents, to the file's address."""
    (e,) = await transactional_many(
        conn, [Transactional(file, channel, template, variables, merchant_id, message_id)]
    )
    return e


@dataclass(frozen=True, slots=True)
class Transactional:
    """A transactional message asked for one person (``transactional``'s arguments)."""

    file: asyncpg.Record
    channel: Channel
    template: str
    variables: dict[str, Any]
    merchant_id: UUID | None = None
    message_id: UUID | None = None


async def transactional_many(
    conn: asyncpg.Connection, asks: Sequence[Transactional]
) -> list[Event[Any]]:
    """``transactional`` for a batch (the accounts a batch of sales opened, the receipts of a
    batch of sales): the requests in order, their lines of the message log in one statement."""
    logged: list[rows.Logged] = []
    out = [
        _request(
            logged,
            a.file,
            a.channel,
            "transactional",
            a.template,
            a.variables,
            a.file["email"] if a.channel == "email" else a.file["phone"],
            a.merchant_id,
            None,
            None,
            message_id=a.message_id,
        )
        for a in asks
    ]
    if logged:
        await rows.log_messages(conn, logged)
    return out


# Why a marketing message was not asked for: no consent (or an erased file), or the cap.
NotSent = Literal["no_consent", "frequency_capped"]
# What a trigger adds to a message once it may be sent (a birthday's voucher code).
Offer = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Ask:
    """A marketing message asked for one person: their file, what the template shows, the id
    the caller derived (None: a new one) and what is added once it may go (a voucher)."""

    file: asyncpg.Record
    variables: dict[str, Any]
    message_id: UUID | None = None
    offer: Offer | None = None


async def marketing(
    conn: asyncpg.Connection,
    links: Links,
    file: asyncpg.Record,
    channel: Channel,
    merchant_id: UUID | None,
    template: str,
    variables: dict[str, Any],
    campaign_id: UUID | None = None,
    message_id: UUID | None = None,
    offer: Offer | None = None,
) -> Event[Any] | NotSent:
    """The marketing message; ``no_consent`` when the person did not consent to it (on this
    channel, for this scope, at this address) or their file is erased; ``frequency_capped``
    when the association's cap is reached. ``message_id``: the id a trigger derived (asked
    again, it is the same message, which the cap does not count twice)."""
    (answer,) = await marketing_many(
        conn,
        links,
        channel,
        merchant_id,
        template,
        [Ask(file, variables, message_id, offer)],
        campaign_id,
    )
    return answer


async def marketing_many(
    conn: asyncpg.Connection,
    links: Links,
    channel: Channel,
    merchant_id: UUID | None,
    template: str,
    asks: list[Ask],
    campaign_id: UUID | None = None,
) -> list[Event[Any] | NotSent]:
    """``marketing`` for several people at once (a daily trigger's or a campaign's batch),
    each answer in the order asked: the same decisions as one at a time, in a few statements
    whatever their number. One message per person in a call (the cap of a second one would
    count the first)."""
    if len({a.file["account_id"] for a in asks}) != len(asks):
        raise ValueError("one marketing message per person in a batch")
    answers: list[Event[Any] | NotSent] = ["no_consent"] * len(asks)
    living = [a.file["account_id"] for a in asks if a.file["erased_at"] is None]
    held: dict[UUID, list[Consent]] = {}
    for r in await consent_rows.of_accounts(conn, living) if living else []:
        held.setdefault(r["account_id"], []).append(consent_rows.consent_of(r))
    going: list[tuple[int, Ask, Consent, str]] = []
    for i, a in enumerate(asks):
        address = a.file["email"] if channel == "email" else a.file["phone"]
        consent = may_send(held.get(a.file["account_id"], []), channel, merchant_id, address)
        if a.file["erased_at"] is None and consent is not None and address is not None:
            going.append((i, a, consent, address))
    ids = [a.message_id or uuid.uuid4() for _, a, _, _ in going]
    under = await _under_cap(
        conn, [(a.file, mid) for (_, a, _, _), mid in zip(going, ids, strict=True)]
    )
    logged: list[rows.Logged] = []
    for (i, a, consent, address), mid, ok in zip(going, ids, under, strict=True):
        if not ok:
            answers[i] = "frequency_capped"
            continue
        variables = a.variables if a.offer is None else {**a.variables, **await a.offer()}
        answers[i] = _request(
            logged,
            a.file,
            channel,
            "marketing",
            template,
            variables,
            address,
            merchant_id,
            consent.id,
            links.unsubscribe(consent.id, clock.now()),
            campaign_id,
            mid,
        )
    await rows.log_messages(conn, logged)
    return answers


async def _under_cap(
    conn: asyncpg.Connection, asked: list[tuple[asyncpg.Record, UUID]]
) -> list[bool]:
    """Whether each (file, message id) stays under its association's frequency cap."""
    limits: dict[UUID, asyncpg.Record] = {}
    for association_id in {f["association_id"] for f, _ in asked}:
        limit = await trigger_rows.cap(conn, association_id)
        if limit is not None:
            limits[association_id] = limit
    counted = [(f, mid) for f, mid in asked if f["association_id"] in limits]
    if not counted:
        return [True] * len(asked)
    # The people's files locked until the commit: two replicas (a campaign and a trigger)
    # count and add one at a time, so the cap holds (files are locked in account order).
    await trigger_rows.lock_people(conn, sorted(f["account_id"] for f, _ in counted))
    now = clock.now()
    sent = await trigger_rows.marketing_since(
        conn,
        [
            (f["account_id"], mid, now - timedelta(days=limits[f["association_id"]]["per_days"]))
            for f, mid in counted
        ],
    )
    return [
        f["association_id"] not in limits
        or not capped(sent[(f["account_id"], mid)], limits[f["association_id"]]["max_messages"])
        for f, mid in asked
    ]


def _request(
    logged: list[rows.Logged],
    file: asyncpg.Record,
    channel: Channel,
    category: Any,
    template: str,
    variables: dict[str, Any],
    address: str | None,
    merchant_id: UUID | None,
    consent_id: UUID | None,
    unsubscribe_url: str | None,
    campaign_id: UUID | None = None,
    message_id: UUID | None = None,
) -> Event[Any]:
    """The request's event, its line for the person's message log added to ``logged``."""
    if address is None:
        raise ValueError(f"no {channel} address for {file['account_id']}")
    message_id = message_id or uuid.uuid4()
    data = MessageRequested(
        message_id=message_id,
        channel=channel,
        category=category,
        to=address,
        language=file["language"],
        template=template,
        variables=variables,
        association_id=file["association_id"],
        merchant_id=merchant_id,
        account_id=file["account_id"],
        campaign_id=campaign_id,
        consent_id=consent_id,
        unsubscribe_url=unsubscribe_url,
    )
    logged.append(
        (
            message_id,
            file["account_id"],
            channel,
            category,
            template,
            consent_id,
            clock.now(),
            campaign_id,
        )
    )
    return event(data, str(file["account_id"]))


_ORDER = ("queued", "deferred", "sent", "delivered", "failed")


async def on_statuses(
    conn: asyncpg.Connection, statuses: Iterable[tuple[UUID, str, str | None, datetime]]
) -> None:
    """The last status of each message of the batch (the furthest along), one update."""
    last: dict[UUID, tuple[UUID, str, str | None, datetime]] = {}
    for s in statuses:
        seen = last.get(s[0])
        if seen is None or _ORDER.index(s[1]) >= _ORDER.index(seen[1]):
            last[s[0]] = s
    await rows.message_statuses(conn, [last[k] for k in sorted(last)])


async def marketing_to(
    conn: asyncpg.Connection,
    links: Links,
    account_id: UUID,
    channel: Channel,
    merchant_id: UUID | None,
    template: str,
    variables: dict[str, Any],
) -> Event[Any] | NotSent:
    """``marketing``, for the customer's file."""
    return await marketing(
        conn, links, await rows.file(conn, account_id), channel, merchant_id, template, variables
    )


async def of_customer(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> list[asyncpg.Record]:
    await rows.file(conn, account_id)
    return await rows.messages_of(conn, account_id)
