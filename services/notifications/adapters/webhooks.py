"""Webhooks in PostgreSQL: the subscriptions and their secrets, the deliveries (created once
per subscription and occurrence, claimed by the delivery job with ``FOR UPDATE SKIP LOCKED``)
and the log of their attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from pydantic import BaseModel, Field

from shared.db.query import Batch, as_model, as_models, one_or_404

DELIVERIES = Batch(
    "webhook_deliveries",
    [
        ("id", "uuid"),
        ("subscription_id", "uuid"),
        ("occurrence_key", "text"),
        ("event_type", "text"),
        ("body", "text"),
        ("status", "text"),
        ("due_at", "timestamptz"),
        ("round_started_at", "timestamptz"),
        ("created_at", "timestamptz"),
    ],
    "ON CONFLICT (subscription_id, occurrence_key) DO NOTHING",
)


class Subscription(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID | None = Field(description="None: the association's whole network")
    url: str
    event_types: list[str]
    description: str | None
    created_at: datetime
    deleted_at: datetime | None


class Delivery(BaseModel):
    """A delivery as the log shows it (the body is what was signed and sent)."""

    id: UUID
    webhook_id: str = Field(description="the webhook-id header: msg_<id without dashes>")
    subscription_id: UUID
    event_type: str
    status: str = Field(description="pending, delivering, delivered or failed")
    attempts: int
    due_at: datetime | None = Field(description="the next attempt; None once settled")
    last_status: int | None = Field(description="the last answer's HTTP status; None: none")
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None
    body: str


class Attempt(BaseModel):
    attempt: int
    at: datetime
    status: int | None = Field(description="the HTTP status answered; None: no answer")
    error: str | None
    duration_ms: int


class Due(BaseModel):
    """A claimed delivery, as the job sends it."""

    id: UUID
    url: str
    body: str
    round_attempts: int
    round_started_at: datetime
    secrets: list[str]


_SUB = "id, association_id, merchant_id, url, event_types, description, created_at, deleted_at"
_DELIVERY = """id, 'msg_' || replace(id::text, '-', '') AS webhook_id, subscription_id,
               event_type, status, attempts, due_at, last_status, last_error, created_at,
               delivered_at, failed_at, body"""


async def add_subscription(
    conn: asyncpg.Connection, s: Subscription, secret: str, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO webhook_subscriptions
             (id, association_id, merchant_id, url, event_types, description, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        s.id,
        s.association_id,
        s.merchant_id,
        s.url,
        s.event_types,
        s.description,
        at,
    )
    await add_secret(conn, s.id, secret, at)


async def lock_id(conn: asyncpg.Connection, sub_id: UUID) -> None:
    """Hold a subscription's id until the transaction ends: two requests under one new id
    (a form sent twice at once) make one subscription, the second finding the first's."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", str(sub_id))


async def exists(conn: asyncpg.Connection, sub_id: UUID) -> bool:
    """A subscription under this id, deleted ones too."""
    return bool(await conn.fetchval("SELECT true FROM webhook_subscriptions WHERE id = $1", sub_id))


async def first_secret_if_only(conn: asyncpg.Connection, sub_id: UUID) -> str | None:
    """The secret made with the subscription while it is its only one (never rotated)."""
    rows = await conn.fetch(
        "SELECT secret FROM webhook_secrets WHERE subscription_id = $1 LIMIT 2", sub_id
    )
    return str(rows[0]["secret"]) if len(rows) == 1 else None


async def add_secret(conn: asyncpg.Connection, sub_id: UUID, secret: str, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO webhook_secrets (subscription_id, secret, created_at) VALUES ($1, $2, $3)",
        sub_id,
        secret,
        at,
    )


async def end_secrets(conn: asyncpg.Connection, sub_id: UUID, until: datetime) -> None:
    """The secrets in use end at ``until`` (sooner if they were to end sooner)."""
    await conn.execute(
        """UPDATE webhook_secrets SET expires_at = least(coalesce(expires_at, $2), $2)
           WHERE subscription_id = $1""",
        sub_id,
        until,
    )


async def subscription(
    conn: asyncpg.Connection | asyncpg.Pool, sub_id: UUID, *, lock: bool = False
) -> Subscription:
    sql = f"SELECT {_SUB} FROM webhook_subscriptions WHERE id = $1"
    row = await one_or_404(
        conn, "subscription", sub_id, sql + (" FOR UPDATE" if lock else ""), sub_id
    )
    return as_model(Subscription, row)


async def subscriptions(
    conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID, merchant_id: UUID | None
) -> list[Subscription]:
    rows = await conn.fetch(
        f"""SELECT {_SUB} FROM webhook_subscriptions
            WHERE association_id = $1 AND ($2::uuid IS NULL OR merchant_id = $2)
              AND deleted_at IS NULL
            ORDER BY created_at, id""",
        association_id,
        merchant_id,
    )
    return as_models(Subscription, rows)


async def live_of(conn: asyncpg.Connection, association_ids: Sequence[UUID]) -> list[Subscription]:
    rows = await conn.fetch(
        f"""SELECT {_SUB} FROM webhook_subscriptions
            WHERE association_id = ANY($1::uuid[]) AND deleted_at IS NULL""",
        list(set(association_ids)),
    )
    return as_models(Subscription, rows)


async def live_types(pool: asyncpg.Pool) -> list[tuple[UUID, list[str]]]:
    """Each live subscription's network and event types (merchants' included)."""
    rows = await pool.fetch(
        "SELECT association_id, event_types FROM webhook_subscriptions WHERE deleted_at IS NULL"
    )
    return [(r["association_id"], list(r["event_types"])) for r in rows]


async def delete(conn: asyncpg.Connection, sub_id: UUID, at: datetime) -> None:
    """The subscription ends: what it still had to deliver is failed, not sent."""
    await conn.execute(
        "UPDATE webhook_subscriptions SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        sub_id,
        at,
    )
    await conn.execute(
        """UPDATE webhook_deliveries
           SET status = 'failed', failed_at = $2, due_at = NULL, lease_until = NULL,
               last_error = 'subscription deleted'
           WHERE subscription_id = $1 AND status IN ('pending', 'delivering')""",
        sub_id,
        at,
    )


async def add_deliveries(conn: asyncpg.Connection, rows: Sequence[Sequence[Any]]) -> int:
    return await DELIVERIES.execute(conn, rows)


async def claim(conn: asyncpg.Connection, now: datetime, lease: datetime, limit: int) -> list[Due]:
    """What is due (or was claimed by a job that died), held until ``lease``; one short
    transaction, so no two jobs send the same delivery and none holds a lock while sending."""
    rows = await conn.fetch(
        """WITH due AS (
               SELECT id FROM webhook_deliveries
               WHERE status IN ('pending', 'delivering') AND due_at <= $1
                 AND (lease_until IS NULL OR lease_until <= $1)
               ORDER BY due_at LIMIT $3
               FOR UPDATE SKIP LOCKED)
           UPDATE webhook_deliveries d SET status = 'delivering', lease_until = $2
           FROM due, webhook_subscriptions s
           WHERE d.id = due.id AND s.id = d.subscription_id
           RETURNING d.id, s.url, d.body, d.round_attempts, d.round_started_at,
               ARRAY(SELECT k.secret FROM webhook_secrets k
                     WHERE k.subscription_id = d.subscription_id
                       AND (k.expires_at IS NULL OR k.expires_at > $1)
                     ORDER BY k.created_at DESC) AS secrets""",
        now,
        lease,
        limit,
    )
    return as_models(Due, rows)


async def settle(
    conn: asyncpg.Connection,
    delivery_id: UUID,
    at: datetime,
    status: int | None,
    error: str | None,
    duration_ms: int,
    outcome: str,
    due_at: datetime | None,
) -> None:
    """An attempt's answer: logged, and the delivery delivered, due again, or failed."""
    attempt = await conn.fetchval(
        """UPDATE webhook_deliveries
           SET attempts = attempts + 1, round_attempts = round_attempts + 1, status = $5,
               due_at = $6, lease_until = NULL, last_status = $3, last_error = $4,
               delivered_at = CASE WHEN $5 = 'delivered' THEN $2 ELSE delivered_at END,
               failed_at = CASE WHEN $5 = 'failed' THEN $2 ELSE failed_at END
           WHERE id = $1 RETURNING attempts""",
        delivery_id,
        at,
        status,
        error,
        outcome,
        due_at,
    )
    await conn.execute(
        """INSERT INTO webhook_attempts (delivery_id, attempt, at, status, error, duration_ms)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        delivery_id,
        attempt,
        at,
        status,
        error,
        duration_ms,
    )


async def deliveries(
    conn: asyncpg.Connection | asyncpg.Pool, sub_id: UUID, status: str | None, limit: int
) -> list[Delivery]:
    rows = await conn.fetch(
        f"""SELECT {_DELIVERY} FROM webhook_deliveries
            WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2)
            ORDER BY created_at DESC, id LIMIT $3""",
        sub_id,
        status,
        limit,
    )
    return as_models(Delivery, rows)


async def delivery(conn: asyncpg.Connection | asyncpg.Pool, delivery_id: UUID) -> Delivery:
    sql = f"SELECT {_DELIVERY} FROM webhook_deliveries WHERE id = $1"
    return as_model(Delivery, await one_or_404(conn, "delivery", delivery_id, sql, delivery_id))


async def attempts(conn: asyncpg.Connection | asyncpg.Pool, delivery_id: UUID) -> list[Attempt]:
    rows = await conn.fetch(
        """SELECT attempt, at, status, error, duration_ms FROM webhook_attempts
           WHERE delivery_id = $1 ORDER BY attempt""",
        delivery_id,
    )
    return as_models(Attempt, rows)


async def replay(conn: asyncpg.Connection, delivery_id: UUID, now: datetime) -> str | None:
    """A new round for a settled delivery, due now; its status before (None: unknown)."""
    before: str | None = await conn.fetchval(
        "SELECT status FROM webhook_deliveries WHERE id = $1 FOR UPDATE", delivery_id
    )
    if before in ("delivered", "failed"):
        await conn.execute(
            """UPDATE webhook_deliveries
               SET status = 'pending', due_at = $2, round_attempts = 0, round_started_at = $2,
                   failed_at = NULL
               WHERE id = $1""",
            delivery_id,
            now,
        )
    return before
