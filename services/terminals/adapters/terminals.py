"""The SQL of the terminals registry, of their sealed secrets (domain/keyring.py), and of
the gateway's copies of what cards publishes: the blacklist and the terminals' parameters."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from services.terminals.domain.keyring import Keyring
from shared.contracts import BlacklistChanged, TerminalParametersPublished
from shared.db.query import Batch


async def terminal(pool: asyncpg.Pool, terminal_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT * FROM terminals WHERE id = $1", terminal_id
    )
    return row


async def label(conn: asyncpg.Connection, terminal_id: UUID) -> str:
    """The label of a terminal that exists (it has just authenticated)."""
    value: str = await conn.fetchval("SELECT label FROM terminals WHERE id = $1", terminal_id)
    return value


async def upsert(
    pool: asyncpg.Pool,
    terminal_id: UUID,
    association_id: UUID,
    merchant_id: UUID,
    shop_id: UUID,
    label: str,
    active: bool,
    sealed: tuple[bytes, str],
    new_secret: bool,
) -> bool:
    """Register or update a terminal; True if it was created. Its sealed secret replaces the
    stored one only when created or when ``new_secret`` (the operator set it)."""
    row = await pool.fetchrow(
        """INSERT INTO terminals (id, association_id, merchant_id, shop_id, label,
                                  secret_sealed, secret_kek_id, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET association_id = excluded.association_id,
               merchant_id = excluded.merchant_id, shop_id = excluded.shop_id, label = excluded.label,
               active = excluded.active,
               secret = CASE WHEN $9 THEN NULL ELSE terminals.secret END,
               secret_sealed = CASE WHEN $9 THEN excluded.secret_sealed
                                    ELSE terminals.secret_sealed END,
               secret_kek_id = CASE WHEN $9 THEN excluded.secret_kek_id
                                    ELSE terminals.secret_kek_id END
           RETURNING xmax = 0 AS created""",
        terminal_id,
        association_id,
        merchant_id,
        shop_id,
        label,
        sealed[0],
        sealed[1],
        active,
        new_secret,
    )
    return bool(row["created"])


async def scope(pool: asyncpg.Pool, terminal_id: UUID) -> tuple[UUID, UUID] | None:
    """The association and merchant a terminal belongs to (None: no such terminal)."""
    row = await pool.fetchrow(
        "SELECT association_id, merchant_id FROM terminals WHERE id = $1", terminal_id
    )
    return None if row is None else (row["association_id"], row["merchant_id"])


async def summaries(
    pool: asyncpg.Pool, association_id: UUID | None = None, merchant_id: UUID | None = None
) -> list[asyncpg.Record]:
    """Every terminal, or an association's, or a merchant's."""
    rows: list[asyncpg.Record] = await pool.fetch(
        """SELECT id, association_id, merchant_id, shop_id, label, active
           FROM terminals
           WHERE ($1::uuid IS NULL OR association_id = $1)
             AND ($2::uuid IS NULL OR merchant_id = $2)
           ORDER BY label""",
        association_id,
        merchant_id,
    )
    return rows


# --- sealed secrets ------------------------------------------------------------------------------


async def seal_plaintext(pool: asyncpg.Pool, keyring: Keyring) -> int:
    """Seal the secrets still in clear (rows written before migration 0005); how many."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT id, secret FROM terminals WHERE secret_sealed IS NULL FOR UPDATE"
        )
        await _store(conn, [(r["id"], *keyring.seal(r["id"], r["secret"])) for r in rows])
        return len(rows)


async def rotate(conn: asyncpg.Connection, keyring: Keyring) -> int:
    """Reseal every terminal's secret under ``keyring.current``, in one transaction: either
    every row moves to the new KEK or none does. Returns how many rows were resealed."""
    async with conn.transaction():
        rows = await conn.fetch(
            "SELECT id, secret, secret_sealed, secret_kek_id FROM terminals ORDER BY id FOR UPDATE"
        )
        await _store(conn, [(r["id"], *keyring.seal(r["id"], keyring.secret_of(r))) for r in rows])
    return len(rows)


async def _store(conn: asyncpg.Connection, sealed: list[tuple[UUID, bytes, str]]) -> None:
    await conn.executemany(
        """UPDATE terminals SET secret = NULL, secret_sealed = $2, secret_kek_id = $3
           WHERE id = $1""",
        sealed,
    )


# --- copies of what cards publishes --------------------------------------------------------------

BLACKLIST = Batch(
    "blacklist",
    [
        ("version", "bigint"),
        ("card_number", "text"),
        ("association_id", "uuid"),
        ("action", "text"),
        ("reason", "text"),
        ("changed_at", "timestamptz"),
    ],
    "ON CONFLICT (version) DO NOTHING",
)
PARAMETERS = Batch(
    "terminal_parameters",
    [
        ("merchant_id", "uuid"),
        ("association_id", "uuid"),
        ("rules_version", "bigint"),
        ("document", "jsonb"),
    ],
    """ON CONFLICT (merchant_id) DO UPDATE SET association_id = excluded.association_id,
           rules_version = excluded.rules_version, document = excluded.document,
           received_at = now()
       WHERE terminal_parameters.rules_version < excluded.rules_version""",
)


async def add_blacklist(conn: asyncpg.Connection, changes: Sequence[BlacklistChanged]) -> None:
    """Versions are unique: a redelivery is a no-op."""
    await BLACKLIST.execute(
        conn,
        [
            (d.blacklist_version, d.card_number, d.association_id, d.action, d.reason, d.changed_at)
            for d in changes
        ],
    )


async def keep_parameters(
    conn: asyncpg.Connection, documents: Sequence[TerminalParametersPublished]
) -> None:
    """Keep the newest document per merchant (one per merchant in ``documents``)."""
    await PARAMETERS.execute(
        conn, [(d.merchant_id, d.association_id, d.rules_version, d.document) for d in documents]
    )
