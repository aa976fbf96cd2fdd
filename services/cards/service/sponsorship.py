"""Sponsorship rewards (F22): crm decides them, cards credits them. Each is one entry of the
available cagnotte (kind ``sponsorship``, its reference the reward's id) and its
``AccountAdjusted``, which clearing books against the merchant whose programme funds it, or
the association's ``sponsorships`` account. The reward's id is crm's, derived from the
newcomer, the role and the qualifying sale: a redelivered event, or the same reward decided
twice, is written once. A reward whose qualifying sale was cancelled is taken back by a new
entry of the same kind (its reference the reversal's id), never below zero, as a cancelled
sale's reward: an account that no longer holds it is refused, for the back office to adjust."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from services.cards.adapters import cagnotte
from services.cards.domain import Movement, Overdrawn
from services.cards.service.common import SOURCE, event
from shared.contracts import (
    AccountAdjusted,
    SponsorshipReversalDone,
    SponsorshipReversalRefused,
    SponsorshipRewardGranted,
    SponsorshipRewardReversed,
)
from shared.events import Event, new_event

NOTES = {"sponsor": "sponsorship reward (sponsor)", "newcomer": "sponsorship reward (newcomer)"}
TAKEN_BACK = {
    "sponsor": "sponsorship reward taken back (sponsor)",
    "newcomer": "sponsorship reward taken back (newcomer)",
}


async def on_rewards(
    conn: asyncpg.Connection, events: list[Event[SponsorshipRewardGranted]]
) -> Sequence[Event[Any]]:
    out: list[Event[Any]] = []
    # One account after the other in a stable order: two batches lock them in the same order.
    for d in sorted((e.data for e in events), key=lambda d: (str(d.account_id), str(d.reward_id))):
        posted = await cagnotte.post(
            conn,
            d.account_id,
            d.reward_id,
            [Movement("sponsorship", "available", d.amount_cents)],
            d.occurred_at,
            merchant_id=d.merchant_id,
            note=NOTES[d.role],
        )
        if posted.already:
            continue
        out.append(_adjusted(d, d.reward_id, d.amount_cents, posted.balances_after[0], NOTES))
    return out


async def on_reversals(
    conn: asyncpg.Connection, events: list[Event[SponsorshipRewardReversed]]
) -> Sequence[Event[Any]]:
    out: list[Event[Any]] = []
    for e in sorted(events, key=lambda e: (str(e.data.account_id), str(e.data.reversal_id))):
        d = e.data
        try:
            posted = await cagnotte.post(
                conn,
                d.account_id,
                d.reversal_id,
                [Movement("sponsorship", "available", -d.amount_cents)],
                d.occurred_at,
                merchant_id=d.merchant_id,
                reverses=d.reward_id,
                note=TAKEN_BACK[d.role],
            )
        except (Overdrawn, LookupError) as exc:
            out.append(_refused(e, exc))
            continue
        if posted.already:
            continue
        done = SponsorshipReversalDone(
            reversal_id=d.reversal_id, reward_id=d.reward_id, account_id=d.account_id
        )
        out.append(new_event(SOURCE, done, cause=e))
        out.append(
            _adjusted(d, d.reversal_id, -d.amount_cents, posted.balances_after[0], TAKEN_BACK)
        )
    return out


def _adjusted(
    d: SponsorshipRewardGranted | SponsorshipRewardReversed,
    movement_id: UUID,
    amount_cents: int,
    balance_cents: int,
    notes: dict[str, str],
) -> Event[AccountAdjusted]:
    """The entry's ``AccountAdjusted`` (a reward, or its taking back: a negative amount)."""
    adjusted = AccountAdjusted(
        movement_id=movement_id,
        kind="sponsorship",
        account_id=d.account_id,
        association_id=d.association_id,
        merchant_id=d.merchant_id,
        purse="cagnotte",
        bucket="available",
        amount_cents=amount_cents,
        balance_cents=balance_cents,
        reason=notes[d.role],
        occurred_at=d.occurred_at,
    )
    return event(adjusted, f"account/{d.account_id}")


def _refused(
    e: Event[SponsorshipRewardReversed], exc: Exception
) -> Event[SponsorshipReversalRefused]:
    d = e.data
    held = exc.available if isinstance(exc, Overdrawn) else None
    unknown = held is None
    refused = SponsorshipReversalRefused(
        reversal_id=d.reversal_id,
        reward_id=d.reward_id,
        account_id=d.account_id,
        reason="unknown_account" if unknown else "would_go_negative",
        detail=f"no account {d.account_id}"
        if unknown
        else f"the reward of {d.amount_cents} cents is taken back but the account holds "
        f"{held} available: an adjustment by the back office is needed",
        available_cents=held,
    )
    return new_event(SOURCE, refused, cause=e)
