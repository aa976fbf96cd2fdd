"""Enrolments in the statistics (services/crm/service/statistics.enrolled, docs/statistics.md):
counted once across the retirement of the statistics' own queue (the events crm.statistics
counted already, their ids in crm.statistics_inbox, kept, are not counted again when
crm.events' copy comes); and counted without a lock that another batch of crm.events waits for
(migration 0020: the roll-up adds them to the sums)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import asyncpg

from services.crm.service import statistics
from shared.db import create_pool as db_pool
from tests import harness

AT = datetime(2031, 6, 2, 10, 0, tzinfo=UTC)
DAY = date(2031, 6, 2)
# A batch's enrolments as written, before the roll-up: per scope, summed.
LEFT = """SELECT scope_id, sum(enrolments)::bigint AS n FROM crm.statistics_enrolments_uncounted
          WHERE scope_id = ANY($1::uuid[]) AND day = $2 GROUP BY scope_id"""
SUMS = """SELECT scope_id, enrolments AS n FROM crm.statistics_enrolments
          WHERE scope_id = ANY($1::uuid[]) AND day = $2"""


async def test_an_enrolment_the_former_queue_counted_is_not_counted_again(
    services: harness.Services, db: asyncpg.Connection
) -> None:
    association, merchant = uuid.uuid4(), uuid.uuid4()
    counted, new = str(uuid.uuid4()), str(uuid.uuid4())
    rolled_back = db.transaction()
    await rolled_back.start()
    try:
        await db.execute("SET LOCAL search_path = crm, public")
        await db.execute(
            "INSERT INTO statistics_inbox (event_id, type) VALUES ($1, 'account.opened')",
            counted,
        )
        await statistics.enrolled(
            db, [(counted, association, merchant, AT), (new, association, merchant, AT)]
        )
        rows = await db.fetch(LEFT, [association, merchant], DAY)
    finally:
        await rolled_back.rollback()
    assert {r["scope_id"]: r["n"] for r in rows} == {association: 1, merchant: 1}


async def test_two_batches_enrolling_in_one_association_do_not_wait_for_each_other(
    services: harness.Services, db: asyncpg.Connection
) -> None:
    """Two batches of crm.events open accounts of one association on one day: the second
    goes on while the first is still open (each batch's transaction held the association's
    and the network's row of the day until it committed). The roll-up then counts both."""
    association = uuid.uuid4()
    # crm's own pool (its role, its schema), as the service opens it
    pool = await db_pool(harness.service_database_url("crm"), "crm", 2, 3)
    try:
        async with pool.acquire() as first, first.transaction():
            await statistics.enrolled(first, [(str(uuid.uuid4()), association, None, AT)])
            async with pool.acquire() as second, second.transaction():
                await second.execute("SET LOCAL lock_timeout = '2s'")
                await asyncio.wait_for(
                    statistics.enrolled(second, [(str(uuid.uuid4()), association, None, AT)]),
                    10,
                )
        await statistics.catch_up(pool)
        rows = await db.fetch(SUMS, [association], DAY)
        left = await db.fetch(LEFT, [association], DAY)
    finally:
        await pool.close()
    assert {r["scope_id"]: r["n"] for r in rows} == {association: 2}
    assert left == []
