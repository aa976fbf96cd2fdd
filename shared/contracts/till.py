"""What a till asks (sale, redemption, return, enrolment), through the gateway to cards, and
what cards answers: credited, redeemed, reversed, or refused with a reason."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.base import MAX_QUANTITY, MAX_SALE_CENTS, AtTerminal, Cents, Holder, Purse
from shared.events import EventData, register


@register
class SaleRecorded(Holder):
    """The gateway accepted a sale from a terminal; cards will credit the reward."""

    name = "sale.recorded"
    sale_id: UUID
    amount_cents: Cents = Field(gt=0, le=MAX_SALE_CENTS)
    product_family: str | None = None
    # Items bought: what a stamps program counts.
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)


@register
class RedemptionRequested(Holder):
    """A holder asks to pay part of a purchase with the cagnotte (décagnottage) or with the
    money loaded on a gift card, prepaid card or e-purse (``purse="stored_value"``)."""

    name = "redemption.requested"
    redemption_id: UUID
    amount_cents: Cents = Field(gt=0, le=MAX_SALE_CENTS)
    purse: Purse = "cagnotte"


@register
class ReturnRecorded(AtTerminal):
    """A sale cancelled or goods returned (F16): its reward is reversed, in whole
    (``amount_cents`` = the sale's) or pro rata of the amount returned."""

    name = "return.recorded"
    return_id: UUID
    sale_id: UUID
    amount_cents: Cents = Field(gt=0, le=MAX_SALE_CENTS)
    reason: Literal["cancelled", "returned"]


@register
class EnrolmentRequested(AtTerminal):
    """Quick enrolment at the till (F3): a mobile, an e-mail address or both, the rest completed
    later by the customer through the link crm sends. Each names the account it opens: a
    mobile or an e-mail already used in the association is refused ``already_enrolled``."""

    name = "enrolment.requested"
    enrolment_id: UUID
    phone: str | None = None
    email: str | None = Field(default=None, max_length=254)
    first_name: str | None = None
    last_name: str | None = None
    # A sponsor's referral code (F22), checked and normalised by the gateway; cards passes it on
    # in ``AccountOpened``, crm finds the sponsor.
    referral_code: str | None = Field(default=None, pattern=r"^[0-9A-Z]{8}$")

    @model_validator(mode="after")
    def _a_contact(self) -> EnrolmentRequested:
        if self.phone is None and self.email is None:
            raise ValueError("an enrolment gives a phone or an e-mail address (or both)")
        return self


class RuleRefusal(BaseModel):
    """A reward refused in whole or in part by a rule (law, scope, program), with its reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    detail: str


@register
class CagnotteCredited(AtTerminal):
    """Cards credited the reward of a sale (cagnottage): the answer the till waits for, through
    the gateway. What clearing and crm book is ``TransactionsBooked``, published with it.

    ``reward_cents`` is what the sale added to the customers' claim in euros, pending or
    available: the cagnotte reward, or for points and stamps the rewards their conversion
    gave at this sale. ``expired_cents`` is a pending amount that reached the end of the visit
    threshold's maximum period at this purchase and is forfeited."""

    name = "cagnotte.credited"
    sale_id: UUID
    account_id: UUID
    card_number: str | None = None
    amount_cents: Cents
    product_family: str | None
    reward_cents: Cents = Field(ge=0)
    fee_cents: Cents = Field(ge=0)
    taux_client_bps: int
    taux_uc_bps: int
    balance_cents: Cents
    pending_cents: Cents = 0
    transferred_cents: Cents = Field(default=0, ge=0)
    expired_cents: Cents = Field(default=0, ge=0)
    program_kind: Literal["cagnotte", "points", "stamps"] = "cagnotte"
    units_earned: int = Field(default=0, ge=0)
    units_balance: int = Field(default=0, ge=0)
    visits: int = 0
    refusals: list[RuleRefusal] = Field(default_factory=list)
    # The sale opened the account (first purchase credited at creation).
    account_opened: bool = False


@register
class CagnotteRedeemed(AtTerminal):
    """Cards debited the cagnotte (décagnottage) or the stored value to pay at a merchant: the
    till's answer, through the gateway (what clearing books is ``TransactionsBooked``)."""

    name = "cagnotte.redeemed"
    redemption_id: UUID
    account_id: UUID
    card_number: str | None = None
    amount_cents: Cents = Field(gt=0)
    balance_cents: Cents
    purse: Purse = "cagnotte"


@register
class RewardReversed(AtTerminal):
    """A return or cancellation took back (part of) a sale's reward; the fee is reversed in
    the same proportion. ``reward_cents`` = ``from_pending_cents`` + ``from_available_cents``."""

    name = "reward.reversed"
    return_id: UUID
    sale_id: UUID
    account_id: UUID
    amount_cents: Cents = Field(gt=0)
    reward_cents: Cents = Field(ge=0)
    fee_cents: Cents = Field(ge=0)
    from_pending_cents: Cents = Field(ge=0)
    from_available_cents: Cents = Field(ge=0)
    units_reversed: int = Field(default=0, ge=0)
    balance_cents: Cents
    pending_cents: Cents
    reason: Literal["cancelled", "returned"]


RefusalReason = Literal[
    "insufficient_balance",
    "unknown_account",
    "unknown_merchant",
    "merchant_not_in_association",
    "already_enrolled",
    "unknown_card",
    "card_lost",
    "card_stolen",
    "card_replaced",
    "card_cancelled",
    "card_cloned",
    "card_expired",
    "card_dormant",
    "card_not_accepted",
    "card_does_not_earn",
    "no_stored_value",
    "unknown_sale",
    "return_exceeds_sale",
    "would_go_negative",
    # dates within reason (shared/rules/dates.py)
    "occurred_in_future",
    "occurred_too_long_ago",
    "occurred_before_books_start",
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
class ReturnRefused(EventData):
    name = "return.refused"
    return_id: UUID
    reason: RefusalReason
    detail: str
    # What the return would take back and what the account holds, when it would go negative.
    reward_cents: Cents | None = None
    available_cents: Cents | None = None


@register
class EnrolmentRefused(EventData):
    name = "enrolment.refused"
    enrolment_id: UUID
    reason: RefusalReason
    detail: str
    account_id: UUID | None = None
