"""The consents and their proofs in PostgreSQL. The proofs are only ever inserted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from services.crm.domain.consent import Consent
from shared.db.query import one_or_404

_NIL = "'00000000-0000-0000-0000-000000000000'::uuid"
_COLUMNS = """id, account_id, association_id, channel, merchant_id, status, address, wording,
              code_sha256, code_expires_at, code_attempts, requested_at, confirmed_at,
              withdrawn_at, updated_at"""


def consent_of(row: asyncpg.Record) -> Consent:
    return Consent(row["id"], row["channel"], row["merchant_id"], row["status"], row["address"])


async def of_account(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_COLUMNS} FROM consents WHERE account_id = $1 ORDER BY requested_at, id",
        account_id,
    )
    return rows


async def of_accounts(conn: asyncpg.Connection, account_ids: list[UUID]) -> list[asyncpg.Record]:
    """The consents of these people, each person's in the order ``of_account`` gives."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM consents WHERE account_id = ANY($1::uuid[])
            ORDER BY account_id, requested_at, id""",
        account_ids,
    )
    return rows


async def one(conn: asyncpg.Connection | asyncpg.Pool, consent_id: UUID) -> asyncpg.Record:
    return await one_or_404(
        conn, "consent", consent_id, f"SELECT {_COLUMNS} FROM consents WHERE id = $1", consent_id
    )


async def one_for_update(conn: asyncpg.Connection, consent_id: UUID) -> asyncpg.Record:
    return await one_or_404(
        conn,
        "consent",
        consent_id,
        f"SELECT {_COLUMNS} FROM consents WHERE id = $1 FOR UPDATE",
        consent_id,
    )


async def ask(
    conn: asyncpg.Connection,
    new_id: UUID,
    account_id: UUID,
    association_id: UUID,
    channel: str,
    merchant_id: UUID | None,
    status: str,
    address: str | None,
    wording: str,
    code_sha256: bytes | None,
    code_expires_at: datetime | None,
    at: datetime,
) -> UUID:
    """The consent of this person, channel and scope, asked (again): its id (the first one's,
    when asked before)."""
    consent_id: UUID = await conn.fetchval(
        f"""INSERT INTO consents (id, account_id, association_id, channel, merchant_id, status,
                                 address, wording, code_sha256, code_expires_at, requested_at,
                                 confirmed_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6::text, $7, $8, $9, $10, $11::timestamptz,
                    CASE WHEN $6::text = 'confirmed' THEN $11::timestamptz END, $11::timestamptz)
            ON CONFLICT (account_id, channel, coalesce(merchant_id, {_NIL})) DO UPDATE SET
                status = excluded.status, address = excluded.address,
                wording = excluded.wording, code_sha256 = excluded.code_sha256,
                code_expires_at = excluded.code_expires_at, code_attempts = 0,
                requested_at = excluded.requested_at, confirmed_at = excluded.confirmed_at,
                withdrawn_at = NULL, updated_at = excluded.updated_at
            RETURNING id""",
        new_id,
        account_id,
        association_id,
        channel,
        merchant_id,
        status,
        address,
        wording,
        code_sha256,
        code_expires_at,
        at,
    )
    return consent_id


async def confirm(conn: asyncpg.Connection, consent_id: UUID, at: datetime) -> None:
    await conn.execute(
        """UPDATE consents SET status = 'confirmed', confirmed_at = $2, updated_at = $2,
                  code_sha256 = NULL, code_expires_at = NULL
           WHERE id = $1""",
        consent_id,
        at,
    )


async def count_attempt(conn: asyncpg.Connection, consent_id: UUID) -> None:
    await conn.execute(
        "UPDATE consents SET code_attempts = code_attempts + 1 WHERE id = $1", consent_id
    )


async def withdraw(
    conn: asyncpg.Connection, consent_ids: list[UUID], at: datetime
) -> list[asyncpg.Record]:
    """Withdraw these consents (those not withdrawn already): the ones withdrawn now."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """UPDATE consents SET status = 'withdrawn', withdrawn_at = $2, updated_at = $2,
                  code_sha256 = NULL, code_expires_at = NULL
           WHERE id = ANY($1::uuid[]) AND status <> 'withdrawn'
           RETURNING id, wording, account_id, association_id, merchant_id, channel""",
        consent_ids,
        at,
    )
    return rows


async def by_address(conn: asyncpg.Connection, channel: str, address: str) -> list[UUID]:
    """The consents given for an address on a channel and not withdrawn (a STOP, a bounce)."""
    rows = await conn.fetch(
        """SELECT id FROM consents WHERE channel = $1 AND address = $2 AND status <> 'withdrawn'
           ORDER BY id FOR UPDATE""",
        channel,
        address,
    )
    return [r["id"] for r in rows]


async def prove(
    conn: asyncpg.Connection,
    proofs: Sequence[tuple[UUID, datetime, str, str, str, str | None]],
) -> None:
    """(consent, at, action, how, wording, detail) rows of the proof, appended."""
    await conn.executemany(
        """INSERT INTO consent_proofs (consent_id, at, action, how, wording, detail)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        proofs,
    )


async def proofs_of(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT p.consent_id, p.at, p.action, p.how, p.wording, p.detail
           FROM consent_proofs p JOIN consents c ON c.id = p.consent_id
           WHERE c.account_id = $1 ORDER BY p.id""",
        account_id,
    )
    return rows


async def set_code(conn: asyncpg.Connection, consent_id: UUID, digest: bytes) -> None:
    await conn.execute("UPDATE consents SET code_sha256 = $2 WHERE id = $1", consent_id, digest)
