"""The back office's campaigns' names in PostgreSQL (every statement of them is here): crm
keeps the campaigns, the portal the name each was given and whose it is."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def name_campaign(
    conn: asyncpg.Connection | asyncpg.Pool,
    campaign_id: UUID,
    association_id: UUID,
    merchant_id: UUID,
    name: str,
    created_by: str,
    at: datetime,
) -> bool:
    """The campaign's name recorded (or changed, by the same merchant's people); False when
    the id is another merchant's (then nothing changes)."""
    done = await conn.fetchval(
        """INSERT INTO manage_campaigns
               (campaign_id, association_id, merchant_id, name, created_by, created_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (campaign_id) DO UPDATE SET name = EXCLUDED.name
               WHERE manage_campaigns.merchant_id = EXCLUDED.merchant_id
           RETURNING true""",
        campaign_id,
        association_id,
        merchant_id,
        name,
        created_by,
        at,
    )
    return bool(done)


async def campaigns(
    conn: asyncpg.Connection | asyncpg.Pool, merchant_id: UUID, limit: int
) -> list[asyncpg.Record]:
    """A merchant's campaigns, the newest first."""
    return list(
        await conn.fetch(
            """SELECT campaign_id, name, created_at FROM manage_campaigns
               WHERE merchant_id = $1 ORDER BY created_at DESC LIMIT $2""",
            merchant_id,
            limit,
        )
    )


async def campaign_name(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: UUID) -> str | None:
    name: str | None = await conn.fetchval(
        "SELECT name FROM manage_campaigns WHERE campaign_id = $1", campaign_id
    )
    return name
