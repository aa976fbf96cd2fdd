"""Sponsorship (F22): crm links a newcomer to their sponsor and decides the rewards of both;
cards credits each reward to a cagnotte and clearing books it like any reward.

A reward's id is derived from the newcomer, the role and the qualifying sale (``reward_id``),
so that whatever decides it twice (a redelivered sale, a second replica) names the same
cagnotte entry, which cards writes once. A cancelled qualifying sale takes both rewards back
(``SponsorshipRewardReversed``, its id derived from the reward's): the newcomer's next
qualifying purchase may then earn them again, under new ids (another sale)."""

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


def reward_id(newcomer_id: UUID, role: Role, sale_id: UUID | None = None) -> UUID:
    """The one id of the reward of ``role`` for the sponsorship of ``newcomer_id``, won at the
    enrolment (``sale_id`` None) or by the qualifying sale ``sale_id``."""
    return uuid.uuid5(_REWARDS, f"{newcomer_id}:{role}" + (f":{sale_id}" if sale_id else ""))


def reversal_id(reward: UUID) -> UUID:
    """The one id of the reversal of a reward (a reward is taken back at most once)."""
    return uuid.uuid5(_REWARDS, f"reversal:{reward}")


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


@register
class SponsorshipRewardReversed(EventData):
    """crm → cards: the qualifying sale ``sale_id`` of a reward was cancelled (or returned
    whole): take ``amount_cents`` back from the available cagnotte of ``account_id``, by a new
    entry of kind ``sponsorship`` under ``reversal_id``, booked in clearing against whoever
    funded the reward. As for a cancelled sale's reward, never below zero: if the account no
    longer holds it, cards refuses (``SponsorshipReversalRefused``) and the back office settles
    it with an audited adjustment."""

    name = "sponsorship.reward_reversed"
    reversal_id: UUID
    reward_id: UUID
    newcomer_id: UUID
    role: Role
    account_id: UUID
    association_id: UUID
    merchant_id: UUID | None = Field(
        default=None, description="the merchant whose programme funded it; None: the association"
    )
    amount_cents: Cents = Field(gt=0, le=1_000_000)
    sale_id: UUID = Field(description="the qualifying sale, cancelled or returned whole")
    occurred_at: datetime


@register
class SponsorshipReversalDone(EventData):
    """cards → crm: a reward's reversal was written (the negative cagnotte entry under
    ``reversal_id``). crm re-decides the sponsorship only once each reversal of its qualifying
    sale is done or refused, so that a reward that could not be taken back is never granted a
    second time, whatever the order of the newcomer's next purchase and cards' answer."""

    name = "sponsorship.reversal_done"
    reversal_id: UUID
    reward_id: UUID
    account_id: UUID


@register
class SponsorshipReversalRefused(EventData):
    """cards → crm: a reward's reversal was refused, the account holding less than the reward
    (``available_cents``): an adjustment by the back office is needed, as for a return."""

    name = "sponsorship.reversal_refused"
    reversal_id: UUID
    reward_id: UUID
    account_id: UUID
    reason: Literal["would_go_negative", "unknown_account"]
    detail: str
    available_cents: Cents | None = None
