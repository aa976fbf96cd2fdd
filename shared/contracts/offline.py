"""Chip cards and offline terminals (docs/terminal-protocol.md): the journal lines a terminal
syncs (what cards booked of them: ``shared.contracts.booked``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.base import MAX_QUANTITY, MAX_SALE_CENTS, Cents, Instant
from shared.events import EventData, register
from shared.fields import ProductFamilyCode

CARD_SALE_NAMESPACE = UUID("6d1f5c1e-8f0a-4c39-9a57-5b1f3f0c2a11")


def card_transaction_id(terminal_id: UUID, seq: int) -> UUID:
    """The sale's or redemption's id for the rest of the system: one per (terminal, sequence),
    the same however often it is synced."""
    return uuid5(CARD_SALE_NAMESPACE, f"{terminal_id}/{seq}")


class CardTransaction(BaseModel):
    """One line of an offline terminal's journal: a credit or a debit the card certified.

    The deltas and balances are the card's (cents; units are points or stamps); the
    certificate covers them with ``shared.card.crypto.Certified``. ``reward_cents`` and
    ``product_family`` are the terminal's, covered by the sync session's MAC only."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    seq: int = Field(ge=1, le=2**32 - 1, description="the terminal's journal sequence")
    kind: Literal["sale", "redemption"]
    card_number: str = Field(pattern=r"^[0-9]{16}$")
    atc: int = Field(ge=1, le=2**32 - 1, description="the card's transaction counter after it")
    occurred_at: Instant
    amount_cents: Cents = Field(gt=0, le=MAX_SALE_CENTS)
    product_family: ProductFamilyCode | None = None
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)
    reward_cents: Cents = Field(default=0, ge=0, le=MAX_SALE_CENTS)
    expired_cents: Cents = Field(default=0, ge=0, le=MAX_SALE_CENTS)
    available_delta: Cents = Field(ge=-MAX_SALE_CENTS, le=MAX_SALE_CENTS)
    pending_delta: Cents = Field(ge=-MAX_SALE_CENTS, le=MAX_SALE_CENTS)
    units_delta: int = Field(default=0, ge=-MAX_SALE_CENTS, le=MAX_SALE_CENTS)
    available_after: Cents = Field(ge=0, le=2**40)
    pending_after: Cents = Field(ge=0, le=2**40)
    units_after: int = Field(default=0, ge=0, le=2**40)
    visits_after: int = Field(ge=0, le=2**32 - 1)
    window_started_at: Instant | None = None
    key_version: int = Field(default=1, ge=0, le=255)
    terminal_nonce: str = Field(pattern=r"^[0-9a-f]{16}$")
    certificate: str = Field(pattern=r"^[0-9a-f]{16}$")


@register
class CardTransactionsSynced(EventData):
    """A chunk of an offline terminal's journal, committed by the gateway (one per chunk)."""

    name = "card.transactions.synced"
    chunk_id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    terminal_id: UUID
    synced_at: datetime
    transactions: list[CardTransaction]
    # The rules_version of the parameters the terminal said it held at the session's HELLO:
    # its rewards are checked against those rules (None: against the current ones).
    params_version: int | None = Field(default=None, ge=0, le=2**62)
