"""The SQL of terminals' online requests: their nonces, the requests and their verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from services.terminals.domain.outcomes import Decision
from shared.db.query import Batch


@dataclass(frozen=True, slots=True)
class Existing:
    """A request already recorded under an id: what it was and where it stands."""

    kind: str
    terminal_id: UUID
    body_sha256: bytes
    status: str
    http_status: int | None
    outcome: Any


NONCES = Batch(
    "nonces",
    [("terminal_id", "uuid"), ("nonce", "text")],
    "ON CONFLICT DO NOTHING RETURNING terminal_id, nonce",
)
REQUESTS = Batch(
    "requests",
    [("id", "uuid"), ("kind", "text"), ("terminal_id", "uuid"), ("body_sha256", "bytea")],
    "ON CONFLICT (id) DO NOTHING RETURNING id",
)


async def spend_nonces(
    conn: asyncpg.Connection, nonces: Sequence[tuple[UUID, str]]
) -> set[tuple[UUID, str]]:
    """Record the nonces; those that were fresh (the others were used before)."""
    return {(r["terminal_id"], r["nonce"]) for r in await NONCES.fetch(conn, nonces)}


async def spend_nonce(conn: asyncpg.Connection, terminal_id: UUID, nonce: str) -> bool:
    """One nonce, in the transaction of its work: True if it was fresh."""
    fresh: bool | None = await conn.fetchval(
        """INSERT INTO nonces (terminal_id, nonce) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING true""",
        terminal_id,
        nonce,
    )
    return bool(fresh)


async def insert_requests(
    conn: asyncpg.Connection, rows: Sequence[tuple[UUID, str, UUID, bytes]]
) -> set[UUID]:
    """Record the requests (id, kind, terminal, body's SHA-256); the ids that were new."""
    return {r["id"] for r in await REQUESTS.fetch(conn, rows)}


async def existing(conn: asyncpg.Connection, ids: Sequence[UUID]) -> dict[UUID, Existing]:
    if not ids:
        return {}
    rows = await conn.fetch(
        """SELECT id, kind, terminal_id, body_sha256, status, http_status, outcome
           FROM requests WHERE id = ANY($1::uuid[])""",
        list(ids),
    )
    return {
        r["id"]: Existing(
            r["kind"],
            r["terminal_id"],
            bytes(r["body_sha256"]),
            r["status"],
            r["http_status"],
            r["outcome"],
        )
        for r in rows
    }


async def status(
    pool: asyncpg.Pool, kind: str, request_id: UUID, terminal_id: UUID
) -> asyncpg.Record | None:
    """A terminal's request: status, http_status, outcome; None if it is not this terminal's."""
    row: asyncpg.Record | None = await pool.fetchrow(
        """SELECT status, http_status, outcome FROM requests
           WHERE id = $1 AND kind = $2 AND terminal_id = $3""",
        request_id,
        kind,
        terminal_id,
    )
    return row


async def record_outcomes(conn: asyncpg.Connection, decisions: Sequence[Decision]) -> set[UUID]:
    """Store the verdicts on their requests (the first verdict wins); the ids that applied."""
    rows = await conn.fetch(
        """UPDATE requests r SET status = v.status, http_status = v.http_status, outcome = v.outcome,
                                 decided_at = clock_timestamp()
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::jsonb[])
                v(id, kind, status, http_status, outcome)
           WHERE r.id = v.id AND r.kind = v.kind AND r.status = 'pending'
           RETURNING r.id""",
        [d.request_id for d in decisions],
        [d.kind for d in decisions],
        [d.status for d in decisions],
        [d.http_status for d in decisions],
        [d.body for d in decisions],
    )
    return {r["id"] for r in rows}


async def prune_nonces(pool: asyncpg.Pool, older_than_s: int) -> None:
    await pool.execute(
        "DELETE FROM nonces WHERE seen_at < now() - make_interval(secs => $1)", older_than_s
    )


async def pseudonymise_enrolments(
    conn: asyncpg.Connection, account_id: UUID, pseudonym: str
) -> None:
    """The enrolment answers of an erased account keep everything but the phone and the
    e-mail address, which become the pseudonym."""
    for field in ("phone", "email"):  # constants: the answer's two contact fields
        await conn.execute(
            f"""UPDATE requests SET outcome = jsonb_set(outcome, '{{{field}}}', to_jsonb($2::text))
                WHERE kind = 'enrolment' AND outcome ->> 'account_id' = $1::text
                  AND outcome ->> '{field}' IS NOT NULL""",
            str(account_id),
            pseudonym,
        )


async def enrolments_of(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> list[asyncpg.Record]:
    """The enrolment answers kept for an account (GDPR access, asked by crm)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT id, terminal_id, status, outcome::text AS outcome, received_at, decided_at
           FROM requests
           WHERE kind = 'enrolment' AND outcome ->> 'account_id' = $1::text
           ORDER BY received_at, id""",
        str(account_id),
    )
    return rows
