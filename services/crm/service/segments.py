"""Saved segments (issue 14, item 4): named filters over an association's customers or one
merchant's file, their size before sending (all, and those who consented to a channel), the
campaigns that go to them (service/campaigns.py), and their customers exported as the scope
may see them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg

from services.crm.adapters import segments as rows
from services.crm.domain import segments as rules
from services.crm.domain.segments import Filters, Segment
from shared import clock
from shared.http import Problem

EXPORT_BATCH = 2_000


def check(filters: Filters) -> Filters:
    """The filters, or the 422 problem ``invalid_filter`` with each reason."""
    found = rules.problems(filters)
    if found:
        raise Problem(
            422,
            "Invalid filter",
            "; ".join(found),
            reason="invalid_filter",
            errors=[{"field": "filters", "message": m} for m in found],
        )
    return filters


def of(saved: dict[str, Any]) -> Segment:
    """A saved segment's row as the segment it selects (its filters as they are now)."""
    return Segment(
        saved["association_id"], saved["merchant_id"], Filters.from_json(saved["filters"])
    )


async def get(
    conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID, segment_id: UUID
) -> dict[str, Any]:
    """The association's segment, or 404 ``unknown_segment`` (another association's too)."""
    found = await rows.one(conn, association_id, segment_id)
    if found is None:
        raise Problem(
            404, "Unknown segment", f"no segment {segment_id} here", reason="unknown_segment"
        )
    return found


async def listed(
    conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID, merchant_id: UUID | None
) -> list[dict[str, Any]]:
    return await rows.of_association(conn, association_id, merchant_id)


async def save(
    conn: asyncpg.Connection,
    association_id: UUID,
    segment_id: UUID,
    merchant_id: UUID | None,
    name: str,
    filters: Filters,
) -> dict[str, Any]:
    """The segment made or changed. Campaigns already sent to it keep the filters they were
    sent with; campaigns not sent yet and monthly newsletters follow the change."""
    check(filters)
    try:
        async with conn.transaction():  # a savepoint: a name taken leaves the caller's own
            saved = await rows.save(
                conn, segment_id, association_id, merchant_id, name, filters.as_json(), clock.now()
            )
    except asyncpg.UniqueViolationError as exc:
        raise Problem(
            409,
            "Name taken",
            "another segment of this scope has this name",
            reason="segment_name_taken",
        ) from exc
    if saved is None:
        raise Problem(
            409,
            "Another segment",
            "this id is a segment of another association or scope",
            reason="segment_mismatch",
        )
    return saved


async def delete(conn: asyncpg.Connection, association_id: UUID, segment_id: UUID) -> None:
    """The segment gone, unless a campaign still follows it (not sent yet, or monthly)."""
    await get(conn, association_id, segment_id)
    if await rows.in_use(conn, segment_id):
        raise Problem(
            409,
            "Segment in use",
            "a campaign not sent yet (or a monthly newsletter) goes to this segment",
            reason="segment_in_use",
        )
    await rows.delete(conn, segment_id)


async def size(
    pool: asyncpg.Pool | asyncpg.Connection, segment: Segment, channel: str | None
) -> tuple[int, int | None]:
    """(customers in the segment, of whom consented to ``channel``: None without a channel)."""
    check(segment.filters)
    return await rows.size(pool, segment, channel)


async def export(
    conn: asyncpg.Connection, segment: Segment, channel: str | None, batch: int = EXPORT_BATCH
) -> AsyncIterator[list[dict[str, Any]]]:
    """The segment's customers in batches, each line as the scope may see it
    (``rules.exported``); for a ``channel``, only those who consented to it. Call it in a
    transaction: the pages are then one snapshot."""
    after: UUID | None = None
    while True:
        page = await rows.export_page(conn, segment, channel, after, batch)
        if not page:
            return
        consented: dict[UUID, set[str]] = {}
        if segment.merchant_id is not None:
            imported = [r["account_id"] for r in page if r["joined_how"] == "import"]
            if imported:
                consented = await rows.merchant_channels(conn, segment.merchant_id, imported)
        yield [
            rules.exported(
                dict(r),
                segment.merchant_id is not None,
                r["joined_how"],
                consented.get(r["account_id"], set()),
                channel,
            )
            for r in page
        ]
        if len(page) < batch:
            return
        after = page[-1]["account_id"]
