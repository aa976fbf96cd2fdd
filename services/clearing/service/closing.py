"""Closing a period: the partners' shares, the frozen statements, the settlement files, in one
transaction; and the adjustments that correct a closed period from the open one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.clearing.adapters import books, journal, partners
from services.clearing.domain import journal as rules
from services.clearing.domain import periods
from services.clearing.domain import settlements as closing
from services.clearing.domain.bookings import Entry
from services.clearing.domain.errors import Refused
from services.clearing.domain.settlements import Settlement
from services.clearing.service import settling
from services.clearing.service import statements as statements_
from services.clearing.service.problems import problem
from shared import clock, outbox
from shared import logging as log
from shared.contracts import MonthlyStatementReady
from shared.events import Event, new_event
from shared.http import Problem

SOURCE = "clearing"
logger = log.get("books")


@dataclass(frozen=True, slots=True)
class Closed:
    association_id: UUID
    periods: list[date]
    statements: int
    partner_shares: int
    settlement: Settlement


async def book_partner_shares(
    conn: asyncpg.Connection, association_id: UUID, period: date, now: datetime
) -> int:
    """The partners' shares of the period (F19), booked in it."""
    revenues = await partners.members_revenue(conn, association_id, period)
    return await journal.book(conn, closing.partner_shares(association_id, period, revenues, now))


async def _freeze(
    conn: asyncpg.Connection, association_id: UUID, period: date
) -> tuple[int, list[Event[MonthlyStatementReady]], list[tuple[str, UUID, int]]]:
    """The period's statements frozen: how many, the notices, and what they say is due."""
    docs = await statements_.documents(conn, association_id, period, "closed")
    rows = []
    events = []
    due: list[tuple[str, UUID, int]] = []
    for mid, doc in docs.items():
        sid = closing.ref("statement", mid, period)
        doc["statement_id"] = str(sid)
        f = doc["figures"]
        rows.append((sid, association_id, mid, period, doc, f["net_cents"]))
        due += closing.statement_dues(mid, f)
        events.append(_ready(sid, association_id, mid, period, doc))
    await books.freeze_statements(conn, rows)
    return len(rows), events, due


async def close(
    conn: asyncpg.Connection, association_id: UUID, period: date, actor: str, now: datetime
) -> Closed:
    """Close ``period`` and every open one before it, in one transaction (the caller's)."""
    closed = await books.lock(conn, association_id)
    first = await books.books_start(conn, association_id)
    try:
        months = periods.months_to_close(association_id, period, closed, first, now)
    except Refused as r:
        raise problem(r) from None
    shares = made = 0
    events: list[Event[MonthlyStatementReady]] = []
    due: list[tuple[str, UUID, int]] = []  # (party kind, party, cents) from the statements
    for m in months:
        shares += await book_partner_shares(conn, association_id, m, now)
        await books.record_close(conn, association_id, m, actor)
        n, notices, dues = await _freeze(conn, association_id, m)
        made += n
        events += notices
        due += dues
    settlement = await settling.settle(conn, association_id, period, now, closed, due)
    await books.close_through(conn, association_id, period)
    await outbox.write(conn, events)
    logger.info(
        "period_closed",
        association_id=str(association_id),
        period=periods.period_label(period),
        periods=len(months),
        statements=made,
        partner_shares=shares,
        settlement=settlement.status,
        collections=len(settlement.collections),
        transfers=len(settlement.transfers),
        held=len(settlement.held),
    )
    return Closed(association_id, months, made, shares, settlement)


def _ready(
    sid: UUID, association_id: UUID, mid: UUID, period: date, doc: dict[str, Any]
) -> Event[MonthlyStatementReady]:
    f = doc["figures"]
    base = f"/v1/merchants/{mid}/statements/{periods.period_label(period)}"
    return new_event(
        SOURCE,
        MonthlyStatementReady(
            statement_id=sid,
            association_id=association_id,
            merchant_id=mid,
            merchant_name=doc["merchant_name"],
            period_start=period,
            period_end=periods.period_end(period),
            purchases_count=f["purchases_count"],
            purchases_cents=f["purchases_cents"],
            cagnottages_cents=f["cagnottages_cents"],
            fees_cents=f["fees_cents"],
            redemptions_count=f["redemptions_count"],
            redemptions_cents=f["redemptions_cents"],
            net_cents=f["net_cents"],
            xlsx_path=f"{base}.xlsx",
            csv_path=f"{base}.csv",
        ),
        subject=f"merchant/{mid}",
        event_id=str(closing.ref("statement.ready", sid)),
    )


async def close_due(pool: asyncpg.Pool, after_hours: int) -> int:
    """Close every period due (the hourly job); the number closed."""
    n = 0
    async with pool.acquire() as conn:
        target = periods.due_period(utcnow(), after_hours)
        for aid in await books.due_associations(conn, target):
            try:
                async with conn.transaction():
                    await close(conn, aid, target, "clearing (end of month)", utcnow())
                n += 1
            except Problem as exc:  # closed meanwhile through the API
                logger.info("close_skipped", association_id=str(aid), reason=exc.detail)
    return n


async def adjust(
    conn: asyncpg.Connection,
    association_id: UUID,
    merchant_id: UUID,
    adjustment_id: UUID,
    adjusts: date,
    amount_cents: int,
    reason: str,
    actor: str,
    now: datetime,
) -> tuple[Entry, bool]:
    """A correction of a closed period, booked in the open one; (the entry, whether new)."""
    try:
        periods.adjustable(adjusts, await books.closed_through(conn, association_id))
    except Refused as r:
        raise problem(r) from None
    e = Entry(
        "merchant_adjustment",
        adjustment_id,
        str(adjustment_id),
        now,
        association_id,
        merchant_id,
        now,
        rules.merchant_adjustment(association_id, merchant_id, amount_cents),
        adjusts_period=adjusts,
        note=f"{reason} ({actor})",
        amount_cents=amount_cents,
    )
    return e, await journal.book(conn, [e]) == 1


def utcnow() -> datetime:
    """The services' clock (``shared.clock``): periods are due by it, not by the database's."""
    return clock.now()
