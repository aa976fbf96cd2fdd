"""crm's daily jobs, one mechanism for all (the retention purge, each trigger): a run per job
and day that happens once whatever the restarts or a second replica, resumes where a crash
left it, and catches up the days missed while the service was stopped.

The day's row (``daily_runs``) is made by the first replica to start it; each batch of the
day's work is one transaction that locks the row, does the work after the row's last account,
writes its events to the outbox and moves the row on. A second replica waits on the lock and
then goes on from there, or finds the day finished: no person is done twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

import asyncpg

from services.crm.adapters import daily as rows
from shared import clock

# After a long stop, the days caught up go back no further than this.
CATCH_UP_DAYS = 31


@dataclass(frozen=True, slots=True)
class Batch:
    """What one step did: how many items, the last account reached (the next step starts
    after it), and whether the day's work is done."""

    items: int
    last: UUID | None
    finished: bool
    detail: str | None = None


# One batch of a day's work, in the transaction that holds the day's row: (conn, day, after).
Step = Callable[[asyncpg.Connection, date, UUID | None], Awaitable[Batch]]


async def run_day(pool: asyncpg.Pool, job: str, day: date, step: Step) -> int | None:
    """The day's work, batch after batch; the number of items this call did, or None when
    the day was finished before it took a batch (another replica, an earlier start)."""
    async with pool.acquire() as conn:
        await rows.take_day(conn, job, day, clock.now())
    done: int | None = None
    while True:
        async with pool.acquire() as conn, conn.transaction():
            finished, after = await rows.lock_day(conn, job, day)
            if finished:
                return done
            batch = await step(conn, day, after)
            done = (done or 0) + batch.items
            await rows.advance(
                conn,
                job,
                day,
                batch.last or after,
                clock.now() if batch.finished else None,
                batch.items,
                batch.detail,
            )
        if batch.finished:
            return done


async def days_due(pool: asyncpg.Pool, job: str, today: date) -> list[date]:
    """The days to run: those after the last one taken up to ``today`` (a missed day is caught
    up, up to CATCH_UP_DAYS back), and those taken but not finished (a crash); the first run
    of a job is today's."""
    since = today - timedelta(days=CATCH_UP_DAYS)
    async with pool.acquire() as conn:
        last, unfinished = await rows.days_to_run(conn, job, since)
    first = today if last is None else max(last + timedelta(days=1), since)
    days = set(unfinished)
    day = first
    while day <= today:
        days.add(day)
        day += timedelta(days=1)
    return sorted(days)


async def run_due(pool: asyncpg.Pool, job: str, today: date, step: Step) -> dict[date, int | None]:
    """Every day due for the job, each once, in order."""
    return {day: await run_day(pool, job, day, step) for day in await days_due(pool, job, today)}
