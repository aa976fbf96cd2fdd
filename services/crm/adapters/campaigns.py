"""Campaigns and the segments they go to, in PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.db.query import one_or_404

_COLUMNS = """id, association_id, merchant_id, channel, template, variables::text AS variables,
              segment::text AS segment, segment_id, segment_frozen_at, monthly_day, created_at,
              updated_at, send_at, cancelled_at"""


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
    segment_id: UUID | None,
    monthly_day: int | None,
    at: datetime,
    send_at: datetime | None = None,
) -> dict[str, Any] | None:
    """The campaign made or changed (its scope stays as first made; a one-off campaign once
    sent stays as it was sent, once cancelled as it was cancelled); None: another scope, sent
    or cancelled."""
    row = await conn.fetchrow(
        f"""INSERT INTO campaigns (id, association_id, merchant_id, channel, template, variables,
                                   segment, segment_id, monthly_day, created_at, updated_at,
                                   send_at)
            VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $10, $8, $9, $9, $11)
            ON CONFLICT (id) DO UPDATE SET channel = $4, template = $5,
                   variables = $6::text::jsonb, segment = $7::text::jsonb, segment_id = $10,
                   monthly_day = $8, updated_at = $9, send_at = $11
            WHERE campaigns.association_id = $2 AND campaigns.merchant_id IS NOT DISTINCT FROM $3
              AND campaigns.segment_frozen_at IS NULL AND campaigns.cancelled_at IS NULL
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
        segment_id,
        send_at,
    )
    return None if row is None else _decoded(row)


async def lock(conn: asyncpg.Connection, campaign_id: UUID) -> asyncpg.Record | None:
    """The campaign's row locked until the transaction ends (its sending asked for, cancelled
    or re-timed one at a time): its monthly_day, segment_frozen_at, cancelled_at."""
    return await conn.fetchrow(
        """SELECT monthly_day, segment_frozen_at, cancelled_at FROM campaigns
           WHERE id = $1 FOR UPDATE""",
        campaign_id,
    )


async def retime(
    conn: asyncpg.Connection, campaign_id: UUID, send_at: datetime | None, at: datetime
) -> bool:
    """A one-off campaign not yet asked for nor cancelled, scheduled for ``send_at`` (None:
    back to a draft); False: it was not such a campaign."""
    status: str = await conn.execute(
        """UPDATE campaigns SET send_at = $2, updated_at = $3
           WHERE id = $1 AND monthly_day IS NULL AND segment_frozen_at IS NULL
             AND cancelled_at IS NULL""",
        campaign_id,
        send_at,
        at,
    )
    return status.endswith(" 1")


async def cancel(conn: asyncpg.Connection, campaign_id: UUID, at: datetime) -> bool:
    """A one-off campaign not yet asked for, cancelled (never sent); False: it was not such a
    campaign (asked for already, cancelled already, a newsletter)."""
    status: str = await conn.execute(
        """UPDATE campaigns SET cancelled_at = $2, updated_at = $2
           WHERE id = $1 AND monthly_day IS NULL AND segment_frozen_at IS NULL
             AND cancelled_at IS NULL""",
        campaign_id,
        at,
    )
    return status.endswith(" 1")


async def freeze_due(conn: asyncpg.Connection, at: datetime, limit: int) -> list[asyncpg.Record]:
    """The scheduled campaigns whose instant has passed, their segment recorded (as
    ``freeze``) in this transaction: (id, created_at) of each. A row cancelled, re-timed or
    taken by another replica meanwhile is left out (the update re-reads it once its lock is
    free), so each campaign is taken once."""
    return list(
        await conn.fetch(
            """UPDATE campaigns c
               SET segment = coalesce((SELECT s.filters FROM segments s
                                       WHERE s.id = c.segment_id), c.segment),
                   segment_frozen_at = $1
               WHERE c.id IN (SELECT id FROM campaigns
                              WHERE send_at IS NOT NULL AND segment_frozen_at IS NULL
                                AND cancelled_at IS NULL AND send_at <= $1
                              ORDER BY send_at LIMIT $2)
                 AND c.send_at <= $1 AND c.segment_frozen_at IS NULL AND c.cancelled_at IS NULL
               RETURNING c.id, c.created_at""",
            at,
            limit,
        )
    )


async def freeze(conn: asyncpg.Connection, campaign_id: UUID, at: datetime) -> None:
    """A one-off campaign's segment recorded as it is when its sending is asked for (a saved
    segment's filters copied; an inline segment is its own record): a later edit of the saved
    segment does not change who the campaign goes to. Once only."""
    await conn.execute(
        """UPDATE campaigns c
           SET segment = coalesce((SELECT s.filters FROM segments s WHERE s.id = c.segment_id),
                                  c.segment),
               segment_frozen_at = $2
           WHERE c.id = $1 AND c.monthly_day IS NULL AND c.segment_frozen_at IS NULL""",
        campaign_id,
        at,
    )


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
