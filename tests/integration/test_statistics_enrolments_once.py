"""An enrolment is counted once across the retirement of the statistics' own queue: the events
crm.statistics counted already (their ids in crm.statistics_inbox, kept) are not counted again
when crm.events' copy comes (services/crm/service/statistics.enrolled, docs/statistics.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg

from services.crm.service import statistics
from tests import harness


async def test_an_enrolment_the_former_queue_counted_is_not_counted_again(
    services: harness.Services, db: asyncpg.Connection
) -> None:
    association, merchant = uuid.uuid4(), uuid.uuid4()
    at = datetime(2031, 6, 2, 10, 0, tzinfo=UTC)
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
            db, [(counted, association, merchant, at), (new, association, merchant, at)]
        )
        rows = await db.fetch(
            """SELECT scope_id, enrolments FROM statistics_enrolments
               WHERE scope_id = ANY($1::uuid[]) AND day = $2""",
            [association, merchant],
            date(2031, 6, 2),
        )
    finally:
        await rolled_back.rollback()
    assert {r["scope_id"]: r["enrolments"] for r in rows} == {association: 1, merchant: 1}
