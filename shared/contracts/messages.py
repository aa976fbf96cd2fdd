"""Messages to people (issue 13): the services that decide a message is due (crm for
customers, clearing for a merchant's statement) ask notifications to send it; notifications
tells what became of it and what recipients answered (an SMS ``STOP``).

Who may receive what is decided before the request: a marketing message is requested only
with the consent its channel and scope need (crm checks it, and says which consent in
``consent_id``); notifications refuses a marketing e-mail without its one-click unsubscribe
URL and applies the hours marketing SMS may leave at."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events import EventData, register

Channel = Literal["email", "sms"]
# Transactional: a receipt, a statement, a validation link or code (sent whatever the
# marketing consents). Marketing: anything that promotes (needs consent, unsubscribe, hours).
Category = Literal["transactional", "marketing"]
Language = Literal["fr", "en"]
MessageStatus = Literal["queued", "deferred", "sent", "delivered", "failed"]


class Attachment(BaseModel):
    """A file notifications fetches from a service's API when it sends (a statement's XLSX)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    service: Literal["clearing", "cards", "crm"]
    path: str = Field(pattern=r"^/[A-Za-z0-9/_.\-?=&%]*$", max_length=500)
    filename: str = Field(min_length=1, max_length=200)
    content_type: str = Field(min_length=3, max_length=100)


@register
class MessageRequested(EventData):
    """One message to one recipient. ``message_id`` is chosen by the requester and known
    before sending: notifications sends each id once, whatever redelivery or restart."""

    name = "message.requested"
    message_id: UUID
    channel: Channel
    category: Category
    to: str = Field(
        min_length=3, max_length=320, description="an e-mail address or an E.164 number"
    )
    language: Language = "fr"
    template: str = Field(pattern=r"^[a-z][a-z0-9_]{1,60}$")
    variables: dict[str, Any] = Field(default_factory=dict)
    association_id: UUID
    merchant_id: UUID | None = None
    account_id: UUID | None = Field(default=None, description="the customer; None: a merchant")
    campaign_id: UUID | None = None
    consent_id: UUID | None = Field(
        default=None, description="the consent a marketing message relies on"
    )
    unsubscribe_url: str | None = Field(default=None, max_length=500)
    not_before: datetime | None = None
    attachments: list[Attachment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _marketing_needs_consent(self) -> MessageRequested:
        if self.category == "marketing" and self.consent_id is None:
            raise ValueError("a marketing message names the consent it relies on")
        if self.category == "marketing" and self.channel == "email" and not self.unsubscribe_url:
            raise ValueError("a marketing e-mail carries its one-click unsubscribe URL")
        return self


@register
class MessageStatusChanged(EventData):
    """What became of a requested message: deferred (hours), sent (the provider accepted it),
    delivered (a delivery report), failed (permanently, with the reason)."""

    name = "message.status_changed"
    message_id: UUID
    account_id: UUID | None = None
    campaign_id: UUID | None = None
    channel: Channel
    status: MessageStatus
    reason: str | None = Field(default=None, max_length=1000)
    provider_id: str | None = Field(default=None, max_length=200)
    at: datetime


@register
class OptOutReceived(EventData):
    """A recipient answered ``STOP`` to an SMS (or a mailbox bounced for good): crm withdraws
    the marketing consents of that channel for every person with that address."""

    name = "opt_out.received"
    channel: Channel
    address: str = Field(min_length=3, max_length=320)
    received_at: datetime
    keyword: str | None = Field(default=None, max_length=40)
