"""Returns (F16): the use case of ``ReturnRecorded``, on a batch of events in one transaction.
A cancelled sale or a return reverses its reward (and fee) by new entries that name the sale
(``domain.returns``); an account that no longer holds the reward is not taken below zero."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast

import asyncpg

from services.cards.adapters import accounts, cagnotte
from services.cards.domain import ReturnRefusal, apply, reverse, sale_booked
from services.cards.service.common import SOURCE
from services.cards.service.resolution import WINDOW, dates_out_of_reason
from shared.contracts import RefusalReason, ReturnRecorded, ReturnRefused, RewardReversed
from shared.events import Event, new_event
from shared.rules.dates import DateWindow


async def on_returns(
    conn: asyncpg.Connection, events: list[Event[ReturnRecorded]], window: DateWindow = WINDOW
) -> Sequence[Event[Any]]:
    """F16: a cancelled sale or a return reverses its reward (and fee) by new entries that name
    the sale; an account that no longer holds the reward is not taken below zero."""
    out: list[Event[Any]] = []
    sale_ids = sorted({e.data.sale_id for e in events})
    # Lock before reading (finding 2): the history read after the account's lock includes
    # every return committed by a concurrent batch, so two returns of one sale are judged
    # one after the other. Read before the lock, both would see the sale untouched.
    locked = await accounts.lock_accounts(conn, await cagnotte.sale_accounts(conn, sale_ids))
    history = await cagnotte.sales_booked(conn, sale_ids)
    sales = {sale_id: sale_booked(rows) for sale_id, rows in history.items()}
    states = {a: cagnotte.state_of(r) for a, r in locked.items()}
    booked = await cagnotte.already_booked(conn, "reversal", [e.data.return_id for e in events])
    undated = await dates_out_of_reason(conn, events, window)
    entries: list[tuple[Any, ...]] = []
    for e in events:
        d = e.data
        if d.return_id in booked:
            continue
        found = sales.get(d.sale_id)
        try:
            if e.id in undated:
                raise ReturnRefusal(*undated[e.id])
            if found is None:
                raise ReturnRefusal("unknown_sale", f"no sale {d.sale_id} was credited")
            account, merchant, sale = found
            if merchant != d.merchant_id:
                raise ReturnRefusal(
                    "unknown_sale", f"sale {d.sale_id} was made at another merchant"
                )
            state = states[account]
            reversal = reverse(sale, d.amount_cents, state)
            new_state, applied = apply(state, reversal.movements)
        except ReturnRefusal as refusal:
            available = states[found[0]].available if found else None
            out.append(
                new_event(
                    SOURCE,
                    ReturnRefused(
                        return_id=d.return_id,
                        reason=cast(RefusalReason, refusal.reason),
                        detail=refusal.detail,
                        reward_cents=refusal.reward_cents,
                        available_cents=available,
                    ),
                    cause=e,
                )
            )
            continue
        booked.add(d.return_id)
        states[account] = new_state
        sales[d.sale_id] = (
            account,
            merchant,
            replace(
                sale,
                returned_cents=sale.returned_cents + d.amount_cents,
                reversed_reward_cents=sale.reversed_reward_cents + reversal.reward_cents,
                reversed_fee_cents=sale.reversed_fee_cents + reversal.fee_cents,
                reversed_units=sale.reversed_units + reversal.units,
            ),
        )
        for i, (m, after) in enumerate(applied):
            entries.append(
                cagnotte.entry(
                    account,
                    m.kind,
                    m.bucket,
                    d.return_id,
                    m.amount,
                    after,
                    d.occurred_at,
                    merchant_id=d.merchant_id,
                    shop_id=d.shop_id,
                    terminal_id=d.terminal_id,
                    purchase_cents=d.amount_cents if i == 0 else None,
                    fee_cents=reversal.fee_cents if i == 0 else None,
                    reverses=d.sale_id,
                    note=d.reason,
                )
            )
        out.append(
            new_event(
                SOURCE,
                RewardReversed(
                    **d.origin(),
                    return_id=d.return_id,
                    sale_id=d.sale_id,
                    account_id=account,
                    amount_cents=d.amount_cents,
                    reward_cents=reversal.reward_cents,
                    fee_cents=reversal.fee_cents,
                    from_pending_cents=reversal.from_pending,
                    from_available_cents=reversal.from_available,
                    units_reversed=reversal.units,
                    balance_cents=new_state.available,
                    pending_cents=new_state.pending,
                    reason=d.reason,
                ),
                subject=f"account/{account}",
                cause=e,
            )
        )
    await cagnotte.append_entries(conn, entries)
    await cagnotte.save(conn, [(a, states[a]) for a in sorted(states)])
    return out
