"""Bank details in PostgreSQL (``bank_details``), one row per party."""

from __future__ import annotations

from datetime import date
from typing import TypeAlias
from uuid import UUID

import asyncpg

from services.clearing.adapters import scopes
from services.clearing.domain.epc import Address

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def save(
    conn: Db,
    kind: str,
    party_id: UUID,
    *,
    holder: str,
    iban: str,
    bic: str | None,
    mandate_id: str | None,
    mandate_signed_on: date | None,
    creditor_id: str | None,
    address: Address | None,
) -> None:
    """Set a party's bank details (its address whole or not at all)."""
    await conn.execute(
        """INSERT INTO bank_details (party_kind, party_id, holder, iban, bic, mandate_id,
                                     mandate_signed_on, creditor_id, address_street,
                                     address_building_number, address_postcode, address_town,
                                     address_country)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (party_kind, party_id) DO UPDATE SET holder = excluded.holder,
               iban = excluded.iban, bic = excluded.bic, mandate_id = excluded.mandate_id,
               mandate_signed_on = excluded.mandate_signed_on,
               creditor_id = excluded.creditor_id, address_street = excluded.address_street,
               address_building_number = excluded.address_building_number,
               address_postcode = excluded.address_postcode,
               address_town = excluded.address_town,
               address_country = excluded.address_country, updated_at = now()""",
        kind,
        party_id,
        holder,
        iban,
        bic,
        mandate_id,
        mandate_signed_on,
        creditor_id,
        None if address is None else address.street,
        None if address is None else address.building_number,
        None if address is None else address.postcode,
        None if address is None else address.town,
        None if address is None else address.country,
    )


async def get(conn: Db, kind: str, party_id: UUID) -> asyncpg.Record | None:
    """A party's bank details as stored, or None."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """SELECT holder, iban, bic, mandate_id, mandate_signed_on, creditor_id, updated_at
           FROM bank_details WHERE party_kind = $1 AND party_id = $2""",
        kind,
        party_id,
    )
    return row


async def of_association(conn: Db, association_id: UUID) -> list[asyncpg.Record]:
    """The bank details set for the association and for each merchant and partner whose
    settlement is the association's (a merchant's association as ``scopes`` finds it), by
    party."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT party_kind, party_id, holder, iban, bic, mandate_id, mandate_signed_on,
                   creditor_id, updated_at
            FROM bank_details b
            WHERE (party_kind = 'association' AND party_id = $1)
               OR (party_kind = 'partner'
                   AND party_id IN (SELECT id FROM partners WHERE association_id = $1))
               OR (party_kind = 'merchant'
                   AND {scopes.merchant_association_sql("b.party_id")} = $1)
            ORDER BY party_kind, party_id""",
        association_id,
    )
    return rows
