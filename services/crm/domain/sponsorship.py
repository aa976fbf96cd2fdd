"""Sponsorship's rules (F22), pure: who may be linked to whom, which programme applies, what
each reward is worth, when the sponsor's cap stops it. No I/O: ``service/sponsorship.py``
reads the rows, asks these functions and writes what they return.

- A newcomer has one sponsor, given once, while still a newcomer (no purchase yet);
- nobody sponsors themself, and nobody sponsors one of their own sponsors, however far up
  the chain (a loop would let two accounts reward each other);
- a reward is an amount, a rate of the qualifying purchase, or both added; the rate's cents
  rounded half up, as the rules engine rounds a reward;
- the sponsor's rewards are capped per calendar month or year (Paris), counted when granted;
  the newcomer's reward never is (their one and only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from shared.clock import PARIS

RewardAt = Literal["enrolment", "purchase"]
CapPeriod = Literal["month", "year"]
Role = Literal["sponsor", "newcomer"]
Status = Literal["granted", "capped"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a link is refused: the HTTP status, the stable reason, the words."""

    status: int
    reason: str
    detail: str


UNKNOWN_CODE = Refusal(422, "unknown_referral_code", "no customer has this referral code here")
SELF = Refusal(422, "self_sponsorship", "a customer cannot sponsor themself")
ALREADY = Refusal(409, "already_sponsored", "this customer already has a sponsor")
NOT_NEW = Refusal(409, "not_a_newcomer", "this customer has purchases already: not a newcomer")
LOOP = Refusal(422, "sponsorship_loop", "this customer is a sponsor up the sponsor's own chain")


def link_refusal(
    newcomer_id: UUID,
    sponsor_id: UUID,
    *,
    has_sponsor: bool,
    newcomer_visits: int,
    sponsor_chain: Sequence[UUID],
) -> Refusal | None:
    """Whether ``sponsor_id`` may become the sponsor of ``newcomer_id``; ``sponsor_chain``:
    the sponsor's sponsor, theirs, and so on up."""
    if newcomer_id == sponsor_id:
        return SELF
    if has_sponsor:
        return ALREADY
    if newcomer_visits > 0:
        return NOT_NEW
    if newcomer_id in sponsor_chain:
        return LOOP
    return None


@dataclass(frozen=True, slots=True)
class Programme:
    """The sponsorship rewards of an association (``merchant_id`` None) or of one merchant."""

    id: UUID
    association_id: UUID
    merchant_id: UUID | None
    enabled: bool
    reward_at: RewardAt
    purchase_number: int
    sponsor_amount_cents: int
    sponsor_rate_bps: int
    newcomer_amount_cents: int
    newcomer_rate_bps: int
    cap_per_sponsor: int | None
    cap_period: CapPeriod

    @classmethod
    def of(cls, row: Any) -> Programme:
        return cls(**{name: row[name] for name in cls.__slots__})


def applicable(
    merchant_programme: Programme | None, association_programme: Programme | None
) -> Programme | None:
    """The programme of a sponsorship: the enrolling merchant's own if it has an enabled one,
    else the association's if enabled."""
    for p in (merchant_programme, association_programme):
        if p is not None and p.enabled:
            return p
    return None


def reward_cents(amount_cents: int, rate_bps: int, purchase_cents: int | None) -> int:
    """An amount plus a rate of the qualifying purchase (none at enrolment), half up."""
    rated = 0 if purchase_cents is None else (purchase_cents * rate_bps + 5_000) // 10_000
    return amount_cents + rated


def cap_period_start(at: datetime, period: CapPeriod) -> date:
    """The first day (Paris) of the cap's period ``at`` falls in."""
    day = at.astimezone(PARIS).date()
    return day.replace(day=1) if period == "month" else day.replace(month=1, day=1)


@dataclass(frozen=True, slots=True)
class Reward:
    role: Role
    account_id: UUID
    amount_cents: int
    status: Status


def rewards(
    p: Programme,
    newcomer_id: UUID,
    sponsor_id: UUID,
    purchase_cents: int | None,
    sponsor_granted_in_period: int,
    held: frozenset[Role] = frozenset(),
) -> list[Reward]:
    """Both rewards of a sponsorship once its moment came: the newcomer's, and the sponsor's
    unless the sponsor already had ``cap_per_sponsor`` granted in the period. A role in
    ``held`` still holds an earlier reward of this sponsorship (its qualifying sale was
    cancelled but the reward, spent, could not be taken back): it gets none again."""
    capped = p.cap_per_sponsor is not None and sponsor_granted_in_period >= p.cap_per_sponsor
    both = [
        Reward(
            "sponsor",
            sponsor_id,
            0
            if capped
            else reward_cents(p.sponsor_amount_cents, p.sponsor_rate_bps, purchase_cents),
            "capped" if capped else "granted",
        ),
        Reward(
            "newcomer",
            newcomer_id,
            reward_cents(p.newcomer_amount_cents, p.newcomer_rate_bps, purchase_cents),
            "granted",
        ),
    ]
    return [r for r in both if r.role not in held]
