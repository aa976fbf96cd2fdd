"""The SQL of programs and promotions. Upserts answer the row with ``created`` (``xmax = 0``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from services.cards.adapters.catalogue import association
from shared.http import Problem

# --- programs ----------------------------------------------------------------------------------


async def program(
    conn: asyncpg.Connection, aid: UUID, pid: UUID, lock: bool = False
) -> asyncpg.Record:
    """The association's program, or a 404 naming the association or the program."""
    sql = "SELECT * FROM programs WHERE id = $1 AND association_id = $2" + (
        " FOR UPDATE" if lock else ""
    )
    row: asyncpg.Record | None = await conn.fetchrow(sql, pid, aid)
    if row is None:
        await association(conn, aid)
        raise Problem(404, "Unknown program", f"no program {pid} in association {aid}")
    return row


async def lock_program(conn: asyncpg.Connection, pid: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM programs WHERE id = $1 FOR UPDATE", pid
    )
    return row


async def program_owner(conn: asyncpg.Connection, pid: UUID) -> asyncpg.Record | None:
    """The program's association and status, if it exists."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT association_id, status FROM programs WHERE id = $1", pid
    )
    return row


async def upsert_program(
    conn: asyncpg.Connection,
    pid: UUID,
    aid: UUID,
    *,
    name: str,
    kind: str,
    families: list[str] | None,
    valid_from: datetime | None,
    valid_until: datetime | None,
    points_per_euro: int,
    units_per_reward: int,
    reward_cents: int,
    visit_threshold: int,
    visit_threshold_max_days: int | None,
) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """INSERT INTO programs (id, association_id, name, kind, families, valid_from,
               valid_until, points_per_euro, units_per_reward, reward_cents,
               visit_threshold, visit_threshold_max_days)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (id) DO UPDATE SET name = excluded.name,
               families = excluded.families, valid_from = excluded.valid_from,
               valid_until = excluded.valid_until, points_per_euro = excluded.points_per_euro,
               units_per_reward = excluded.units_per_reward,
               reward_cents = excluded.reward_cents,
               visit_threshold = excluded.visit_threshold,
               visit_threshold_max_days = excluded.visit_threshold_max_days
           RETURNING *, xmax = 0 AS created""",
        pid,
        aid,
        name,
        kind,
        families,
        valid_from,
        valid_until,
        points_per_euro,
        units_per_reward,
        reward_cents,
        visit_threshold,
        visit_threshold_max_days,
    )
    return row


async def programs_of(conn: asyncpg.Connection, aid: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT * FROM programs WHERE association_id = $1 ORDER BY created_at, id", aid
    )
    return rows


async def set_program_status(conn: asyncpg.Connection, pid: UUID, status: str) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "UPDATE programs SET status = $2 WHERE id = $1 RETURNING *", pid, status
    )
    return row


# --- promotions --------------------------------------------------------------------------------


async def lock_promotion(conn: asyncpg.Connection, prid: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM promotions WHERE id = $1 FOR UPDATE", prid
    )
    return row


async def upsert_promotion(
    conn: asyncpg.Connection,
    prid: UUID,
    aid: UUID,
    *,
    merchant_id: UUID | None,
    name: str,
    families: list[str] | None,
    starts_at: datetime,
    ends_at: datetime,
    taux_client_bps: int | None,
    multiplier: tuple[int, int] | None,
) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """INSERT INTO promotions (id, association_id, merchant_id, name, families,
               starts_at, ends_at, taux_client_bps, multiplier_numerator,
               multiplier_denominator)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (id) DO UPDATE SET merchant_id = excluded.merchant_id,
               name = excluded.name, families = excluded.families,
               starts_at = excluded.starts_at, ends_at = excluded.ends_at,
               taux_client_bps = excluded.taux_client_bps,
               multiplier_numerator = excluded.multiplier_numerator,
               multiplier_denominator = excluded.multiplier_denominator
           RETURNING *, xmax = 0 AS created""",
        prid,
        aid,
        merchant_id,
        name,
        families,
        starts_at,
        ends_at,
        taux_client_bps,
        multiplier[0] if multiplier else None,
        multiplier[1] if multiplier else None,
    )
    return row


async def promotions_of(
    conn: asyncpg.Connection, aid: UUID, live_at: datetime | None
) -> list[asyncpg.Record]:
    """All of them; with ``live_at``, those live then and not withdrawn."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT * FROM promotions WHERE association_id = $1
             AND ($2::timestamptz IS NULL
                  OR (withdrawn_at IS NULL AND starts_at <= $2 AND $2 < ends_at))
           ORDER BY starts_at, id""",
        aid,
        live_at,
    )
    return rows


async def withdraw_promotion(
    conn: asyncpg.Connection, prid: UUID, aid: UUID, at: datetime
) -> asyncpg.Record | None:
    """Withdrawn at ``at``, or kept withdrawn when it already was."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """UPDATE promotions SET withdrawn_at = coalesce(withdrawn_at, $3)
           WHERE id = $1 AND association_id = $2 RETURNING *""",
        prid,
        aid,
        at,
    )
    return row
