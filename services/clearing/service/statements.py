"""Statements (F18): a merchant's, or every merchant's of an association, for a period (frozen
once closed, computed when asked before), and their detail lines page by page."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from datetime import UTC, date, datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from services.clearing.adapters import books
from services.clearing.adapters import statements as repo
from services.clearing.domain import statement_lines, statements
from services.clearing.domain.figures import Figures
from services.clearing.domain.periods import next_month, period_label, period_start
from shared.http import Problem

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def documents(
    conn: Db,
    association_id: UUID,
    period: date,
    status: str,
    merchant_id: UUID | None = None,
) -> dict[UUID, dict[str, Any]]:
    """The statement of each merchant of the association, as the API answers it; with
    ``merchant_id``, that merchant's too, even with no activity and unknown here yet."""
    all_figures = await repo.figures(conn, association_id, period, period_start(next_month(period)))
    if merchant_id is not None:
        all_figures.setdefault(merchant_id, Figures())
    infos = await repo.merchants(conn, association_id)
    adjustments = await repo.adjustments(conn, association_id, period)
    return statements.compose(association_id, period, status, all_figures, infos, adjustments)


async def association_of(conn: Db, merchant_id: UUID) -> UUID:
    aid = await repo.association_of(conn, merchant_id)
    if aid is None:
        raise Problem(404, "Unknown merchant", f"clearing knows no merchant {merchant_id}")
    return aid


async def statement(conn: Db, merchant_id: UUID, period: date) -> dict[str, Any]:
    """A merchant's statement: frozen if its period is closed, computed (provisional) if not."""
    frozen = await books.frozen_statement(conn, merchant_id, period)
    if frozen is not None:
        return frozen
    aid = await association_of(conn, merchant_id)
    closed = await books.closed_through(conn, aid)
    if closed is not None and period <= closed:
        raise Problem(
            404,
            "No statement",
            f"merchant {merchant_id} had no activity in closed period {period_label(period)}",
        )
    docs = await documents(conn, aid, period, "provisional", merchant_id)
    return docs[merchant_id]


async def of_association(conn: Db, association_id: UUID, period: date) -> list[dict[str, Any]]:
    """Every merchant's statement, by name: the frozen ones once closed."""
    frozen = await books.frozen_statements(conn, association_id, period)
    if frozen:
        return frozen
    docs = await documents(conn, association_id, period, "provisional")
    return sorted(docs.values(), key=lambda d: (d["merchant_name"], d["merchant_id"]))


_EARLIEST = datetime.min.replace(tzinfo=UTC)


async def detail_rows(
    conn: asyncpg.Connection, merchant_id: UUID, period: date, batch: int = 5_000
) -> AsyncGenerator[list[list[object]], None]:
    """The detail lines, in batches of pages (a transaction keeps them one snapshot)."""
    # In UTC, as the database gives the moments: compared without a time zone lookup a line.
    starts = period_start(period).astimezone(UTC)
    ends = period_start(next_month(period)).astimezone(UTC)
    # Asked for the whole month through one cursor, the planner scans the whole table and
    # sorts before the first line (2.7 s for the largest merchant of bench/clearing.py), and
    # nothing else can happen meanwhile. A page at a time the index is the plan: each comes
    # at once, and the next one is asked for before this one is handed out, so the database
    # and this process work at the same time.

    async def page(after: tuple[datetime, int]) -> list[asyncpg.Record]:
        return await repo.detail_page(conn, merchant_id, period, after, batch)

    pending = asyncio.ensure_future(page((_EARLIEST, 0)))
    try:
        while rows := await pending:
            if len(rows) == batch:
                pending = asyncio.ensure_future(page((rows[-1]["occurred_at"], rows[-1]["id"])))
                await asyncio.sleep(0)  # the task sends its query before this page is worked on
            yield [statement_lines.detail_row(r, starts, ends) for r in rows]
            if len(rows) < batch:
                break
    finally:
        # A reader that stopped early (the client went away): the page under way is let
        # finish, so the connection is left between two commands, whatever comes next.
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError):
            await pending
