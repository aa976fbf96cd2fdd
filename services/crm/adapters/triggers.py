"""The triggers, the frequency cap and the customers each daily trigger reaches, in
PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from shared.db.query import one_or_404

_TRIGGER = """SELECT id, association_id, merchant_id, kind, channel, enabled, params,
                     created_at, updated_at FROM triggers"""


def _decoded(row: asyncpg.Record) -> dict[str, Any]:
    """The row, its ``params`` parsed (read as text: the pools have no JSON codec)."""
    out = dict(row)
    out["params"] = json.loads(out["params"]) if isinstance(out["params"], str) else out["params"]
    return out


async def save(
    conn: asyncpg.Connection,
    trigger_id: UUID,
    association_id: UUID,
    merchant_id: UUID | None,
    kind: str,
    channel: str,
    enabled: bool,
    params: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    """The trigger made or changed (its scope and kind stay as first made)."""
    row = await conn.fetchrow(
        """INSERT INTO triggers (id, association_id, merchant_id, kind, channel, enabled, params,
                                 created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $8)
           ON CONFLICT (id) DO UPDATE SET channel = $5, enabled = $6,
                  params = $7::text::jsonb, updated_at = $8
           WHERE triggers.association_id = $2
             AND triggers.merchant_id IS NOT DISTINCT FROM $3 AND triggers.kind = $4
           RETURNING id, association_id, merchant_id, kind, channel, enabled,
                     params::text AS params, created_at, updated_at""",
        trigger_id,
        association_id,
        merchant_id,
        kind,
        channel,
        enabled,
        json.dumps(params),
        at,
    )
    return _decoded(row) if row is not None else {}


_SELECT = _TRIGGER.replace("params,", "params::text AS params,")


async def one(conn: asyncpg.Connection | asyncpg.Pool, trigger_id: UUID) -> dict[str, Any]:
    return _decoded(
        await one_or_404(conn, "trigger", trigger_id, _SELECT + " WHERE id = $1", trigger_id)
    )


async def of_association(
    conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        _SELECT + " WHERE association_id = $1 ORDER BY merchant_id NULLS FIRST, kind, id",
        association_id,
    )
    return [_decoded(r) for r in rows]


async def enabled_daily(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        _SELECT + " WHERE enabled AND kind IN ('birthday', 'we_miss_you', 'spacing_out') "
        "ORDER BY id"
    )
    return [_decoded(r) for r in rows]


async def after_sale(
    conn: asyncpg.Connection, pairs: list[tuple[UUID, UUID]]
) -> list[dict[str, Any]]:
    """The enabled sale triggers (receipt, threshold) of these (association, merchant) pairs:
    the association's and the merchant's own."""
    rows = await conn.fetch(
        """SELECT DISTINCT t.id, t.association_id, t.merchant_id, t.kind, t.channel, t.enabled,
                  t.params::text AS params, t.created_at, t.updated_at
           FROM triggers t JOIN unnest($1::uuid[], $2::uuid[]) AS p (a, m)
             ON t.association_id = p.a AND (t.merchant_id IS NULL OR t.merchant_id = p.m)
           WHERE t.kind IN ('receipt', 'threshold_reached')
           ORDER BY t.id""",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    return [_decoded(r) for r in rows]


# --- the frequency cap ------------------------------------------------------------------------


async def save_cap(
    conn: asyncpg.Connection, association_id: UUID, max_messages: int, per_days: int, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO marketing_caps (association_id, max_messages, per_days, updated_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT (association_id) DO UPDATE
           SET max_messages = $2, per_days = $3, updated_at = $4""",
        association_id,
        max_messages,
        per_days,
        at,
    )


async def cap(
    conn: asyncpg.Connection | asyncpg.Pool, association_id: UUID
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT max_messages, per_days FROM marketing_caps WHERE association_id = $1",
        association_id,
    )
    return row


async def lock_people(conn: asyncpg.Connection, account_ids: list[UUID]) -> None:
    """Their files locked until the commit, in account order: two transactions that lock some
    of the same people (a campaign and a trigger, two replicas) never wait on each other in a
    cycle."""
    await conn.execute(
        """SELECT 1 FROM customers WHERE account_id = ANY($1::uuid[])
           ORDER BY account_id FOR UPDATE""",
        account_ids,
    )


async def marketing_since(
    conn: asyncpg.Connection, asked: list[tuple[UUID, UUID | None, datetime]]
) -> dict[tuple[UUID, UUID | None], int]:
    """For each (person, message id, instant): the marketing messages asked for the person
    since the instant, but that message (asked again, it is not counted twice)."""
    rows = await conn.fetch(
        """SELECT p.account_id, p.other_than, count(m.message_id) AS n
           FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS p (account_id, other_than,
                                                                         since)
           LEFT JOIN customer_messages m
             ON m.account_id = p.account_id AND m.category = 'marketing'
            AND m.requested_at > p.since AND m.message_id IS DISTINCT FROM p.other_than
           GROUP BY p.account_id, p.other_than""",
        [a[0] for a in asked],
        [a[1] for a in asked],
        [a[2] for a in asked],
    )
    return {(r["account_id"], r["other_than"]): r["n"] for r in rows}


async def set_no_receipts(conn: asyncpg.Connection, account_id: UUID, no_receipts: bool) -> None:
    await conn.execute(
        "UPDATE customers SET no_receipts = $2 WHERE account_id = $1", account_id, no_receipts
    )


# --- who a daily trigger reaches ----------------------------------------------------------------

# Before every account: the first batch of a day (no ``after`` yet) starts here. A bound rather
# than ``$n IS NULL OR account_id > $n``, which a generic plan could not use as an index bound.
_FIRST = UUID(int=0)
# A trigger of the association reaches its customers; one of a merchant, the merchant's file.
# ``condition`` on the scope's columns (``c.`` in the network; ``m.`` and ``c.`` at a merchant);
# $1 the association, $2 the last account done, $3 the batch, then the condition's own.
_NETWORK = """SELECT c.account_id FROM customers c
              WHERE c.association_id = $1 AND c.erased_at IS NULL AND c.account_id > $2
                AND {condition}
              ORDER BY c.account_id LIMIT $3"""
_MERCHANT = """SELECT m.account_id FROM merchant_customers m
               JOIN customers c ON c.account_id = m.account_id
               WHERE m.merchant_id = ${merchant} AND m.account_id > $2
                 AND c.association_id = $1 AND c.erased_at IS NULL AND {condition}
               ORDER BY m.account_id LIMIT $3"""


async def _reach(
    conn: asyncpg.Connection,
    association_id: UUID,
    merchant_id: UUID | None,
    after: UUID | None,
    limit: int,
    conditions: tuple[str, str],
    *values: Any,
) -> list[UUID]:
    """A batch of the scope's customers meeting the condition (the network's, the
    merchant's), in account order after ``after``."""
    args = [association_id, after or _FIRST, limit, *values]
    if merchant_id is None:
        sql = _NETWORK.format(condition=conditions[0])
    else:
        sql = _MERCHANT.format(condition=conditions[1], merchant=len(args) + 1)
        args.append(merchant_id)
    # Planned for these values each time (this transaction's statements): after five runs a
    # prepared statement may get a generic plan, and the generic plan of a merchant's birthdays
    # walks the merchant's whole file computing each customer's celebrated days (0.8 s a
    # merchant over a million customers, docs/benchmarks.md) instead of taking the day's few
    # thousand celebrants from the index.
    await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    rows = await conn.fetch(sql, *args)
    return [r["account_id"] for r in rows]


# The files with a birthday on one of the days $4 (migration 0016's index, whose condition the
# first line repeats: a file without any date is not in it).
CELEBRATING = (
    "(c.birth_date IS NOT NULL OR c.spouse_birthday IS NOT NULL"
    " OR cardinality(c.children_birthdays) > 0)"
    " AND celebrated_days(c.birth_date, c.spouse_birthday, c.children_birthdays) && $4"
)


async def birthdays(
    conn: asyncpg.Connection,
    association_id: UUID,
    merchant_id: UUID | None,
    after: UUID | None,
    limit: int,
    month_days: list[int],
) -> list[UUID]:
    """The customers of the scope with a birthday (theirs, their spouse's, a child's) on one
    of ``month_days`` (month * 100 + day; migration 0016's index)."""
    return await _reach(
        conn, association_id, merchant_id, after, limit, (CELEBRATING, CELEBRATING), month_days
    )


async def last_seen_between(
    conn: asyncpg.Connection,
    association_id: UUID,
    merchant_id: UUID | None,
    after: UUID | None,
    limit: int,
    start: datetime,
    end: datetime,
) -> list[UUID]:
    """The customers of the scope whose last visit (there) was in [start, end)."""
    seen = "{0}.last_visit_at >= $4 AND {0}.last_visit_at < $5"
    return await _reach(
        conn,
        association_id,
        merchant_id,
        after,
        limit,
        (seen.format("c"), seen.format("m")),
        start,
        end,
    )


# The regulars (three visits at least) whose absence passes ``factor`` ($6) times their usual
# interval within [start, end): at a merchant, its file's first and last visit; in the network,
# the enrolment and the last visit. Written as migration 0005's partial index is.
_SPACING = """{n} >= 3 AND {l} > {f}
              AND {l} + ({l} - {f}) / ({n} - 1) * $6 >= $4
              AND {l} + ({l} - {f}) / ({n} - 1) * $6 < $5"""


async def spacing_out(
    conn: asyncpg.Connection,
    association_id: UUID,
    merchant_id: UUID | None,
    after: UUID | None,
    limit: int,
    start: datetime,
    end: datetime,
    factor: int,
) -> list[UUID]:
    """The regular customers of the scope whose absence passes ``factor`` times their usual
    interval within [start, end)."""
    network = _SPACING.format(n="c.visit_count", l="c.last_visit_at", f="c.enrolled_at")
    merchant = _SPACING.format(n="m.visit_count", l="m.last_visit_at", f="m.first_visit_at")
    return await _reach(
        conn, association_id, merchant_id, after, limit, (network, merchant), start, end, factor
    )
