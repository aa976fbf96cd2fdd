"""Versioned contracts of the events the services exchange. Money is in integer cents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from shared.events import EventData, register

Cents = int
MAX_SALE_CENTS = 10_000_000  # 100,000 €: above this a till has surely mistyped


class _AtTerminal(EventData):
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    terminal_id: UUID
    occurred_at: datetime

    def origin(self) -> dict[str, Any]:
        """Where and when it happened, to carry over to the events it causes."""
        return {f: getattr(self, f) for f in _ORIGIN}


_ORIGIN = ("association_id", "merchant_id", "shop_id", "terminal_id", "occurred_at")


@register
class SaleRecorded(_AtTerminal):
    """The gateway accepted a sale from a terminal; cards will credit the cagnotte."""

    name = "sale.recorded"
    sale_id: UUID
    phone: str
    amount_cents: Cents = Field(gt=0, le=MAX_SALE_CENTS)
    product_family: str | None = None


@register
class RedemptionRequested(_AtTerminal):
    """A holder asks to pay part of a purchase with the cagnotte (décagnottage)."""

    name = "redemption.requested"
    redemption_id: UUID
    phone: str
    amount_cents: Cents = Field(gt=0, le=MAX_SALE_CENTS)


@register
class EnrolmentRequested(_AtTerminal):
    """Quick enrolment at the till: a phone number, the rest completed later."""

    name = "enrolment.requested"
    enrolment_id: UUID
    phone: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@register
class AccountOpened(EventData):
    name = "account.opened"
    account_id: UUID
    association_id: UUID
    merchant_id: UUID
    phone: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    opened_at: datetime
    # The enrolment or sale request that opened it, so the gateway can answer its terminal.
    request_id: UUID
    request_kind: Literal["sale", "enrolment"]


@register
class CagnotteCredited(_AtTerminal):
    """Cards credited the reward of a sale (cagnottage); clearing and crm book it."""

    name = "cagnotte.credited"
    sale_id: UUID
    account_id: UUID
    amount_cents: Cents
    product_family: str | None
    reward_cents: Cents = Field(ge=0)
    fee_cents: Cents = Field(ge=0)
    taux_client_bps: int
    taux_uc_bps: int
    balance_cents: Cents
    # The sale opened the account (first purchase credited at creation).
    account_opened: bool = False


@register
class CagnotteRedeemed(_AtTerminal):
    """Cards debited the cagnotte to pay at a merchant (décagnottage)."""

    name = "cagnotte.redeemed"
    redemption_id: UUID
    account_id: UUID
    amount_cents: Cents = Field(gt=0)
    balance_cents: Cents


RefusalReason = Literal[
    "insufficient_balance",
    "unknown_account",
    "unknown_merchant",
    "merchant_not_in_association",
    "already_enrolled",
]


@register
class SaleRefused(EventData):
    name = "sale.refused"
    sale_id: UUID
    reason: RefusalReason
    detail: str


@register
class RedemptionRefused(EventData):
    name = "redemption.refused"
    redemption_id: UUID
    reason: RefusalReason
    detail: str
    available_cents: Cents | None = None


@register
class EnrolmentRefused(EventData):
    name = "enrolment.refused"
    enrolment_id: UUID
    reason: RefusalReason
    detail: str
    account_id: UUID | None = None
