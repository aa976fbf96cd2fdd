"""The message store in PostgreSQL: requested messages, their claims by the sending job, their
statuses; the merchants' contacts kept from cards' events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from shared.contracts import MessageRequested
from shared.db.query import Batch, as_models, one_or_404

# Inserted at take-over: a message id already stored (a request re-sent under a new event id)
# keeps its first row.
MESSAGES = Batch(
    "messages",
    [
        ("message_id", "uuid"),
        ("event_id", "uuid"),
        ("channel", "text"),
        ("category", "text"),
        ("recipient", "text"),
        ("language", "text"),
        ("template", "text"),
        ("variables", "jsonb"),
        ("association_id", "uuid"),
        ("merchant_id", "uuid"),
        ("account_id", "uuid"),
        ("campaign_id", "uuid"),
        ("consent_id", "uuid"),
        ("unsubscribe_url", "text"),
        ("attachments", "jsonb"),
        ("status", "text"),
        ("due_at", "timestamptz"),
        ("requested_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ],
    "ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
)


class StoredMessage(BaseModel):
    """A message as the sending job takes it."""

    message_id: UUID
    channel: str
    category: str
    recipient: str
    language: str
    template: str
    variables: dict[str, Any]
    association_id: UUID
    merchant_id: UUID | None
    account_id: UUID | None
    campaign_id: UUID | None
    unsubscribe_url: str | None
    attachments: list[dict[str, Any]]
    attempts: int


class MessageState(BaseModel):
    """Where a message stands (the API's answer)."""

    message_id: UUID
    channel: str
    category: str
    recipient: str
    template: str
    account_id: UUID | None
    campaign_id: UUID | None
    merchant_id: UUID | None
    status: str
    attempts: int
    provider_id: str | None
    reason: str | None
    segments: int | None
    due_at: datetime | None
    requested_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


_STATE = ", ".join(MessageState.model_fields)
_STORED = ", ".join(StoredMessage.model_fields)


async def insert(
    conn: asyncpg.Connection,
    requests: Sequence[tuple[str, MessageRequested, str, datetime]],
    now: datetime,
) -> set[UUID]:
    """(event id, request, first status, due at) each; the ids of the messages inserted."""
    rows = [
        (
            r.message_id,
            event_id,
            r.channel,
            r.category,
            r.to,
            r.language,
            r.template,
            json.dumps(r.variables),
            r.association_id,
            r.merchant_id,
            r.account_id,
            r.campaign_id,
            r.consent_id,
            r.unsubscribe_url,
            json.dumps([a.model_dump() for a in r.attachments]),
            status,
            due_at,
            now,
            now,
        )
        for event_id, r, status, due_at in requests
    ]
    return {row["message_id"] for row in await MESSAGES.fetch(conn, rows)}


async def claim(
    conn: asyncpg.Connection, channel: str, now: datetime, lease_until: datetime, limit: int
) -> list[StoredMessage]:
    """The messages due on ``channel`` (and those whose sender's claim ran out), claimed until
    ``lease_until``: SKIP LOCKED lets two replicas claim at once without taking the same one."""
    rows = await conn.fetch(
        f"""WITH due AS (
                SELECT message_id FROM messages
                WHERE channel = $1 AND (
                    (status IN ('queued', 'deferred') AND due_at <= $2)
                    OR (status = 'sending' AND lease_until <= $2))
                ORDER BY due_at NULLS FIRST
                LIMIT $4 FOR UPDATE SKIP LOCKED)
            UPDATE messages m SET status = 'sending', lease_until = $3,
                   attempts = m.attempts + 1, updated_at = $2
            FROM due WHERE m.message_id = due.message_id
            RETURNING {", ".join("m." + f for f in StoredMessage.model_fields)}""",
        channel,
        now,
        lease_until,
        limit,
    )
    return [
        StoredMessage.model_validate(
            {
                **dict(r),
                "variables": json.loads(r["variables"]),
                "attachments": json.loads(r["attachments"]),
            }
        )
        for r in rows
    ]


async def settle(
    conn: asyncpg.Connection,
    outcomes: Sequence[tuple[UUID, str, datetime | None, str | None, str | None, int | None]],
    now: datetime,
) -> list[asyncpg.Record]:
    """(message id, status, due at, provider id, reason, segments) of claimed messages; the
    rows changed (a message no longer ``sending`` — taken by another after its lease ran out —
    is left as it is)."""
    if not outcomes:
        return []
    ids, statuses, dues, providers, reasons, segments = map(list, zip(*outcomes, strict=True))
    # A delivery report may come before the sender wrote the provider's answer (the fake
    # operator reports within milliseconds): the message is then delivered already, keeps
    # that status and gets its sent_at, provider id and segments; ``outcome`` tells the caller
    # which rows changed status.
    rows: list[asyncpg.Record] = await conn.fetch(
        """UPDATE messages m
           SET status = CASE WHEN m.status = 'sending' THEN o.status ELSE m.status END,
               due_at = CASE WHEN m.status = 'sending' THEN o.due_at ELSE m.due_at END,
               lease_until = NULL,
               provider_id = COALESCE(m.provider_id, o.provider_id),
               reason = CASE WHEN m.status = 'sending' THEN o.reason ELSE m.reason END,
               segments = COALESCE(o.segments, m.segments),
               sent_at = CASE WHEN o.status = 'sent' THEN $7 ELSE m.sent_at END,
               updated_at = $7
           FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[],
                       $6::int[]) AS o(message_id, status, due_at, provider_id, reason, segments)
           WHERE m.message_id = o.message_id
             AND (m.status = 'sending' OR (m.status = 'delivered' AND o.status = 'sent'))
           RETURNING m.message_id, m.account_id, m.campaign_id, m.channel, m.status,
                     m.reason, m.provider_id, o.status AS outcome""",
        ids,
        statuses,
        dues,
        providers,
        reasons,
        segments,
        now,
    )
    return rows


async def delivery_report(
    conn: asyncpg.Connection, message_id: UUID, status: str, provider_id: str | None, now: datetime
) -> asyncpg.Record | None:
    """A delivery report: a sent message (or one still being settled by its sender) becomes
    delivered or failed, once: a report repeated finds it settled and changes nothing."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """WITH old AS (SELECT message_id, status FROM messages
                        WHERE message_id = $1 AND status IN ('sending', 'sent') FOR UPDATE)
           UPDATE messages m SET status = $2::text, provider_id = COALESCE($3::text, m.provider_id),
                  delivered_at = CASE WHEN $2::text = 'delivered' THEN $4::timestamptz END,
                  reason = CASE WHEN $2::text = 'failed'
                                THEN 'the operator reported it undelivered' ELSE m.reason END,
                  sent_at = COALESCE(m.sent_at, $4::timestamptz), lease_until = NULL,
                  updated_at = $4::timestamptz
           FROM old WHERE m.message_id = old.message_id
           RETURNING m.message_id, m.account_id, m.campaign_id, m.channel, m.status,
                     m.reason, m.provider_id, old.status AS was""",
        message_id,
        status,
        provider_id or None,
        now,
    )
    return row


async def state(conn: asyncpg.Connection | asyncpg.Pool, message_id: UUID) -> MessageState:
    row = await one_or_404(
        conn,
        "message",
        message_id,
        f"SELECT {_STATE} FROM messages WHERE message_id = $1",
        message_id,
    )
    return MessageState.model_validate(dict(row))


async def states(
    conn: asyncpg.Connection | asyncpg.Pool,
    campaign_id: UUID | None,
    account_id: UUID | None,
    recipient: str | None,
    limit: int,
) -> list[MessageState]:
    rows = await conn.fetch(
        f"""SELECT {_STATE} FROM messages
            WHERE ($1::uuid IS NULL OR campaign_id = $1) AND ($2::uuid IS NULL OR account_id = $2)
              AND ($3::text IS NULL OR recipient = $3)
            ORDER BY requested_at DESC, message_id LIMIT $4""",
        campaign_id,
        account_id,
        recipient,
        limit,
    )
    return as_models(MessageState, rows)


async def campaign_counts(
    conn: asyncpg.Connection | asyncpg.Pool, campaign_id: UUID
) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT status, count(*) AS n FROM messages WHERE campaign_id = $1 GROUP BY status",
        campaign_id,
    )
    return {r["status"]: r["n"] for r in rows}


async def save_merchant_contacts(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """(merchant id, association id, name, e-mail, language, at): the latest wins."""
    await conn.executemany(
        """INSERT INTO merchant_contacts (merchant_id, association_id, name, email, language, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (merchant_id) DO UPDATE SET association_id = $2, name = $3,
               email = COALESCE($4, merchant_contacts.email), language = $5, updated_at = $6""",
        rows,
    )


async def merchant_email(conn: asyncpg.Connection, merchant_id: UUID) -> tuple[str | None, str]:
    row = await conn.fetchrow(
        "SELECT email, language FROM merchant_contacts WHERE merchant_id = $1", merchant_id
    )
    return (None, "fr") if row is None else (row["email"], row["language"])
