"""What the use cases answer: accounts, cards, identifiers, cagnotte entries, blacklist
changes and print batches, as the back office sees them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from services.cards.domain.cards import BLOCKED, CardState, Status, is_dormant
from shared.rules.codes import format_card_number

ENTRIES_SHOWN = 200


class Account(BaseModel):
    """An account: its holder's details and its buckets (``balance_cents`` is the available
    cagnotte)."""

    id: UUID
    association_id: UUID
    phone: str | None
    email: str | None
    title: str | None
    first_name: str | None
    last_name: str | None
    birth_date: date | None
    postal_code: str | None
    balance_cents: int = Field(description="the available cagnotte, spendable now")
    pending_cents: int = Field(description="rewards waiting for the visit threshold (F8)")
    units: int = Field(description="points or stamps not yet converted")
    stored_value_cents: int = Field(description="money loaded on a gift, prepaid or e-purse card")
    visits: int = Field(description="purchases counted towards the visit threshold")
    window_started_at: datetime | None
    opened_by_merchant: UUID | None
    opened_at: datetime


class Card(BaseModel):
    number: str
    formatted_number: str
    association_id: UUID
    account_id: UUID
    card_type_id: UUID
    card_type_name: str
    status: Status
    blacklisted: bool
    dormant: bool = Field(description="unused for the association's dormant_after_days (F4)")
    issued_at: datetime
    issued_by_merchant: UUID | None
    batch_id: UUID | None
    first_name: str | None
    last_name: str | None
    expires_on: date | None
    last_used_at: datetime | None
    reactivated_at: datetime | None
    status_changed_at: datetime
    replaced_by: str | None
    replaces: str | None


class Identifier(BaseModel):
    kind: Literal["phone", "email", "token", "card"]
    value: str
    linked_at: datetime | None


class Entry(BaseModel):
    id: int
    kind: str
    bucket: str
    reference_id: UUID
    amount_cents: int
    balance_after_cents: int
    purchase_cents: int | None
    product_family: str | None
    taux_client_bps: int | None
    fee_cents: int | None
    merchant_id: UUID | None
    shop_id: UUID | None
    terminal_id: UUID | None
    card_number: str | None
    reverses: UUID | None
    actor: str | None
    note: str | None
    occurred_at: datetime
    created_at: datetime


class AccountDetail(Account):
    cards: list[Card]
    identifiers: list[Identifier]
    entries: list[Entry] = Field(description=f"the last {ENTRIES_SHOWN} entries, newest first")


class LinkedIdentifier(BaseModel):
    account_id: UUID
    kind: Literal["email", "token"]
    value: str
    linked_at: datetime


class BlacklistChange(BaseModel):
    version: int
    card_number: str
    association_id: UUID
    action: Literal["add", "remove"]
    reason: str
    changed_at: datetime


class Batch(BaseModel):
    batch_id: UUID
    association_id: UUID
    card_type_id: UUID
    size: int
    created_at: datetime
    first_number: str
    last_number: str
    csv: str = Field(description="the path of the batch's CSV file for the card printer")


def card(r: Mapping[str, Any], now: datetime) -> Card:
    """A card as the back office sees it, dormancy judged at ``now``."""
    state = CardState(r["number"], r["status"], r["expires_on"], r["last_used_at"], r["issued_at"])
    return Card(
        number=r["number"],
        formatted_number=format_card_number(r["number"]),
        association_id=r["association_id"],
        account_id=r["account_id"],
        card_type_id=r["card_type_id"],
        card_type_name=r["card_type_name"],
        status=r["status"],
        blacklisted=r["status"] in BLOCKED,
        dormant=is_dormant(state, now, r["dormant_after_days"]),
        issued_at=r["issued_at"],
        issued_by_merchant=r["issued_by_merchant"],
        batch_id=r["batch_id"],
        first_name=r["first_name"],
        last_name=r["last_name"],
        expires_on=r["expires_on"],
        last_used_at=r["last_used_at"],
        reactivated_at=r["reactivated_at"],
        status_changed_at=r["status_changed_at"],
        replaced_by=r["replaced_by"],
        replaces=r["replaces"],
    )
