"""What cards tells the other services about accounts, cards, merchants, partners and the
parameters of offline terminals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.base import Cents, Purse
from shared.events import EventData, register


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
    # The sponsor's referral code an enrolment at the till gave (F22): crm links the sponsor.
    referral_code: str | None = Field(default=None, pattern=r"^[0-9A-Z]{8}$")


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
      negative, paid to the partner with the monthly settlement;
    - ``sponsorship``: a sponsorship reward (F22) of the sponsor or the newcomer, funded by
      ``merchant_id`` when its programme is that merchant's, else by the association.
    """

    name = "account.adjusted"
    movement_id: UUID
    kind: Literal[
        "adjustment",
        "opening_balance",
        "pending_lost",
        "voucher",
        "load",
        "donation",
        "sponsorship",
    ]
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


@register
class AccountHolderRenamed(EventData):
    """The names on an account were changed in the back office (F16: a name changed by
    marriage, a title given later): all three as they are now, not a diff, so a consumer
    that missed an earlier change is right after this one. Clearing shows them on the
    statements' detail lines.

    No longer published: a correction at cards is ``AccountDetailsCorrected``, applied by crm,
    which owns personal data and tells every service (``customer.details_changed``). Clearing
    still applies the ones published before, so none in flight at an upgrade is lost."""

    name = "account.holder_renamed"
    account_id: UUID
    association_id: UUID
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    changed_at: datetime


# The holder's details a back-office correction at cards may give (PATCH /v1/accounts/{id}).
CorrectedDetail = Literal[
    "title", "first_name", "last_name", "email", "birth_date", "postal_code", "phone"
]


@register
class AccountDetailsCorrected(EventData):
    """The back office corrected or completed an account holder's details at cards
    (``PATCH /v1/accounts/{id}``: a name mistyped at the till, a mobile changed). crm owns
    personal data: it applies the fields named in ``changed`` to the customer file and, as for
    any change of the file, publishes ``customer.details_changed``, which is how clearing's
    statement lines and cards' card records hear of it. cards publishes nothing when it
    applies that event, so a correction goes round once.

    The values are the account's after the correction; ``changed`` names the fields the back
    office gave (a None among them: cleared)."""

    name = "account.details_corrected"
    account_id: UUID
    association_id: UUID
    changed: list[CorrectedDetail] = Field(min_length=1)
    title: str | None = Field(default=None, max_length=20)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20, description="the mobile, E.164")
    birth_date: date | None = None
    postal_code: str | None = Field(default=None, max_length=10)
    corrected_at: datetime


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
    # Where the merchant's statements are e-mailed (notifications); None: not given yet.
    email: str | None = Field(default=None, max_length=320)


@register
class PartnerRegistered(EventData):
    """A partner association of an association (a sports club, a parents' association) was
    registered or changed at clearing (F19): cards takes donations to it while it is active."""

    name = "partner.registered"
    partner_id: UUID
    association_id: UUID
    partner_name: str = Field(min_length=1, max_length=200)
    active: bool = True
