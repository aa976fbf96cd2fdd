"""Segments and campaigns (F24), pure: the filters of a segment of a network's or a
merchant's customers, and the id of each campaign message (derived, so sending again asks
for the same messages, which notifications sends once)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from services.crm.domain.triggers import NAMESPACE


@dataclass(frozen=True, slots=True)
class Segment:
    """An association's customers (``merchant_id`` None) or a merchant's file, filtered by the
    last visit (there), the spend (there), a product family bought (there); the channel's
    consent of the scope is always required to receive, and counted apart."""

    association_id: UUID
    merchant_id: UUID | None
    channel: str
    seen_since: datetime | None = None
    not_seen_since: datetime | None = None
    min_spent_cents: int | None = None
    product_families: tuple[str, ...] = ()


def campaign_job(campaign_id: UUID) -> str:
    return f"campaign:{campaign_id}"


def campaign_message_id(campaign_id: UUID, account_id: UUID, day: date) -> UUID:
    """The one message a campaign asks for a person on its day of sending."""
    return uuid.uuid5(NAMESPACE, f"campaign/{campaign_id}/{account_id}/{day.isoformat()}")


def sends_on(monthly_day: int | None, day: date) -> bool:
    """A monthly newsletter goes on its day of each month; a one-off campaign goes when sent."""
    return monthly_day is None or day.day == monthly_day
