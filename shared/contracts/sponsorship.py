"""Sponsorship (F22): crm links a newcomer to their sponsor and decides the rewards of both;
cards credits each reward to a cagnotte and clearing books it like any reward.

A reward's id is derived from the newcomer and the role (``reward_id``), so that whatever
decides it twice (a redelivered sale, a second replica) names the same cagnotte entry, which
cards writes once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.base import Cents
from shared.events import EventData, register

Role = Literal["sponsor", "newcomer"]
RewardTrigger = Literal["enrolment", "purchase"]
HowLinked = Literal["till", "back_office", "link"]  # how a newcomer was linked (crm)

_REWARDS = uuid.UUID("4f0c2b8e-5a61-4f43-9d1e-7c1f0d2a9b35")


def reward_id(newcomer_id: UUID, role: Role) -> UUID:
    """The one id of the reward of ``role`` for the sponsorship of ``newcomer_id``."""
    return uuid.uuid5(_REWARDS, f"{newcomer_id}:{role}")


@register
class SponsorshipRewardGranted(EventData):
    """crm → cards: credit ``amount_cents`` to the available cagnotte of ``account_id`` (the
    sponsor's or the newcomer's), under ``reward_id``. Funded by ``merchant_id`` when the
    programme is that merchant's, else by the association (clearing's ``sponsorships``)."""

    name = "sponsorship.reward_granted"
    reward_id: UUID
    newcomer_id: UUID
    sponsor_id: UUID
    role: Role
    account_id: UUID = Field(description="who is credited: the sponsor or the newcomer")
    association_id: UUID
    merchant_id: UUID | None = Field(
        default=None, description="the merchant whose programme funds it; None: the association"
    )
    amount_cents: Cents = Field(gt=0, le=1_000_000)
    trigger: RewardTrigger
    sale_id: UUID | None = Field(default=None, description="the newcomer's purchase that won it")
    occurred_at: datetime
