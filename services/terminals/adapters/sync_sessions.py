"""The SQL of sync sessions: the terminals' sync registry rows, their sessions, the journal
lines committed (offline_transactions), and the registry the back office reads."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from services.terminals.domain.terminals import Who
from shared.contracts import CardTransaction
from shared.sync.messages import Hello


async def hello(
    conn: asyncpg.Connection, who: Who, msg: Hello, session_id: UUID, transport: str
) -> tuple[int, bool]:
    """Record the HELLO on the terminal's registry row and open its session; the last
    sequence the gateway committed, and whether this is the terminal's first connection."""
    reg = await conn.fetchrow(
        """INSERT INTO sync_terminals AS r (terminal_id, software, params_version,
               blacklist_version, journal_last_seq, pending_count, last_session_id)
           VALUES ($1, $2, $3, $4, $5, $5, $6)
           ON CONFLICT (terminal_id) DO UPDATE SET software = excluded.software,
               params_version = excluded.params_version,
               blacklist_version = excluded.blacklist_version,
               journal_last_seq = excluded.journal_last_seq,
               pending_count = GREATEST(excluded.journal_last_seq - r.last_committed_seq, 0),
               last_hello_at = now(), last_session_id = excluded.last_session_id
           RETURNING last_committed_seq, xmax = 0 AS first""",
        who.id,
        msg.software,
        msg.params_version,
        msg.blacklist_version,
        msg.journal_last_seq,
        session_id,
    )
    await conn.execute(
        """INSERT INTO sync_sessions (id, terminal_id, transport, software, params_version,
               blacklist_version, pending_count, journal_first_seq, journal_last_seq,
               start_committed_seq)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        session_id,
        who.id,
        transport,
        msg.software,
        msg.params_version,
        msg.blacklist_version,
        msg.pending_count,
        msg.journal_first_seq,
        msg.journal_last_seq,
        reg["last_committed_seq"],
    )
    return reg["last_committed_seq"], reg["first"]


async def session(
    conn: asyncpg.Connection, terminal_id: UUID, session_id: UUID, ttl_s: int, *, lock: bool
) -> asyncpg.Record | None:
    """The terminal's registry row (locked for a commit: two sessions of one terminal take
    turns, other terminals do not wait) and its session's state (null columns: no such
    session of this terminal)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"""SELECT t.last_committed_seq, t.journal_last_seq, s.status, s.params_version,
                   s.last_activity_at < now() - make_interval(secs => $3) AS expired
            FROM sync_terminals t
            LEFT JOIN sync_sessions s ON s.id = $2 AND s.terminal_id = t.terminal_id
            WHERE t.terminal_id = $1 {"FOR UPDATE OF t" if lock else ""}""",
        terminal_id,
        session_id,
        ttl_s,
    )
    return row


async def committed_hashes(
    conn: asyncpg.Connection, terminal_id: UUID, first: int, last: int
) -> dict[int, bytes]:
    return {
        r["seq"]: bytes(r["content_hash"])
        for r in await conn.fetch(
            """SELECT seq, content_hash FROM offline_transactions
               WHERE terminal_id = $1 AND seq BETWEEN $2 AND $3""",
            terminal_id,
            first,
            last,
        )
    }


async def insert_lines(
    conn: asyncpg.Connection,
    terminal_id: UUID,
    chunk_id: UUID,
    session_id: UUID,
    lines: Sequence[CardTransaction],
    hashes: Sequence[bytes],
) -> None:
    # Not a shared.db.query.Batch: the terminal, chunk and session are given once, not as
    # arrays of a chunk's length (a chunk is up to 500 lines, on the sync hot path).
    await conn.execute(
        """INSERT INTO offline_transactions (terminal_id, chunk_id, session_id, seq,
               content_hash, kind, card_number, atc, amount_cents, occurred_at)
           SELECT $1, $2, $3, * FROM unnest($4::bigint[], $5::bytea[], $6::text[],
               $7::text[], $8::bigint[], $9::bigint[], $10::timestamptz[])""",
        terminal_id,
        chunk_id,
        session_id,
        [t.seq for t in lines],
        list(hashes),
        [t.kind for t in lines],
        [t.card_number for t in lines],
        [t.atc for t in lines],
        [t.amount_cents for t in lines],
        [t.occurred_at for t in lines],
    )


async def chunk_committed(
    conn: asyncpg.Connection,
    terminal_id: UUID,
    session_id: UUID,
    inserted: int,
    skipped: int,
    last: int,
) -> int:
    """Count the chunk on its session and move the terminal's last committed sequence."""
    through: int = await conn.fetchval(
        """WITH s AS (
               UPDATE sync_sessions SET chunks = chunks + 1, inserted = inserted + $3,
                   skipped = skipped + $4, last_activity_at = now()
               WHERE id = $2)
           UPDATE sync_terminals SET
               last_committed_seq = GREATEST(last_committed_seq, $5),
               committed_total = committed_total + $3,
               pending_count = GREATEST(journal_last_seq - GREATEST(last_committed_seq, $5), 0)
           WHERE terminal_id = $1 RETURNING last_committed_seq""",
        terminal_id,
        session_id,
        inserted,
        skipped,
        last,
    )
    return through


async def fail(pool: asyncpg.Pool, session_id: UUID, terminal_id: UUID, code: str) -> None:
    await pool.execute(
        """UPDATE sync_sessions SET status = 'failed', error_code = $3,
               last_activity_at = now()
           WHERE id = $1 AND terminal_id = $2""",
        session_id,
        terminal_id,
        code,
    )


async def range_totals(
    conn: asyncpg.Connection, terminal_id: UUID, from_seq: int, to_seq: int
) -> tuple[int, int]:
    """How many lines the gateway holds in the range, and their amount."""
    r = await conn.fetchrow(
        """SELECT count(*) AS n, coalesce(sum(amount_cents), 0)::bigint AS amount
           FROM offline_transactions
           WHERE terminal_id = $1 AND seq BETWEEN $2 AND $3""",
        terminal_id,
        from_seq,
        to_seq,
    )
    return r["n"], r["amount"]


async def present(
    conn: asyncpg.Connection, terminal_id: UUID, from_seq: int, to_seq: int
) -> list[int]:
    return [
        s
        for (s,) in await conn.fetch(
            """SELECT seq FROM offline_transactions
               WHERE terminal_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq""",
            terminal_id,
            from_seq,
            to_seq,
        )
    ]


async def close(
    conn: asyncpg.Connection,
    terminal_id: UUID,
    session_id: UUID,
    status: str,
    count: int,
    amount_cents: int,
    missing: Sequence[tuple[int, int]],
) -> None:
    await conn.execute(
        """WITH s AS (
               UPDATE sync_sessions SET status = $3, close_count = $4,
                   close_amount_cents = $5, missing = $6, closed_at = now(),
                   last_activity_at = now(), error_code = NULL
               WHERE id = $2)
           UPDATE sync_terminals SET last_session_id = $2,
               last_sync_at = CASE WHEN $3 = 'ok' THEN now() ELSE last_sync_at END
           WHERE terminal_id = $1""",
        terminal_id,
        session_id,
        status,
        count,
        amount_cents,
        [list(m) for m in missing],
    )


async def parameters(
    conn: asyncpg.Connection, merchant_id: UUID, known_version: int
) -> asyncpg.Record | None:
    """The merchant's parameters row whatever its version (its document only if newer than
    ``known_version``): none at all means they are not yet computed, which a terminal must
    be told apart from "yours are current"."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT rules_version, CASE WHEN rules_version > $2 THEN document END AS document
           FROM terminal_parameters WHERE merchant_id = $1""",
        merchant_id,
        known_version,
    )
    return row


async def blacklist_page(
    conn: asyncpg.Connection, association_id: UUID, after: int, limit: int
) -> list[asyncpg.Record]:
    # One statement, so one snapshot: the page and the cursor it ends at are read together
    # (finding 11: a second statement for the latest version saw changes committed after the
    # page, which the terminal then skipped for good). The cursor is ``received``, the order
    # the gateway committed the changes in (migration 0004): a snapshot sees a prefix of it,
    # never a later change without an earlier one.
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT received, version, card_number, action, reason FROM blacklist
           WHERE association_id = $1 AND received > $2 ORDER BY received LIMIT $3""",
        association_id,
        after,
        limit,
    )
    return rows


async def delivered(
    conn: asyncpg.Connection,
    terminal_id: UUID,
    session_id: UUID,
    params_version: int,
    blacklist_version: int,
    more: bool,
) -> None:
    """Touch the session; record the versions delivered once the terminal has them all."""
    await conn.execute(
        """WITH s AS (UPDATE sync_sessions SET last_activity_at = now() WHERE id = $2)
           UPDATE sync_terminals SET delivered_params_version = $3,
               delivered_blacklist_version = $4
           WHERE terminal_id = $1 AND NOT $5""",
        terminal_id,
        session_id,
        params_version,
        blacklist_version,
        more,
    )


_REGISTRY = """
SELECT t.id AS terminal_id, t.label, t.association_id, t.merchant_id, t.shop_id, t.active,
       r.last_committed_seq, r.committed_total, r.software, r.params_version,
       r.blacklist_version, r.delivered_params_version, r.delivered_blacklist_version,
       r.pending_count, r.first_seen_at, r.last_hello_at, r.last_sync_at,
       s.id AS session_id, s.transport, s.status, s.started_at, s.closed_at, s.chunks,
       s.inserted, s.skipped, s.missing, s.error_code,
       s.status = 'open' AND s.last_activity_at < now() - make_interval(secs => $1) AS abandoned,
       now() AS read_at
FROM terminals t
LEFT JOIN sync_terminals r ON r.terminal_id = t.id
LEFT JOIN sync_sessions s ON s.id = r.last_session_id
"""


async def registry(
    pool: asyncpg.Pool,
    session_ttl_s: int,
    terminal_id: UUID | None = None,
    association_id: UUID | None = None,
    merchant_id: UUID | None = None,
) -> list[asyncpg.Record]:
    """Every terminal's (or one's, or an association's or a merchant's) sync rows, with
    ``read_at``, the database's clock."""
    rows: list[asyncpg.Record]
    if terminal_id is not None:
        rows = await pool.fetch(_REGISTRY + " WHERE t.id = $2", session_ttl_s, terminal_id)
        return rows
    rows = await pool.fetch(
        _REGISTRY
        + """ WHERE NOT t.desk AND ($2::uuid IS NULL OR t.association_id = $2)
                AND ($3::uuid IS NULL OR t.merchant_id = $3)
              ORDER BY t.label, t.id""",
        session_ttl_s,
        association_id,
        merchant_id,
    )
    return rows
