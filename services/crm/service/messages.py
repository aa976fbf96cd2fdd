"""The messages crm asks notifications to send (MessageRequested), each logged per person.

Transactional ones (the details link, the double opt-in) go whatever the marketing consents.
A marketing one goes only through ``marketing``, which asks ``domain.consent.may_send`` for
the consent it relies on, names it in ``consent_id`` and puts in the RFC 8058 one-click
unsubscribe URL of that consent (notifications writes it in the e-mail's List-Unsubscribe
header; an SMS says STOP): no other path in crm requests a marketing message.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import asyncpg

from services.crm.adapters import consents as consent_rows
from services.crm.adapters import people as rows
from services.crm.adapters import triggers as trigger_rows
from services.crm.domain.consent import may_send
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
    address = file["email"] if channel == "email" else file["phone"]
    return await _request(
        conn,
        file,
        channel,
        "transactional",
        template,
        variables,
        address,
        merchant_id,
        None,
        None,
        message_id=message_id,
    )


# Why a marketing message was not asked for: no consent (or an erased file), or the cap.
NotSent = Literal["no_consent", "frequency_capped"]
# What a trigger adds to a message once it may be sent (a birthday's voucher code).
Offer = Callable[[], Awaitable[dict[str, Any]]]


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
    if file["erased_at"] is not None:
        return "no_consent"
    address = file["email"] if channel == "email" else file["phone"]
    consents = [
        consent_rows.consent_of(r) for r in await consent_rows.of_account(conn, file["account_id"])
    ]
    consent = may_send(consents, channel, merchant_id, address)
    if consent is None or address is None:
        return "no_consent"
    limit = await trigger_rows.cap(conn, file["association_id"])
    if limit is not None:
        # The person's file locked until the commit: two replicas (a campaign and a trigger)
        # count and add one at a time, so the cap holds (files are locked in account order).
        await trigger_rows.lock_person(conn, file["account_id"])
        since = clock.now() - timedelta(days=limit["per_days"])
        sent = await trigger_rows.marketing_since(conn, file["account_id"], since, message_id)
        if capped(sent, limit["max_messages"]):
            return "frequency_capped"
    if offer is not None:
        variables = {**variables, **await offer()}
    unsubscribe = links.unsubscribe(consent.id, clock.now())
    return await _request(
        conn,
        file,
        channel,
        "marketing",
        template,
        variables,
        address,
        merchant_id,
        consent.id,
        unsubscribe,
        campaign_id,
        message_id,
    )


async def _request(
    conn: asyncpg.Connection,
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
    await rows.log_message(
        conn,
        message_id,
        file["account_id"],
        channel,
        category,
        template,
        consent_id,
        clock.now(),
        campaign_id,
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
