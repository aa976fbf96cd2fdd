"""The quarantine of offline card transactions: the held lines and the back office's
decisions (``card_quarantine``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

FIELDS = (
    "transaction_id",
    "association_id",
    "merchant_id",
    "shop_id",
    "terminal_id",
    "seq",
    "chunk_id",
    "event_id",
    "params_version",
    "card_number",
    "atc",
    "kind",
    "amount_cents",
    "occurred_at",
    "reasons",
    "detail",
    "line",
)


async def hold(
    conn: asyncpg.Connection, rows: list[dict[str, Any]], now: datetime
) -> list[asyncpg.Record]:
    """Insert the lines (objects of ``FIELDS``; those already held are left as they are): the
    card, terminal, seq and reasons of those held now."""
    if not rows:
        return []
    # jsonb_to_recordset rather than unnest: ``reasons`` is an array per line.
    inserted: list[asyncpg.Record] = await conn.fetch(
        """INSERT INTO card_quarantine (transaction_id, association_id, merchant_id, shop_id,
               terminal_id, seq, chunk_id, event_id, params_version, card_number, atc, kind,
               amount_cents, occurred_at, reasons, detail, line, held_at)
           SELECT r.*, $2::timestamptz FROM jsonb_to_recordset($1::jsonb) AS r(
               transaction_id uuid, association_id uuid, merchant_id uuid, shop_id uuid,
               terminal_id uuid, seq bigint, chunk_id uuid, event_id uuid, params_version bigint,
               card_number text, atc bigint, kind text, amount_cents bigint, occurred_at text,
               reasons text[], detail text, line jsonb)
           ON CONFLICT (transaction_id) DO NOTHING
           RETURNING card_number, terminal_id, seq, reasons""",
        rows,
        now,
    )
    return inserted


async def held_already(conn: asyncpg.Connection, ids: list[UUID]) -> set[UUID]:
    """The transactions among ``ids`` that are in quarantine (held or decided)."""
    if not ids:
        return set()
    rows = await conn.fetch(
        "SELECT transaction_id FROM card_quarantine WHERE transaction_id = ANY($1::uuid[])", ids
    )
    return {r["transaction_id"] for r in rows}


async def accounted(
    conn: asyncpg.Connection, terminal_ids: list[UUID] | None
) -> dict[UUID, tuple[int, int]]:
    """Per terminal, the lines cards has booked and those it holds (or held and decided): what
    the gateway acknowledged must all be one or the other."""
    rows = await conn.fetch(
        """SELECT terminal_id, sum(booked)::bigint AS booked, sum(held)::bigint AS held FROM (
               SELECT terminal_id, count(*) AS booked, 0 AS held FROM card_transactions
               WHERE ($1::uuid[] IS NULL OR terminal_id = ANY($1::uuid[]))
               GROUP BY terminal_id
               UNION ALL
               SELECT terminal_id, 0, count(*) FROM card_quarantine
               WHERE status <> 'approved'
                 AND ($1::uuid[] IS NULL OR terminal_id = ANY($1::uuid[]))
               GROUP BY terminal_id) x
           GROUP BY terminal_id""",
        terminal_ids,
    )
    return {r["terminal_id"]: (r["booked"], r["held"]) for r in rows}


async def page(
    conn: asyncpg.Connection,
    association_id: UUID,
    status: str | None,
    reason: str | None,
    terminal_id: UUID | None,
    before: int | None,
    limit: int,
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT * FROM card_quarantine
           WHERE association_id = $1 AND ($2::text IS NULL OR status = $2)
             AND ($3::text IS NULL OR $3 = ANY(reasons))
             AND ($4::uuid IS NULL OR terminal_id = $4)
             AND ($5::bigint IS NULL OR id < $5)
           ORDER BY id DESC LIMIT $6""",
        association_id,
        status,
        reason,
        terminal_id,
        before,
        limit,
    )
    return rows


async def lock(conn: asyncpg.Connection, line_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM card_quarantine WHERE id = $1 FOR UPDATE", line_id
    )
    return row


async def approved(
    conn: asyncpg.Connection, line_id: int, at: datetime, actor: str, reason: str
) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """UPDATE card_quarantine SET status = 'approved', decided_at = $2, decided_by = $3,
               decision_reason = $4
           WHERE id = $1 RETURNING *""",
        line_id,
        at,
        actor,
        reason,
    )
    return row


async def rejected(
    conn: asyncpg.Connection,
    line_id: int,
    at: datetime,
    actor: str,
    reason: str,
    card_blocked: bool,
    card_claims: dict[str, Any],
    server_holds: dict[str, Any] | None,
) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """UPDATE card_quarantine SET status = 'rejected', decided_at = $2, decided_by = $3,
               decision_reason = $4, card_blocked = $5, card_claims = $6,
               server_holds = $7
           WHERE id = $1 RETURNING *""",
        line_id,
        at,
        actor,
        reason,
        card_blocked,
        card_claims,
        server_holds,
    )
    return row


async def card_account(conn: asyncpg.Connection, card_number: str) -> asyncpg.Record | None:
    """The buckets of the card's account, as the server holds them."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT a.balance_cents, a.pending_cents, a.units, a.visits
           FROM cards c JOIN accounts a ON a.id = c.account_id WHERE c.number = $1""",
        card_number,
    )
    return row
