"""SQL of the cards service."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.domain import MerchantTerms
from shared.rules.rates import AssociationRates, MerchantRates, RateMode


async def merchant_terms(
    conn: asyncpg.Connection, merchant_ids: Iterable[UUID]
) -> dict[UUID, MerchantTerms]:
    rows = await conn.fetch(
        """SELECT m.id, m.association_id, m.taux_client_bps AS m_client, m.taux_uc_bps AS m_uc,
                  a.rate_mode, a.taux_client_bps AS a_client, a.taux_uc_bps AS a_uc
           FROM merchants m JOIN associations a ON a.id = m.association_id
           WHERE m.id = ANY($1::uuid[])""",
        list(set(merchant_ids)),
    )
    return {
        r["id"]: MerchantTerms(
            r["id"],
            r["association_id"],
            AssociationRates(RateMode(r["rate_mode"]), r["a_client"], r["a_uc"]),
            MerchantRates(r["m_client"], r["m_uc"]),
        )
        for r in rows
    }


async def open_accounts(
    conn: asyncpg.Connection,
    new: list[tuple[UUID, UUID, str, UUID, str | None, str | None, str | None]],
) -> set[UUID]:
    """Insert (id, association, phone, merchant, email, first, last); return the ids created."""
    if not new:
        return set()
    rows = await conn.fetch(
        """INSERT INTO accounts (id, association_id, phone, opened_by_merchant, email, first_name, last_name)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[])
           ON CONFLICT (association_id, phone) DO NOTHING
           RETURNING id""",
        *zip(*new, strict=True),
    )
    return {r["id"] for r in rows}


async def existing_accounts(
    conn: asyncpg.Connection, keys: Iterable[tuple[UUID, str]]
) -> set[tuple[UUID, str]]:
    pairs = list(keys)
    rows = await conn.fetch(
        """SELECT a.association_id, a.phone
           FROM accounts a JOIN unnest($1::uuid[], $2::text[]) k(association_id, phone)
             ON a.association_id = k.association_id AND a.phone = k.phone""",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    return {(r["association_id"], r["phone"]) for r in rows}


async def lock_accounts(
    conn: asyncpg.Connection, keys: Iterable[tuple[UUID, str]]
) -> list[asyncpg.Record]:
    """Lock the accounts of (association, phone) pairs, in id order so batches never deadlock."""
    pairs = list(set(keys))
    if not pairs:
        return []
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT a.id, a.association_id, a.phone, a.balance_cents, a.opened_at
           FROM accounts a JOIN unnest($1::uuid[], $2::text[]) k(association_id, phone)
             ON a.association_id = k.association_id AND a.phone = k.phone
           ORDER BY a.id FOR UPDATE OF a""",
        [p[0] for p in pairs],
        [p[1] for p in pairs],
    )
    return rows


async def already_booked(conn: asyncpg.Connection, kind: str, refs: list[UUID]) -> set[UUID]:
    rows = await conn.fetch(
        "SELECT reference_id FROM cagnotte_entries WHERE kind = $1 AND reference_id = ANY($2::uuid[])",
        kind,
        refs,
    )
    return {r["reference_id"] for r in rows}


ENTRY_COLUMNS = (
    "account_id",
    "kind",
    "reference_id",
    "amount_cents",
    "balance_after_cents",
    "purchase_cents",
    "product_family",
    "taux_client_bps",
    "merchant_id",
    "shop_id",
    "terminal_id",
    "occurred_at",
)


async def append_entries(conn: asyncpg.Connection, entries: list[tuple[Any, ...]]) -> None:
    if entries:
        await conn.copy_records_to_table("cagnotte_entries", records=entries, columns=ENTRY_COLUMNS)


async def set_balances(conn: asyncpg.Connection, balances: list[tuple[UUID, int]]) -> None:
    if balances:
        await conn.execute(
            """UPDATE accounts a SET balance_cents = v.balance
               FROM unnest($1::uuid[], $2::bigint[]) v(id, balance) WHERE a.id = v.id""",
            [b[0] for b in balances],
            [b[1] for b in balances],
        )


def entry(
    account_id: UUID,
    kind: str,
    reference_id: UUID,
    amount_cents: int,
    balance_after: int,
    merchant_id: UUID,
    shop_id: UUID,
    terminal_id: UUID,
    occurred_at: datetime,
    purchase_cents: int | None = None,
    product_family: str | None = None,
    taux_client_bps: int | None = None,
) -> tuple[Any, ...]:
    return (
        account_id,
        kind,
        reference_id,
        amount_cents,
        balance_after,
        purchase_cents,
        product_family,
        taux_client_bps,
        merchant_id,
        shop_id,
        terminal_id,
        occurred_at,
    )
