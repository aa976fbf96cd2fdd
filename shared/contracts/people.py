"""What crm, which owns personal data, tells the other services about people (issue 13).

The other services keep only the personal data they need (cards: the names on the card
records and the identifiers; clearing: the names on the statements' detail lines;
notifications: the addresses of the messages it sent). A change of details (F16: a name
changed by marriage) and an erasure (GDPR) reach them as events, so none of them goes on
showing a name crm corrected or forgot."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.events import EventData, register


@register
class CustomerDetailsChanged(EventData):
    """The customer's details after a change (all of them, not a diff: a consumer that missed
    an earlier change is right after this one); ``changed`` names the fields that changed."""

    name = "customer.details_changed"
    account_id: UUID
    association_id: UUID
    title: str | None = Field(default=None, max_length=20)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=20, description="the mobile, E.164")
    email: str | None = Field(default=None, max_length=320)
    changed: list[str] = Field(default_factory=list)
    changed_at: datetime


@register
class CustomerErased(EventData):
    """The customer's personal data are erased (on request, or by the retention job): every
    service removes what it holds of them or replaces it with ``pseudonym``. Amounts stay,
    under the account id, so the books still balance. ``addresses`` are the phone numbers and
    e-mail addresses the person was reached at, for the services that know them only by
    address (notifications' message log); the event carries them once, to forget them."""

    name = "customer.erased"
    account_id: UUID
    association_id: UUID
    pseudonym: str = Field(pattern=r"^anonyme-[0-9a-f]{12}$")
    addresses: list[str] = Field(default_factory=list, max_length=20)
    reason: Literal["request", "retention"]
    erased_at: datetime


@register
class ConsentChanged(EventData):
    """A consent confirmed (double opt-in done, or given on paper) or withdrawn (by the person,
    a one-click unsubscribe, an SMS STOP, a bounce): crm → notifications' webhooks. No address:
    which consent, whose, and how it changed (issue 14)."""

    name = "consent.changed"
    consent_id: UUID
    account_id: UUID
    association_id: UUID
    merchant_id: UUID | None = Field(default=None, description="None: the network's consent")
    channel: Literal["email", "sms", "post"]
    status: Literal["confirmed", "withdrawn"]
    how: str = Field(max_length=40, description="email_link, sms_code, one_click, sms_stop, …")
    changed_at: datetime
