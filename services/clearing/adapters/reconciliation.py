"""What the reconciliation reads of the journal (one snapshot: the caller's transaction), and
its runs (``reconciliations``). Each read is scoped to one association ($1) or, NULL, every
one; the verdicts are ``domain/reconciliation.py``'s."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from services.clearing.domain.reconciliation import Figures

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool

# The entries a check reads: every one, or one association's ($1 NULL: every one).
_SCOPE = "($1::uuid IS NULL OR e.association_id = $1::uuid)"


async def net(conn: asyncpg.Connection, only: UUID | None) -> int:
    """Debits minus credits of every posting (0 when they balance)."""
    r = await conn.fetchrow(
        f"""SELECT coalesce(sum(p.amount_cents), 0)::bigint FROM postings p
            JOIN journal_entries e ON e.id = p.entry_id WHERE {_SCOPE}""",
        only,
    )
    assert r is not None
    return int(r[0])


async def unbalanced(conn: asyncpg.Connection, only: UUID | None) -> list[asyncpg.Record]:
    """The entries whose postings do not sum to 0, or that have none and are not a zero
    record (an accrual or reversal of reward 0 and fee 0)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT e.id, e.kind, e.reference_id, e.association_id, e.reward_cents, e.fee_cents,
                   t.total, t.n
            FROM journal_entries e
            LEFT JOIN (SELECT entry_id, sum(amount_cents) AS total, count(*) AS n
                       FROM postings GROUP BY entry_id) t ON t.entry_id = e.id
            WHERE {_SCOPE}
              AND (t.total <> 0
                   OR (t.n IS NULL AND NOT (e.kind IN ('accrual', 'reversal')
                                            AND coalesce(e.reward_cents, 0) = 0
                                            AND coalesce(e.fee_cents, 0) = 0
                                            AND e.merchant_cents = 0)))
            ORDER BY e.id LIMIT 1000""",
        only,
    )
    return rows


async def column_faults(conn: asyncpg.Connection, only: UUID | None) -> list[asyncpg.Record]:
    """The entries whose ``merchant_cents`` is not what they posted to their merchant."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT e.id, e.kind, e.association_id, e.merchant_cents,
                   coalesce(m.cents, 0)::bigint AS posted
            FROM journal_entries e
            LEFT JOIN (SELECT p.entry_id, a.merchant_id, sum(p.amount_cents) AS cents
                       FROM postings p JOIN pivot_accounts a ON a.id = p.account_id
                       WHERE a.kind = 'merchant' GROUP BY 1, 2) m
              ON m.entry_id = e.id AND m.merchant_id = e.merchant_id
            WHERE e.merchant_cents <> coalesce(m.cents, 0) AND {_SCOPE}
            LIMIT 1000""",
        only,
    )
    return rows


async def booked_twice(
    conn: asyncpg.Connection, only: UUID | None
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    """(accounts posted twice by one entry, (kind, reference) booked twice)."""
    twice = await conn.fetch(
        f"""SELECT p.entry_id, p.account_id, e.association_id, count(*) AS n FROM postings p
            JOIN journal_entries e ON e.id = p.entry_id WHERE {_SCOPE}
            GROUP BY 1, 2, 3 HAVING count(*) > 1 LIMIT 100""",
        only,
    )
    refs = await conn.fetch(
        f"""SELECT e.kind, e.reference_id, array_agg(DISTINCT e.association_id) AS associations,
                   array_agg(e.id ORDER BY e.id) AS entries, count(*) AS n
            FROM journal_entries e WHERE {_SCOPE}
            GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 100""",
        only,
    )
    return twice, refs


async def changed_statements(conn: asyncpg.Connection, only: UUID | None) -> list[asyncpg.Record]:
    """The frozen statements whose net is no longer their entries'."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT s.association_id, s.merchant_id, s.period, s.net_cents,
                  coalesce(sum(e.merchant_cents) FILTER (WHERE e.kind <> 'settlement'), 0)::bigint
                    AS now_cents
           FROM statements s
           LEFT JOIN journal_entries e ON e.merchant_id = s.merchant_id AND e.period = s.period
           WHERE $1::uuid IS NULL OR s.association_id = $1::uuid
           GROUP BY s.association_id, s.merchant_id, s.period, s.net_cents
           HAVING s.net_cents <> coalesce(sum(e.merchant_cents)
                                          FILTER (WHERE e.kind <> 'settlement'), 0)
           LIMIT 1000""",
        only,
    )
    return rows


async def last_closes(conn: asyncpg.Connection, only: UUID | None) -> list[asyncpg.Record]:
    """Each closed association's last close and what its settlement held."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT b.association_id, b.closed_through, s.held FROM books b
           LEFT JOIN settlements s ON s.association_id = b.association_id
                                  AND s.period = b.closed_through
           WHERE b.closed_through IS NOT NULL
             AND ($1::uuid IS NULL OR b.association_id = $1::uuid)""",
        only,
    )
    return rows


# What clearing owes customers, per association: its postings to the customers' accounts, of
# the entries that happened (occurred_at) at or before the cut-off: the basis cards counts on.
# Counted for the association of the customer's account (``holders``), as cards counts: a
# reward earned at a shop of the street on a card of the club (an acceptance across
# associations) is posted in the street's pivot but owed to a cardholder of the club. An entry
# naming no known account stays with the pivot it is posted in. Every association clearing
# has heard of is listed, 0 where it owes nothing: one whose every entry was lost must still
# be compared with what cards holds (issue 11).
_OWED = """
    SELECT coalesce(h.association_id, a.association_id) AS association_id, e.account_id,
           coalesce(-sum(p.amount_cents) FILTER (WHERE a.kind = 'customer_liability'), 0)
             ::bigint AS cagnotte_cents,
           coalesce(-sum(p.amount_cents) FILTER (WHERE a.kind = 'customer_funds'), 0)
             ::bigint AS stored_value_cents
    FROM postings p JOIN pivot_accounts a ON a.id = p.account_id
    JOIN journal_entries e ON e.id = p.entry_id
    LEFT JOIN holders h ON h.account_id = e.account_id
    WHERE a.kind IN ('customer_liability', 'customer_funds') AND e.occurred_at <= $1
      AND ($2::uuid IS NULL OR coalesce(h.association_id, a.association_id) = $2::uuid)
    GROUP BY 1, 2
"""

_OURS = f"""
WITH owed AS ({_OWED}), known AS (
    SELECT association_id FROM owed
    UNION SELECT association_id FROM merchants WHERE $2::uuid IS NULL OR association_id = $2
    UNION SELECT association_id FROM holders WHERE $2::uuid IS NULL OR association_id = $2
)
SELECT k.association_id, coalesce(sum(o.cagnotte_cents), 0)::bigint AS cagnotte_cents,
       coalesce(sum(o.stored_value_cents), 0)::bigint AS stored_value_cents
FROM known k LEFT JOIN owed o USING (association_id)
GROUP BY k.association_id
"""

# The same, per customer account (the entry's ``account_id``), for one association.
_OURS_PER_ACCOUNT = f"SELECT account_id, cagnotte_cents, stored_value_cents FROM ({_OWED}) owed"


async def liability(conn: Db, as_of: datetime, only: UUID | None) -> dict[UUID, Figures]:
    """What clearing owes customers at ``as_of``, per association: (rewards, funds)."""
    return {
        r["association_id"]: (r["cagnotte_cents"], r["stored_value_cents"])
        for r in await conn.fetch(_OURS, as_of, only)
    }


async def liability_per_account(
    conn: Db, as_of: datetime, association_id: UUID
) -> dict[UUID | None, Figures]:
    return {
        r["account_id"]: (r["cagnotte_cents"], r["stored_value_cents"])
        for r in await conn.fetch(_OURS_PER_ACCOUNT, as_of, association_id)
    }


# --- the runs -------------------------------------------------------------------------------


async def record(
    conn: Db,
    started: datetime,
    ok: bool,
    checks: list[dict[str, Any]],
    association_id: UUID | None,
    red: list[UUID],
) -> int:
    rid: int = await conn.fetchval(
        """INSERT INTO reconciliations (started_at, ok, checks, association_id, red_associations)
           VALUES ($1, $2, $3::jsonb, $4, $5::uuid[]) RETURNING id""",
        started,
        ok,
        checks,
        association_id,
        red,
    )
    return rid


async def last(conn: Db, association_id: UUID | None) -> asyncpg.Record | None:
    """The last run over one association, or (None) over the whole instance."""
    if association_id is None:
        query = (
            "SELECT * FROM reconciliations WHERE association_id IS NULL ORDER BY id DESC LIMIT 1"
        )
        row: asyncpg.Record | None = await conn.fetchrow(query)
    else:
        row = await conn.fetchrow(
            "SELECT * FROM reconciliations WHERE association_id = $1 ORDER BY id DESC LIMIT 1",
            association_id,
        )
    return row
