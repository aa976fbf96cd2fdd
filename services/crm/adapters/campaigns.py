"""Campaigns and the segments they go to, in PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.crm.domain.segments import Segment
from shared.db.query import one_or_404

_COLUMNS = """id, association_id, merchant_id, channel, template, variables::text AS variables,
              segment::text AS segment, monthly_day, created_at, updated_at"""


def _decoded(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["variables"] = json.loads(out["variables"])
    out["segment"] = json.loads(out["segment"])
    return out


async def save(
    conn: asyncpg.Connection,
    campaign_id: UUID,
    association_id: UUID,
    merchant_id: UUID | None,
    channel: str,
    template: str,
    variables: dict[str, Any],
    segment: dict[str, Any],
    monthly_day: int | None,
    at: datetime,
) -> dict[str, Any] | None:
    """The campaign made or changed (its scope stays as first made); None: another scope."""
    row = await conn.fetchrow(
        f"""INSERT INTO campaigns (id, association_id, merchant_id, channel, template, variables,
                                   segment, monthly_day, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8, $9, $9)
            ON CONFLICT (id) DO UPDATE SET channel = $4, template = $5,
                   variables = $6::text::jsonb, segment = $7::text::jsonb, monthly_day = $8,
                   updated_at = $9
            WHERE campaigns.association_id = $2 AND campaigns.merchant_id IS NOT DISTINCT FROM $3
            RETURNING {_COLUMNS}""",
        campaign_id,
        association_id,
        merchant_id,
        channel,
        template,
        json.dumps(variables),
        json.dumps(segment),
        monthly_day,
        at,
    )
    return None if row is None else _decoded(row)


async def one(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: UUID) -> dict[str, Any]:
    return _decoded(
        await one_or_404(
            conn,
            "campaign",
            campaign_id,
            f"SELECT {_COLUMNS} FROM campaigns WHERE id = $1",
            campaign_id,
        )
    )


async def monthly(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM campaigns WHERE monthly_day IS NOT NULL ORDER BY id"
    )
    return [_decoded(r) for r in rows]


async def statuses(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: UUID) -> dict[str, int]:
    rows = await conn.fetch(
        """SELECT status, count(*) AS n FROM customer_messages WHERE campaign_id = $1
           GROUP BY status ORDER BY status""",
        campaign_id,
    )
    return {r["status"]: r["n"] for r in rows}


# The segment: the scope's customers (at a merchant: its file), the filters on the last visit,
# the spend and the product families bought there, and whether the channel's consent of the
# scope is confirmed for the file's address (counted apart: only they receive).
_LAST = "CASE WHEN $2::uuid IS NULL THEN c.last_visit_at ELSE m.last_visit_at END"
_SPENT = "CASE WHEN $2::uuid IS NULL THEN c.total_spent_cents ELSE m.total_spent_cents END"
_SEGMENT = f"""FROM customers c
    LEFT JOIN merchant_customers m ON m.account_id = c.account_id AND m.merchant_id = $2
    WHERE c.association_id = $1 AND c.erased_at IS NULL
      AND ($2::uuid IS NULL OR m.account_id IS NOT NULL)
      AND ($3::timestamptz IS NULL OR {_LAST} >= $3)
      AND ($4::timestamptz IS NULL OR {_LAST} IS NULL OR {_LAST} < $4)
      AND ($5::bigint IS NULL OR {_SPENT} >= $5)
      AND (cardinality($6::text[]) = 0 OR EXISTS (
            SELECT 1 FROM visits v
            WHERE v.account_id = c.account_id AND v.cancelled_at IS NULL
              AND ($2::uuid IS NULL OR v.merchant_id = $2) AND v.product_family = ANY($6)))"""
_CONSENTING = """EXISTS (
    SELECT 1 FROM consents k
    WHERE k.account_id = c.account_id AND k.channel = $7 AND k.status = 'confirmed'
      AND k.merchant_id IS NOT DISTINCT FROM $2
      AND k.address = CASE WHEN $7 = 'email' THEN c.email ELSE c.phone END)"""


def _args(s: Segment) -> list[Any]:
    return [
        s.association_id,
        s.merchant_id,
        s.seen_since,
        s.not_seen_since,
        s.min_spent_cents,
        list(s.product_families),
        s.channel,
    ]


async def size(conn: asyncpg.Connection | asyncpg.Pool, s: Segment) -> tuple[int, int]:
    """The segment's customers, and how many of them consented to the channel (will receive)."""
    row = await conn.fetchrow(
        f"SELECT count(*) AS size, count(*) FILTER (WHERE {_CONSENTING}) AS consenting " + _SEGMENT,
        *_args(s),
    )
    assert row is not None
    return row["size"], row["consenting"]


async def consenting(
    conn: asyncpg.Connection, s: Segment, after: UUID | None, limit: int
) -> list[UUID]:
    """A page of the segment's consenting customers, by account."""
    rows = await conn.fetch(
        f"""SELECT c.account_id {_SEGMENT} AND {_CONSENTING}
              AND ($8::uuid IS NULL OR c.account_id > $8)
            ORDER BY c.account_id LIMIT $9""",
        *_args(s),
        after,
        limit,
    )
    return [r["account_id"] for r in rows]


# A one-off campaign's sending is its day's row of ``daily_runs`` (job ``campaign:<id>``,
# domain/segments.py): made when the sending is asked for, finished with its last batch.
_RUN = "daily_runs r WHERE r.job = 'campaign:' || c.id::text"


async def sends_asked(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    """The one-off campaigns whose sending was asked for and is not finished (just asked, cut
    by a crash, or in another replica's hands), oldest asked first."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM campaigns c
            JOIN LATERAL (SELECT r.done_at FROM {_RUN} AND r.finished_at IS NULL) r ON true
            WHERE c.monthly_day IS NULL ORDER BY r.done_at, c.id"""
    )
    return [_decoded(r) for r in rows]


async def sending(
    conn: asyncpg.Connection | asyncpg.Pool, campaign_id: UUID
) -> asyncpg.Record | None:
    """A one-off campaign's sending: (asked_at, finished_at, items), None if never asked."""
    return await conn.fetchrow(
        f"""SELECT r.done_at AS asked_at, r.finished_at, r.items
            FROM campaigns c, {_RUN} AND c.id = $1 ORDER BY r.day DESC LIMIT 1""",
        campaign_id,
    )
