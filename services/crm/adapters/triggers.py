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


async def lock_person(conn: asyncpg.Connection, account_id: UUID) -> None:
    await conn.execute("SELECT 1 FROM customers WHERE account_id = $1 FOR UPDATE", account_id)


async def marketing_since(
    conn: asyncpg.Connection, account_id: UUID, since: datetime, other_than: UUID | None
) -> int:
    """The marketing messages asked for this person since ``since`` (but ``other_than``)."""
    n: int = await conn.fetchval(
        """SELECT count(*) FROM customer_messages
           WHERE account_id = $1 AND category = 'marketing' AND requested_at > $2
             AND message_id IS DISTINCT FROM $3""",
        account_id,
        since,
        other_than,
    )
    return n


async def set_no_receipts(conn: asyncpg.Connection, account_id: UUID, no_receipts: bool) -> None:
    await conn.execute(
        "UPDATE customers SET no_receipts = $2 WHERE account_id = $1", account_id, no_receipts
    )


# --- who a daily trigger reaches ----------------------------------------------------------------

# A trigger of a merchant reaches its file; one of the association, the association's customers.
_SCOPE = """FROM customers c
            LEFT JOIN merchant_customers m ON m.account_id = c.account_id AND m.merchant_id = $2
            WHERE c.association_id = $1 AND c.erased_at IS NULL
              AND ($2::uuid IS NULL OR m.account_id IS NOT NULL)
              AND ($3::uuid IS NULL OR c.account_id > $3)"""


async def birthdays(
    conn: asyncpg.Connection,
    association_id: UUID,
    merchant_id: UUID | None,
    after: UUID | None,
    limit: int,
    month_days: list[str],
) -> list[UUID]:
    """The customers of the scope with a birthday (theirs, their spouse's, a child's) on one
    of ``month_days`` ('MM-DD')."""
    rows = await conn.fetch(
        f"""SELECT c.account_id {_SCOPE}
              AND (to_char(c.birth_date, 'MM-DD') = ANY($5::text[])
                   OR to_char(c.spouse_birthday, 'MM-DD') = ANY($5::text[])
                   OR EXISTS (SELECT 1 FROM unnest(c.children_birthdays) AS b
                              WHERE to_char(b, 'MM-DD') = ANY($5::text[])))
            ORDER BY c.account_id LIMIT $4""",
        association_id,
        merchant_id,
        after,
        limit,
        month_days,
    )
    return [r["account_id"] for r in rows]


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
    rows = await conn.fetch(
        f"""SELECT c.account_id {_SCOPE}
              AND coalesce(m.last_visit_at, c.last_visit_at) >= $5
              AND coalesce(m.last_visit_at, c.last_visit_at) < $6
              AND ($2::uuid IS NULL OR m.last_visit_at IS NOT NULL)
            ORDER BY c.account_id LIMIT $4""",
        association_id,
        merchant_id,
        after,
        limit,
        start,
        end,
    )
    return [r["account_id"] for r in rows]


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
    """The regular customers of the scope (three visits at least) whose absence passes
    ``factor`` times their usual interval within [start, end): at a merchant, its file's
    first and last visit; in the network, the enrolment and the last visit."""
    rows = await conn.fetch(
        f"""SELECT account_id FROM (
              SELECT c.account_id,
                     CASE WHEN $2::uuid IS NULL THEN c.visit_count ELSE m.visit_count END AS n,
                     CASE WHEN $2::uuid IS NULL THEN c.enrolled_at ELSE m.first_visit_at END AS f,
                     CASE WHEN $2::uuid IS NULL THEN c.last_visit_at ELSE m.last_visit_at END AS l
              {_SCOPE}) s
            WHERE n >= 3 AND l > f
              AND l + (l - f) / (n - 1) * $7 >= $5 AND l + (l - f) / (n - 1) * $7 < $6
            ORDER BY account_id LIMIT $4""",
        association_id,
        merchant_id,
        after,
        limit,
        start,
        end,
        factor,
    )
    return [r["account_id"] for r in rows]
