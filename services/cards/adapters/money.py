"""The SQL of the back office's money operations: the cagnotte entries a first request booked,
gift vouchers and their batches, the cards and merchants they involve, and the events they
announce through the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from uuid import UUID

import asyncpg

from shared import outbox
from shared.contracts import AccountAdjusted
from shared.db.query import Batch, one_or_404
from shared.events import new_event

SOURCE = "cards"


async def announce(conn: asyncpg.Connection, adjusted: AccountAdjusted) -> None:
    """The ``AccountAdjusted`` of a money operation, in the transaction that booked it."""
    await outbox.write(
        conn, [new_event(SOURCE, adjusted, subject=f"account/{adjusted.account_id}")]
    )


async def serialise(conn: asyncpg.Connection, key: str) -> None:
    """Requests with the same id run one after the other (until the transaction ends)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


async def movement(conn: asyncpg.Connection, kind: str, reference: UUID) -> asyncpg.Record | None:
    """The entry of kind ``kind`` a first request with this id booked, if any."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT account_id, bucket, amount_cents, balance_after_cents, merchant_id, card_number,
                  actor, note, occurred_at
           FROM cagnotte_entries WHERE kind = $1 AND reference_id = $2""",
        kind,
        reference,
    )
    return row


async def merchant(conn: asyncpg.Connection, merchant_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT name, association_id FROM merchants WHERE id = $1", merchant_id
    )
    return row


async def merchant_name(conn: asyncpg.Connection, merchant_id: UUID) -> str | None:
    name: str | None = await conn.fetchval("SELECT name FROM merchants WHERE id = $1", merchant_id)
    return name


async def account(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> asyncpg.Record:
    """The account, or a 404 (reason ``unknown_account``)."""
    return await one_or_404(
        conn, "account", account_id, "SELECT * FROM accounts WHERE id = $1", account_id
    )


async def account_association(conn: asyncpg.Connection, account_id: UUID) -> UUID | None:
    found: UUID | None = await conn.fetchval(
        "SELECT association_id FROM accounts WHERE id = $1", account_id
    )
    return found


async def card_holder(conn: asyncpg.Connection, number: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT number, account_id, status FROM cards WHERE number = $1", number
    )
    return row


async def card_with_kind(conn: asyncpg.Connection, number: str) -> asyncpg.Record | None:
    """The card and its type's kind. Read, not locked: the sales path locks an account, then
    its card; locking in the other order here could deadlock with a spend of this card."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT c.number, c.account_id, c.association_id, c.status, c.expires_on,
                  t.kind AS type_kind
           FROM cards c JOIN card_types t ON t.id = c.card_type_id
           WHERE c.number = $1""",
        number,
    )
    return row


# --- gift vouchers -----------------------------------------------------------------------------

_VOUCHERS = Batch(
    "vouchers",
    [
        ("code", "text"),
        ("batch_id", "uuid"),
        ("association_id", "uuid"),
        ("value_cents", "integer"),
        ("expires_at", "timestamptz"),
    ],
    "ON CONFLICT (code) DO NOTHING RETURNING code",
)


async def voucher_batch(
    conn: asyncpg.Connection | asyncpg.Pool, batch_id: UUID
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM voucher_batches WHERE id = $1", batch_id
    )
    return row


async def voucher_batch_or_404(
    conn: asyncpg.Connection | asyncpg.Pool, batch_id: UUID
) -> asyncpg.Record:
    return await one_or_404(
        conn,
        "voucher batch",
        batch_id,
        "SELECT * FROM voucher_batches WHERE id = $1",
        batch_id,
    )


async def insert_voucher_batch(
    conn: asyncpg.Connection,
    batch_id: UUID,
    association_id: UUID,
    reason: str,
    value_cents: int,
    expires_at: datetime,
    size: int,
) -> asyncpg.Record | None:
    """The batch inserted, or None when a concurrent request inserted it first."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """INSERT INTO voucher_batches (id, association_id, reason, value_cents, expires_at, size)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO NOTHING RETURNING *""",
        batch_id,
        association_id,
        reason,
        value_cents,
        expires_at,
        size,
    )
    return row


async def batch_counts(
    conn: asyncpg.Connection | asyncpg.Pool, batch_id: UUID, now: datetime
) -> asyncpg.Record:
    """issued, validated, and expired (not validated and past their expiry at ``now``)."""
    row: asyncpg.Record = await conn.fetchrow(
        """SELECT count(*) AS issued, count(validated_at) AS validated,
                  count(*) FILTER (WHERE validated_at IS NULL AND expires_at <= $2) AS expired
           FROM vouchers WHERE batch_id = $1""",
        batch_id,
        now,
    )
    return row


async def insert_vouchers(conn: asyncpg.Connection, batch: asyncpg.Record, codes: list[str]) -> int:
    """Insert the codes into the batch; how many were free (a code taken is skipped)."""
    rows = [
        (c, batch["id"], batch["association_id"], batch["value_cents"], batch["expires_at"])
        for c in codes
    ]
    return len(await _VOUCHERS.fetch(conn, rows))


async def voucher_codes(conn: asyncpg.Connection, batch_id: UUID) -> AsyncIterator[asyncpg.Record]:
    """The batch's vouchers in code order, by a cursor (inside a transaction)."""
    async for row in conn.cursor(
        "SELECT code, value_cents, expires_at FROM vouchers WHERE batch_id = $1 ORDER BY code",
        batch_id,
        prefetch=2000,
    ):
        yield row


async def voucher(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM vouchers WHERE code = $1", code)
    return row


async def validate_voucher(
    conn: asyncpg.Connection, code: str, now: datetime, merchant_id: UUID, account_id: UUID
) -> asyncpg.Record | None:
    """The guard: of two concurrent validations, the second waits for the first's row lock,
    then finds validated_at set and updates nothing (None)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """UPDATE vouchers SET validated_at = $2, validated_by_merchant = $3, account_id = $4
           WHERE code = $1 AND validated_at IS NULL AND expires_at > $2
           RETURNING *""",
        code,
        now,
        merchant_id,
        account_id,
    )
    return row


async def voucher_entry(conn: asyncpg.Connection, reference: UUID) -> asyncpg.Record | None:
    """The credit a voucher's validation booked."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT card_number, balance_after_cents FROM cagnotte_entries
           WHERE kind = 'voucher' AND bucket = 'available' AND reference_id = $1""",
        reference,
    )
    return row


# --- adjustments -------------------------------------------------------------------------------


async def adjustments(conn: asyncpg.Connection, account_id: UUID) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT reference_id, bucket, amount_cents, balance_after_cents, actor, note,
                  occurred_at
           FROM cagnotte_entries WHERE account_id = $1 AND kind = 'adjustment' ORDER BY id""",
        account_id,
    )
    return rows
