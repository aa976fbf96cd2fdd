"""The messages' use cases: take over the requests, tell what became of them, take the
operator's delivery reports and the customers' STOP. Each runs in the caller's transaction;
what it publishes goes to the outbox with it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from services.notifications.adapters import messages as store
from services.notifications.domain import hours
from services.notifications.domain.messages import PUBLISHED, dlr_status, is_stop
from shared import clock, outbox
from shared.contracts import MessageRequested, MessageStatusChanged, OptOutReceived
from shared.events import Event, new_event

MAX_LISTED = 1000

requested = Counter(
    "comptoir_messages_requested_total",
    "Messages taken over (a request re-sent is not counted)",
    ["channel"],
)
settled = Counter(
    "comptoir_messages_status_total", "Messages that reached a status", ["channel", "status"]
)


def status_event(row: asyncpg.Record | dict[str, Any], at: datetime) -> Event[MessageStatusChanged]:
    return new_event(
        "notifications",
        MessageStatusChanged(
            message_id=row["message_id"],
            account_id=row["account_id"],
            campaign_id=row["campaign_id"],
            channel=row["channel"],
            status=row["status"],
            reason=row["reason"],
            provider_id=row["provider_id"],
            at=at,
        ),
        subject=f"message/{row['message_id']}",
    )


def first_status(r: MessageRequested, now: datetime) -> tuple[str, datetime]:
    """queued at once or at ``not_before``; a marketing SMS due outside the allowed hours is
    deferred to the next allowed instant."""
    due = max(r.not_before or now, now)
    if r.channel == "sms" and r.category == "marketing":
        allowed = hours.next_allowed(due)
        if allowed > due:
            return "deferred", allowed
    return "queued", due


async def take_over(
    conn: asyncpg.Connection, requests: Iterable[tuple[str, MessageRequested]]
) -> list[Event[Any]]:
    """One message per message id (the first request seen); the MessageStatusChanged of those
    deferred by the hours."""
    now = clock.now()
    first: dict[UUID, tuple[str, MessageRequested]] = {}
    for event_id, r in requests:
        first.setdefault(r.message_id, (event_id, r))
    rows = []
    for event_id, r in sorted(first.values(), key=lambda x: str(x[1].message_id)):
        status, due = first_status(r, now)
        rows.append((event_id, r, status, due))
    new = await store.insert(conn, rows, now)
    events: list[Event[Any]] = []
    for _, r, status, due in rows:
        if r.message_id not in new:
            continue
        requested.labels(r.channel).inc()
        if status == "deferred":
            reason = f"marketing SMS hours: leaves at {due.isoformat()}"
            row = {**r.model_dump(), "status": status, "reason": reason, "provider_id": None}
            events.append(status_event(row, now))
    return events


async def publish_settled(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> None:
    """The statuses the rows reached (a row whose outcome its delivery report overtook
    publishes nothing: the report published it)."""
    now = clock.now()
    rows = [r for r in rows if r["status"] == r["outcome"]]
    events = [status_event(r, now) for r in rows if r["status"] in PUBLISHED]
    for r in rows:
        settled.labels(r["channel"], r["status"]).inc()
    await outbox.write(conn, events)


async def delivery_report(
    conn: asyncpg.Connection, message_id: UUID, kannel_type: int, smsc_id: str | None
) -> str | None:
    """The status a report gave the message (None: an intermediate report, or already
    settled: nothing changes)."""
    status = dlr_status(kannel_type)
    if status is None:
        return None
    now = clock.now()
    row = await store.delivery_report(conn, message_id, status, smsc_id, now)
    if row is None:
        return None
    events = [status_event(row, now)]
    if row["was"] == "sending":  # the report overtook the sender's write: sent, then this
        events.insert(0, status_event({**dict(row), "status": "sent", "reason": None}, now))
    settled.labels(row["channel"], status).inc()
    await outbox.write(conn, events)
    return status


async def inbound_sms(conn: asyncpg.Connection, sender: str, text: str) -> str | None:
    """A customer's SMS: a STOP is published as OptOutReceived (crm withdraws the consents);
    anything else is only logged. The keyword, or None."""
    keyword = is_stop(text)
    if keyword is None:
        return None
    event = new_event(
        "notifications",
        OptOutReceived(channel="sms", address=sender, received_at=clock.now(), keyword=keyword),
        subject=f"sms/{sender}",
    )
    await outbox.write(conn, [event])
    return keyword


async def message(conn: asyncpg.Connection | asyncpg.Pool, message_id: UUID) -> store.MessageState:
    return await store.state(conn, message_id)


async def find(
    conn: asyncpg.Connection | asyncpg.Pool,
    campaign_id: UUID | None,
    account_id: UUID | None,
    recipient: str | None,
) -> list[store.MessageState]:
    return await store.states(conn, campaign_id, account_id, recipient, MAX_LISTED)


async def campaign(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: UUID) -> dict[str, int]:
    return await store.campaign_counts(conn, campaign_id)
