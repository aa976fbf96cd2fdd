"""Versioned contracts of the events the services exchange. Money is in integer cents."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid5

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from shared.events import EventData, register
from shared.fields import FamilyCode, as_utc

Cents = int
MAX_SALE_CENTS = 10_000_000  # 100,000 €: above this a till has surely mistyped
MAX_QUANTITY = 10_000
Purse = Literal["cagnotte", "stored_value"]

# A time a terminal sends: an RFC 3339 string with its offset (issue 11, finding 12). A
# number, a bare date, digits (which pydantic would read as a Unix time) or a time without
# offset are refused: the same instant must be one line whatever the terminal's zone.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value  # built in Python: the type (aware) is checked after
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(
            "a time is an RFC 3339 string with an offset, e.g. 2026-12-05T14:03:00+01:00"
        )
    # Parsed here: pydantic's strict mode (terminal input) takes no string for a datetime
    # once a validator stands before it. Upper case: RFC 3339 allows "t" and "z".
    return datetime.fromisoformat(value.upper())


# Normalised to UTC (shared.fields.as_utc): an instant a consumer cannot convert is refused
# where it enters, not in the consumer (issue 11, finding 4).
Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339), AfterValidator(as_utc)]


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


class _Holder(_AtTerminal):
    """The customer is named by a phone number (cardless account) or a card number, not both."""

    phone: str | None = None
    card_number: str | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> _Holder:
        if (self.phone is None) == (self.card_number is None):
            raise ValueError("give the customer's phone or card number, exactly one")
        return self


@register
class SaleRecorded(_Holder):
    """The gateway accepted a sale from a terminal; cards will credit the reward."""

    name = "sale.recorded"
    sale_id: UUID
    amount_cents: Cents = Field(gt=0, le=MAX_SALE_CENTS)
    product_family: str | None = None
    # Items bought: what a stamps program counts.
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)


@register
class RedemptionRequested(_Holder):
    """A holder asks to pay part of a purchase with the cagnotte (décagnottage) or with the
    money loaded on a gift card, prepaid card or e-purse (``purse="stored_value"``)."""

    name = "redemption.requested"
    redemption_id: UUID
    amount_cents: Cents = Field(gt=0, le=MAX_SALE_CENTS)
    purse: Purse = "cagnotte"


@register
class ReturnRecorded(_AtTerminal):
    """A sale cancelled or goods returned (F16): its reward is reversed, in whole
    (``amount_cents`` = the sale's) or pro rata of the amount returned."""

    name = "return.recorded"
    return_id: UUID
    sale_id: UUID
    amount_cents: Cents = Field(gt=0, le=MAX_SALE_CENTS)
    reason: Literal["cancelled", "returned"]


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
    merchant_id: UUID | None = None
    phone: str | None = None
    email: str | None = None
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    opened_at: datetime
    # The request that opened it (a sale or enrolment: so the gateway can answer its terminal;
    # a card issuance; a customer file import).
    request_id: UUID
    request_kind: Literal["sale", "enrolment", "issuance", "import"]


class RuleRefusal(BaseModel):
    """A reward refused in whole or in part by a rule (law, scope, program), with its reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    detail: str


@register
class CagnotteCredited(_AtTerminal):
    """Cards credited the reward of a sale (cagnottage); clearing and crm book it.

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
class CagnotteRedeemed(_AtTerminal):
    """Cards debited the cagnotte (décagnottage) or the stored value to pay at a merchant."""

    name = "cagnotte.redeemed"
    redemption_id: UUID
    account_id: UUID
    card_number: str | None = None
    amount_cents: Cents = Field(gt=0)
    balance_cents: Cents
    purse: Purse = "cagnotte"


@register
class RewardReversed(_AtTerminal):
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


@register
class AccountAdjusted(EventData):
    """A movement of an account's money that is not a sale, a redemption or a return.

    - ``adjustment``: an audited correction by the back office (F16), signed; the only entry
      that may leave a balance below zero;
    - ``opening_balance``: a balance brought by a customer file import (F5);
    - ``pending_lost``: the pending rewards of a dormant card, lost at its reactivation (F4);
    - ``voucher``: a gift voucher of the association validated at ``merchant_id`` (F11);
    - ``load``: money a customer paid ``merchant_id`` to load a gift card, prepaid card or
      e-purse (purse ``stored_value``; a liability kept apart from rewards);
    - ``donation``: rewards a member gave to the partner association ``partner_id`` (F19),
      negative, paid to the partner with the monthly settlement.
    """

    name = "account.adjusted"
    movement_id: UUID
    kind: Literal["adjustment", "opening_balance", "pending_lost", "voucher", "load", "donation"]
    account_id: UUID
    association_id: UUID
    merchant_id: UUID | None = None
    partner_id: UUID | None = None
    card_number: str | None = None
    purse: Purse
    bucket: Literal["available", "pending", "stored_value"]
    amount_cents: Cents  # signed: > 0 adds to the customer's claim
    balance_cents: Cents  # of the bucket, after
    actor: str | None = None
    reason: str | None = None
    occurred_at: datetime


@register
class BlacklistChanged(EventData):
    """A card entered or left the blacklist; the version grows by one per change, network-wide,
    so a terminal asks for the changes since the version it holds (``blacklist_version``)."""

    name = "blacklist.changed"
    blacklist_version: int
    card_number: str
    association_id: UUID
    action: Literal["add", "remove"]
    reason: Literal["lost", "stolen", "replaced", "cloned", "cancelled", "found"]
    changed_at: datetime


@register
class CardIssued(EventData):
    """A card was issued (or replaced another) and linked to an account."""

    name = "card.issued"
    card_number: str
    account_id: UUID
    association_id: UUID
    card_type_id: UUID
    first_name: str | None = None
    last_name: str | None = None
    issued_at: datetime
    issued_by_merchant: UUID | None = None
    replaces: str | None = None


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


# --- Chip cards and offline terminals (docs/terminal-protocol.md) ------------------------------

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
    product_family: FamilyCode | None = None
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


class BookedCardTransaction(BaseModel):
    """A card transaction as the cards service booked it, for clearing and crm."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    transaction_id: UUID  # card_transaction_id(terminal, seq): the sale's or redemption's id
    kind: Literal["sale", "redemption"]
    account_id: UUID
    card_number: str
    occurred_at: datetime
    amount_cents: Cents
    product_family: str | None = None
    reward_cents: Cents = 0  # added to the customer's claim, pending or available
    expired_cents: Cents = 0  # pending forfeited at this purchase (threshold's maximum period)
    fee_cents: Cents = 0  # the operator's fee (taux UC) on the sale, by the server's rules


@register
class CardTransactionsBooked(EventData):
    """The transactions of one synced chunk that the cards service booked (all but those
    refused as forged or cloned, kept as card anomalies)."""

    name = "card.transactions.booked"
    chunk_id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    terminal_id: UUID
    transactions: list[BookedCardTransaction]


@register
class TerminalParametersPublished(EventData):
    """What a merchant's offline terminals need to compute rewards and check cards, at one
    ``rules_version`` (``shared.rules.params.TerminalParameters``, as JSON)."""

    name = "terminal.parameters.published"
    merchant_id: UUID
    association_id: UUID
    rules_version: int
    document: dict[str, Any]


@register
class MerchantRegistered(EventData):
    """A merchant was admitted, changed or closed (cards → clearing: the statements' account,
    created on, closed on and rates). The rates are the ones its sales earn by default: the
    association's in ``network`` rate mode, the merchant's own otherwise."""

    name = "merchant.registered"
    merchant_id: UUID
    association_id: UUID
    merchant_name: str = Field(min_length=1, max_length=200)
    taux_client_bps: int = Field(ge=0, le=10_000)
    taux_uc_bps: int = Field(ge=0, le=10_000)
    created_at: datetime
    closed_on: date | None = None


@register
class PartnerRegistered(EventData):
    """A partner association of an association (a sports club, a parents' association) was
    registered or changed at clearing (F19): cards takes donations to it while it is active."""

    name = "partner.registered"
    partner_id: UUID
    association_id: UUID
    partner_name: str = Field(min_length=1, max_length=200)
    active: bool = True


@register
class MonthlyStatementReady(EventData):
    """A merchant's statement of a closed period (clearing → notifications, which sends it).
    ``net_cents`` > 0: the merchant pays the pivot; < 0: the pivot pays the merchant."""

    name = "statement.ready"
    statement_id: UUID
    association_id: UUID
    merchant_id: UUID
    merchant_name: str
    period_start: date
    period_end: date
    purchases_count: int
    purchases_cents: Cents
    cagnottages_cents: Cents
    fees_cents: Cents
    redemptions_count: int
    redemptions_cents: Cents
    net_cents: Cents = Field(
        description="> 0: the merchant pays the pivot; < 0: the pivot pays the merchant"
    )
    xlsx_path: str = Field(description="the XLSX export, on clearing's API")
    csv_path: str = Field(description="the CSV export, on clearing's API")


@register
class EventDeadLettered(EventData):
    """A consumer could not process an event and set it aside (its queue's ``.dead`` twin
    and ``dead_letters``, with the reason). Published through the outbox of the service that
    gave up, in the transaction that set it aside: the gateway ends the terminal request the
    event carried as failed, so no request waits for ever (issue 11, build item 5)."""

    name = "event.dead_lettered"
    service: str = Field(description="the service whose consumer gave up")
    event_id: str | None = None
    event_type: str | None = None
    event_source: str | None = None
    subject: str | None = None
    reason: str = Field(max_length=1000)
