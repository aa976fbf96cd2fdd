"""Webhooks' use cases: subscribe, list, unsubscribe, rotate a secret, read the delivery log,
replay a delivery; and the intake, which turns the events the webhooks' queue takes into one
delivery per (subscription, occurrence)."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel, Field

from services.notifications.adapters import webhooks as store
from services.notifications.adapters.webhooks import Attempt, Delivery, Subscription
from services.notifications.domain import webhooks as rules
from shared import clock
from shared.http import In, Problem

PROBLEMS = "https://comptoir.dev/problems/"


class NewSubscription(In):
    association_id: UUID
    merchant_id: UUID | None = Field(
        default=None, description="a merchant's subscription; None: the association's"
    )
    url: str = Field(min_length=8, max_length=2000, description="https:// (docs/webhooks.md)")
    event_types: list[str] = Field(min_length=1, max_length=len(rules.EVENT_TYPES))
    description: str | None = Field(default=None, max_length=200)


class Subscribed(Subscription):
    secret: str = Field(description="whsec_…: shown once, at creation and at each rotation")


class Rotated(BaseModel):
    secret: str = Field(description="the new secret (whsec_…)")
    previous_valid_until: datetime = Field(description="until then, signed under both")


class DeliveryLog(Delivery):
    attempts_log: list[Attempt]


def _refused(status: int, title: str, detail: str, reason: str) -> Problem:
    return Problem(status, title, detail, PROBLEMS + reason.replace("_", "-"), reason=reason)


def _check(new: NewSubscription, development: bool) -> None:
    unknown = sorted(set(new.event_types) - set(rules.EVENT_TYPES))
    if unknown:
        known = ", ".join(rules.EVENT_TYPES)
        raise _refused(
            422, "Unknown event type", f"{unknown}: the types are {known}", "unknown_event_type"
        )
    if len(set(new.event_types)) != len(new.event_types):
        raise _refused(422, "Event type twice", "each event type once", "duplicate_event_type")
    reason = rules.url_refusal(new.url, development)
    if reason is not None:
        details = {
            "not_https": "a webhook URL is https://",
            "private_address": "a webhook URL points at a public host",
            "bad_url": "not a URL a webhook may use (no user, no fragment)",
        }
        raise _refused(422, "URL refused", details[reason], reason)


class SubscribedById(Subscription):
    secret: str | None = Field(
        description="whsec_…: at creation, and again to the same request under the same id "
        "while that secret is the subscription's only one; None once it was rotated"
    )


async def subscribe(
    conn: asyncpg.Connection,
    new: NewSubscription,
    development: bool,
    sub_id: UUID | None = None,
) -> Subscribed:
    """A new subscription, under ``sub_id`` if given (else a new id)."""
    _check(new, development)
    now = clock.now()
    sub = Subscription(
        id=uuid.uuid4() if sub_id is None else sub_id,
        association_id=new.association_id,
        merchant_id=new.merchant_id,
        url=new.url,
        event_types=new.event_types,
        description=new.description,
        created_at=now,
        deleted_at=None,
    )
    secret = rules.new_secret(secrets.token_bytes(rules.SECRET_BYTES))
    await store.add_subscription(conn, sub, secret, now)
    return Subscribed(**sub.model_dump(), secret=secret)


def _same(sub: Subscription, new: NewSubscription) -> bool:
    """The request that made ``sub`` (the event types in any order)."""
    return (
        sub.association_id == new.association_id
        and sub.merchant_id == new.merchant_id
        and sub.url == new.url
        and sorted(sub.event_types) == sorted(new.event_types)
        and sub.description == new.description
    )


async def subscribe_as(
    conn: asyncpg.Connection, sub_id: UUID, new: NewSubscription, development: bool
) -> tuple[SubscribedById, bool]:
    """The subscription under the client's id, and whether it was made now. The same request
    again (a form sent twice, a retry after a lost answer) answers the same subscription, with
    its secret while no rotation replaced it; another request under the id is refused (409
    ``subscription_id_taken``), and so is the id of a deleted subscription (409 ``deleted``)."""
    await store.lock_id(conn, sub_id)
    if await store.exists(conn, sub_id):
        sub = await store.subscription(conn, sub_id, lock=True)
        if not _same(sub, new):
            raise _refused(
                409,
                "Subscription id taken",
                f"{sub_id} names a subscription made with another request: choose a new id",
                "subscription_id_taken",
            )
        if sub.deleted_at is not None:
            raise _refused(409, "Subscription deleted", f"{sub_id} was deleted", "deleted")
        secret = await store.first_secret_if_only(conn, sub_id)
        return SubscribedById(**sub.model_dump(), secret=secret), False
    made = await subscribe(conn, new, development, sub_id)
    return SubscribedById(**made.model_dump()), True


async def rotate(conn: asyncpg.Connection, sub_id: UUID, keep: timedelta) -> Rotated:
    """A new secret; the ones in use still sign for ``keep`` (the receiver's switch-over)."""
    await _live(conn, sub_id)
    now = clock.now()
    await store.end_secrets(conn, sub_id, now + keep)
    secret = rules.new_secret(secrets.token_bytes(rules.SECRET_BYTES))
    await store.add_secret(conn, sub_id, secret, now)
    return Rotated(secret=secret, previous_valid_until=now + keep)


async def _live(conn: asyncpg.Connection, sub_id: UUID) -> Subscription:
    sub = await store.subscription(conn, sub_id, lock=True)
    if sub.deleted_at is not None:
        raise _refused(409, "Subscription deleted", f"{sub_id} was deleted", "deleted")
    return sub


async def unsubscribe(conn: asyncpg.Connection, sub_id: UUID) -> Subscription:
    await _live(conn, sub_id)
    await store.delete(conn, sub_id, clock.now())
    return await store.subscription(conn, sub_id)


async def replay(conn: asyncpg.Connection, delivery_id: UUID) -> DeliveryLog:
    """The delivery again, as it was (same webhook-id and body, signed anew), for a new
    round of attempts: one delivered or failed. One still on its way is left as it is."""
    found = await store.delivery(conn, delivery_id)
    await _live(conn, found.subscription_id)
    before = await store.replay(conn, delivery_id, clock.now())
    if before not in ("delivered", "failed"):
        raise _refused(
            409, "Delivery on its way", f"{delivery_id} is {before}: wait for it", "not_settled"
        )
    return await log(conn, delivery_id)


async def log(conn: asyncpg.Connection | asyncpg.Pool, delivery_id: UUID) -> DeliveryLog:
    found = await store.delivery(conn, delivery_id)
    return DeliveryLog(**found.model_dump(), attempts_log=await store.attempts(conn, delivery_id))


async def intake(conn: asyncpg.Connection, occurrences: Iterable[rules.Occurrence]) -> int:
    """One delivery per live subscription that wants each occurrence, due now; a key seen
    before (a redelivered event) adds none. The number added."""
    found = list(occurrences)
    if not found:
        return 0
    subs = await store.live_of(conn, [o.association_id for o in found])
    return await _deliveries(conn, subs, found)


async def intake_of(
    conn: asyncpg.Connection,
    association_ids: Iterable[UUID],
    occurrences: Callable[[], Iterable[rules.Occurrence]],
) -> int:
    """``intake`` of the occurrences of events of ``association_ids``, built only when one of
    them has a live subscription: a booked sale's occurrences (a dict per transaction) cost
    more than the lookup, and most networks subscribe to nothing (the sync storm's CPU,
    issue 12 item 4)."""
    subs = await store.live_of(conn, list(set(association_ids)))
    if not subs:
        return 0
    return await _deliveries(conn, subs, list(occurrences()))


async def _deliveries(
    conn: asyncpg.Connection, subs: list[Subscription], found: list[rules.Occurrence]
) -> int:
    now = clock.now()
    rows: list[list[Any]] = []
    for o in found:
        for s in subs:
            if rules.wanted(s.association_id, s.merchant_id, s.event_types, o):
                rows.append([uuid.uuid4(), s.id, o.key, o.type, _body(o), "pending", now, now, now])
    return await store.add_deliveries(conn, rows) if rows else 0


def _body(o: rules.Occurrence) -> str:
    """Standard Webhooks' payload: type, timestamp, data."""
    return json.dumps(
        {"type": o.type, "timestamp": o.at.isoformat(), "data": o.data},
        separators=(",", ":"),
        ensure_ascii=False,
    )


async def subscriptions_of(
    pool: asyncpg.Pool, association_id: UUID, merchant_id: UUID | None
) -> list[Subscription]:
    return await store.subscriptions(pool, association_id, merchant_id)


async def subscription(pool: asyncpg.Pool, sub_id: UUID) -> Subscription:
    return await store.subscription(pool, sub_id)


async def deliveries(
    pool: asyncpg.Pool, sub_id: UUID, status: str | None, limit: int
) -> list[Delivery]:
    await store.subscription(pool, sub_id)  # 404 for an unknown one
    return await store.deliveries(pool, sub_id, status, limit)
