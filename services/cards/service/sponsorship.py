"""Sponsorship rewards (F22): crm decides them, cards credits them. Each is one entry of the
available cagnotte (kind ``sponsorship``, its reference the reward's id) and its
``AccountAdjusted``, which clearing books against the merchant whose programme funds it, or
the association's ``sponsorships`` account. The reward's id is crm's, derived from the
newcomer and the role: a redelivered event, or the same reward decided twice, is written once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.cards.adapters import cagnotte
from services.cards.domain import Movement
from services.cards.service.common import event
from shared.contracts import AccountAdjusted, SponsorshipRewardGranted
from shared.events import Event

NOTES = {"sponsor": "sponsorship reward (sponsor)", "newcomer": "sponsorship reward (newcomer)"}


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
        out.append(
            event(
                AccountAdjusted(
                    movement_id=d.reward_id,
                    kind="sponsorship",
                    account_id=d.account_id,
                    association_id=d.association_id,
                    merchant_id=d.merchant_id,
                    purse="cagnotte",
                    bucket="available",
                    amount_cents=d.amount_cents,
                    balance_cents=posted.balances_after[0],
                    reason=NOTES[d.role],
                    occurred_at=d.occurred_at,
                ),
                f"account/{d.account_id}",
            )
        )
    return out
