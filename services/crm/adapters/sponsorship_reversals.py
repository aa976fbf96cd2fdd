"""Sponsorship rewards taken back in PostgreSQL (F22, F16): the rewards won by a sale now
cancelled (or returned whole), and their reversals, each once (``sponsorship_reward_reversals``,
migration 0013)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def record_returns(
    conn: asyncpg.Connection, returns: list[tuple[UUID, UUID, int, datetime]]
) -> None:
    """Returns of goods (return id, sale, cents, when), each once whatever the redelivery. The
    sales' visits are locked first, in one order: two returns of one sale taken at once (two
    replicas) wait for each other, so the second sees the first's amount in the sum."""
    await conn.execute(
        """SELECT 1 FROM visits WHERE sale_id = ANY($1::uuid[]) ORDER BY sale_id FOR UPDATE""",
        sorted({r[1] for r in returns}),
    )
    await conn.execute(
        """INSERT INTO sponsorship_sale_returns (return_id, sale_id, amount_cents, occurred_at)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::timestamptz[])
           ON CONFLICT DO NOTHING""",
        *([r[i] for r in returns] for i in range(4)),
    )


async def rewards_to_take_back(
    conn: asyncpg.Connection, undone: list[tuple[UUID, str]]
) -> list[asyncpg.Record]:
    """The rewards (not yet taken back) won by sales now undone: ``undone`` holds each sale's
    id (once) and ``cancelled`` or ``returned``; returns take them back only once they add up
    to the whole sale (its visit's amount). In the order of the newcomers (the lock order)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT r.*, u.reason FROM sponsorship_rewards r
           JOIN unnest($1::uuid[], $2::text[]) AS u (sale_id, reason) ON r.sale_id = u.sale_id
           LEFT JOIN visits v ON v.sale_id = u.sale_id
           WHERE (u.reason = 'cancelled'
                  OR (SELECT sum(s.amount_cents) FROM sponsorship_sale_returns s
                      WHERE s.sale_id = u.sale_id) >= v.amount_cents)
             AND NOT EXISTS (SELECT 1 FROM sponsorship_reward_reversals x
                             WHERE x.reward_id = r.id)
           ORDER BY r.newcomer_id, r.role""",
        [u[0] for u in undone],
        [u[1] for u in undone],
    )
    return rows


async def lock_sponsorships(conn: asyncpg.Connection, newcomer_ids: list[UUID]) -> None:
    await conn.execute(
        """SELECT 1 FROM sponsorships WHERE newcomer_id = ANY($1::uuid[])
           ORDER BY newcomer_id FOR UPDATE""",
        newcomer_ids,
    )


async def insert_reversals(
    conn: asyncpg.Connection, reversals: list[tuple[UUID, UUID, UUID, UUID, str, datetime]]
) -> list[UUID]:
    """(reversal id, reward id, newcomer, sale, reason, when) each once; the ids written now."""
    rows = await conn.fetch(
        """INSERT INTO sponsorship_reward_reversals (id, reward_id, newcomer_id, sale_id, reason,
               status, occurred_at)
           SELECT x.id, x.reward_id, x.newcomer_id, x.sale_id, x.reason, 'asked', x.at
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[],
                       $6::timestamptz[]) AS x (id, reward_id, newcomer_id, sale_id, reason, at)
           ON CONFLICT DO NOTHING RETURNING id""",
        *([x[i] for x in reversals] for i in range(6)),
    )
    return [r["id"] for r in rows]


async def reversals_refused(
    conn: asyncpg.Connection, refused: list[tuple[UUID, str]], at: datetime
) -> list[UUID]:
    """cards refused these reversals (the account no longer held the reward); the newcomers
    of those answered now."""
    rows = await conn.fetch(
        """UPDATE sponsorship_reward_reversals x SET status = 'refused', detail = f.detail,
                  refused_at = $3
           FROM unnest($1::uuid[], $2::text[]) AS f (id, detail)
           WHERE x.id = f.id AND x.status = 'asked' RETURNING x.newcomer_id""",
        [r[0] for r in refused],
        [r[1] for r in refused],
        at,
    )
    return [r["newcomer_id"] for r in rows]


async def reversals_done(conn: asyncpg.Connection, ids: list[UUID], at: datetime) -> list[UUID]:
    """cards took these rewards back (or there was nothing to take: a reward capped at 0); the
    newcomers of those answered now."""
    rows = await conn.fetch(
        """UPDATE sponsorship_reward_reversals SET status = 'done', done_at = $2
           WHERE id = ANY($1::uuid[]) AND status = 'asked' RETURNING newcomer_id""",
        ids,
        at,
    )
    return [r["newcomer_id"] for r in rows]


async def pending(conn: asyncpg.Connection, newcomer_ids: list[UUID]) -> set[UUID]:
    """The newcomers with a reversal cards has not answered yet."""
    rows = await conn.fetch(
        """SELECT DISTINCT newcomer_id FROM sponsorship_reward_reversals
           WHERE newcomer_id = ANY($1::uuid[]) AND status = 'asked'""",
        newcomer_ids,
    )
    return {r["newcomer_id"] for r in rows}
