"""Setting a party's bank details: each part checked (``domain/bank.py``, ``domain/epc.py``),
then stored; the settlement files use what is stored at the close."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from services.clearing.adapters import bank_details as repo
from services.clearing.adapters import scopes
from services.clearing.domain import bank
from services.clearing.domain.epc import Address, BankDetailsError
from shared.http import Problem


@dataclass(frozen=True, slots=True)
class Typed:
    """Bank details as typed: the address as a dict of its parts, if any."""

    holder: str
    iban: str
    bic: str | None
    mandate_id: str | None
    mandate_signed_on: date | None
    creditor_id: str | None
    address: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Checked:
    holder: str
    iban: str
    bic: str | None
    mandate_id: str | None
    mandate_signed_on: date | None
    creditor_id: str | None
    address: Address | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["address"] = None if self.address is None else asdict(self.address)
        return out


def check(kind: str, typed: Typed) -> Checked:
    """The details normalised, or ``BankDetailsError`` naming the field and what is wrong."""
    iban = bank.normalize_iban(typed.iban)
    bic = bank.normalize_bic(typed.bic) if typed.bic else None
    holder = bank.sepa_text(typed.holder, 70)
    if (typed.mandate_id is None) != (typed.mandate_signed_on is None):
        raise BankDetailsError(
            "mandate_id", "give the mandate's id and the date it was signed, or neither"
        )
    if typed.mandate_id is not None and kind != "merchant":
        raise BankDetailsError("mandate_id", "only a merchant is debited on a mandate")
    mandate = bank.validate_mandate_id(typed.mandate_id) if typed.mandate_id else None
    if kind == "association" and typed.creditor_id is None:
        raise BankDetailsError(
            "creditor_id", "the association collects direct debits: give its creditor id"
        )
    if typed.creditor_id is not None and kind != "association":
        raise BankDetailsError("creditor_id", "only the association has a creditor id")
    creditor = bank.normalize_creditor_id(typed.creditor_id) if typed.creditor_id else None
    address = None if typed.address is None else bank.normalize_address(**typed.address)
    bank.check_address(iban, address)
    return Checked(holder, iban, bic, mandate, typed.mandate_signed_on, creditor, address)


async def party_association(conn: asyncpg.Pool, kind: str, party_id: UUID) -> UUID | None:
    """The association whose settlement uses a party's bank details: a merchant's or a
    partner's, the association itself; None for the operator's, or a party clearing does not
    know yet (the operator's alone to set)."""
    if kind == "merchant":
        return await scopes.merchant_association(conn, party_id)
    if kind == "partner":
        return await scopes.partner_association(conn, party_id)
    return party_id if kind == "association" else None


async def set_details(
    conn: asyncpg.Connection | asyncpg.Pool, kind: str, party_id: UUID, typed: Typed
) -> Checked:
    """Check and store; 422 (reason ``invalid_<field>``) naming what is wrong."""
    try:
        details = check(kind, typed)
    except BankDetailsError as exc:
        raise Problem(
            422, "Invalid bank details", exc.detail, field=exc.field, reason=f"invalid_{exc.field}"
        ) from exc
    await repo.save(
        conn,
        kind,
        party_id,
        holder=details.holder,
        iban=details.iban,
        bic=details.bic,
        mandate_id=details.mandate_id,
        mandate_signed_on=details.mandate_signed_on,
        creditor_id=details.creditor_id,
        address=details.address,
    )
    return details


def masked(iban: str) -> str:
    """An IBAN as it may be shown: every character but the last 4 hidden."""
    return "•" * max(len(iban) - 4, 0) + iban[-4:]


async def shown(conn: asyncpg.Pool, kind: str, party_id: UUID) -> dict[str, Any]:
    """A party's bank details as they may be read back: the IBAN masked but its last 4
    characters; 404 ``no_bank_details`` when none are set."""
    row = await repo.get(conn, kind, party_id)
    if row is None:
        raise Problem(
            404,
            "No bank details",
            f"no bank details are set for this {kind}",
            reason="no_bank_details",
        )
    return _shown(kind, party_id, row)


async def shown_for_association(conn: asyncpg.Pool, association_id: UUID) -> list[dict[str, Any]]:
    """Every party's bank details the association sets (its own, its merchants', its
    partners'), read back as ``shown`` reads one: a page lists them in one call."""
    rows = await repo.of_association(conn, association_id)
    return [_shown(r["party_kind"], r["party_id"], r) for r in rows]


def _shown(kind: str, party_id: UUID, row: asyncpg.Record) -> dict[str, Any]:
    return {
        "party_kind": kind,
        "party_id": party_id,
        "holder": row["holder"],
        "iban_masked": masked(row["iban"]),
        "iban_last4": row["iban"][-4:],
        "bic": row["bic"],
        "mandate_id": row["mandate_id"],
        "mandate_signed_on": row["mandate_signed_on"],
        "creditor_id": row["creditor_id"],
        "updated_at": row["updated_at"],
    }
