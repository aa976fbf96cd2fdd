"""crm's daily jobs, one mechanism for all (the retention purge, each trigger): a run per job
and day that happens once whatever the restarts or a second replica, resumes where a crash
left it, and catches up the days missed while the service was stopped.

The day's row (``daily_runs``) is made by the first replica to start it; each batch of the
day's work is one transaction that locks the row, does the work after the row's last account,
writes its events to the outbox and moves the row on. A second replica waits on the lock and
then goes on from there, or finds the day finished: no person is done twice."""

from __future__ import annotations

import bisect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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


# The day's accounts after ``after``, at most ``limit``, in account order: (conn, after, limit).
Read = Callable[[asyncpg.Connection, UUID | None, int], Awaitable[list[UUID]]]


@dataclass
class Ahead:
    """The day's next accounts, read a page at a time and done a batch at a time: one query
    finds the accounts of many batches (a daily trigger's query costs the same for 200 as for
    5,000). Each batch starts after the day's row's ``after``, so what another replica did
    since the page was read is skipped."""

    read: Read
    batch: int
    page: int
    ahead: list[UUID] = field(default_factory=list)
    exhausted: bool = False  # the last page read was the end of the day's accounts

    async def take(self, conn: asyncpg.Connection, after: UUID | None) -> tuple[list[UUID], bool]:
        """The next batch after ``after``, and whether it is the day's last."""
        if after is not None:
            del self.ahead[: bisect.bisect_right(self.ahead, after)]
        if not self.ahead and not self.exhausted:
            self.ahead = await self.read(conn, after, self.page)
            self.exhausted = len(self.ahead) < self.page
        return self.ahead[: self.batch], self.exhausted and len(self.ahead) <= self.batch


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
