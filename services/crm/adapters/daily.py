"""The daily runs of crm's jobs in PostgreSQL: one row per (job, day), taken by the first
replica that starts the day, locked by each batch of the day's work, finished once."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg


async def days_to_run(
    conn: asyncpg.Connection, job: str, since: date
) -> tuple[date | None, list[date]]:
    """The last day taken for the job, and the days since ``since`` taken but not finished
    (a run a crash cut short)."""
    last: date | None = await conn.fetchval("SELECT max(day) FROM daily_runs WHERE job = $1", job)
    rows = await conn.fetch(
        """SELECT day FROM daily_runs
           WHERE job = $1 AND day >= $2 AND finished_at IS NULL ORDER BY day""",
        job,
        since,
    )
    return last, [r["day"] for r in rows]


async def take_day(conn: asyncpg.Connection, job: str, day: date, at: datetime) -> bool:
    """The day's row, made; False: it was there (taken by another replica or an earlier run)."""
    status: str = await conn.execute(
        "INSERT INTO daily_runs (job, day, done_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        job,
        day,
        at,
    )
    return status.endswith(" 1")


async def lock_day(conn: asyncpg.Connection, job: str, day: date) -> tuple[bool, UUID | None]:
    """The day's row locked until the transaction ends: (finished, the last account done)."""
    row = await conn.fetchrow(
        """SELECT finished_at IS NOT NULL AS finished, after_account FROM daily_runs
           WHERE job = $1 AND day = $2 FOR UPDATE""",
        job,
        day,
    )
    assert row is not None, "the day's row is made before it is locked"
    return row["finished"], row["after_account"]


async def advance(
    conn: asyncpg.Connection,
    job: str,
    day: date,
    after: UUID | None,
    finished_at: datetime | None,
    items: int,
    detail: str | None = None,
) -> None:
    """The batch done: the last account it reached, how many it did, finished or not."""
    await conn.execute(
        """UPDATE daily_runs SET after_account = $3, finished_at = $4, items = items + $5,
                  detail = coalesce($6, detail)
           WHERE job = $1 AND day = $2""",
        job,
        day,
        after,
        finished_at,
        items,
        detail,
    )
