"""Returns (F16): the use case of ``ReturnRecorded``, on a batch of events in one transaction.
A cancelled sale or a return reverses its reward (and fee) by new entries that name the sale
(``domain.returns``); an account that no longer holds the reward is not taken below zero."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, cast
from uuid import UUID

import asyncpg

from services.cards.adapters import accounts, cagnotte
from services.cards.domain import (
    AccountState,
    Movement,
    ReturnRefusal,
    apply,
    reverse,
    sale_booked,
)
from services.cards.domain.returns import Reversal, SaleBooked
from services.cards.service.common import SOURCE
from services.cards.service.resolution import WINDOW, Refusal, dates_out_of_reason
from shared.contracts import RefusalReason, ReturnRecorded, ReturnRefused, RewardReversed
from shared.events import Event, new_event
from shared.rules.dates import DateWindow

Sold = tuple[UUID, UUID, SaleBooked]  # a sale's account, merchant, and what it left


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
            account, merchant, sale = _returnable(d, found, undated.get(e.id))
            reversal = reverse(sale, d.amount_cents, states[account])
            new_state, applied = apply(states[account], reversal.movements)
        except ReturnRefusal as refusal:
            available = states[found[0]].available if found else None
            out.append(_refused(e, refusal, available))
            continue
        booked.add(d.return_id)
        states[account] = new_state
        sales[d.sale_id] = (account, merchant, _after(sale, d.amount_cents, reversal))
        entries.extend(_entries(d, account, applied, reversal))
        out.append(_reversed(e, account, reversal, new_state))
    await cagnotte.append_entries(conn, entries)
    await cagnotte.save(conn, [(a, states[a]) for a in sorted(states)])
    return out


def _returnable(d: ReturnRecorded, found: Sold | None, undated: Refusal | None) -> Sold:
    """The sale a return names, or why it cannot be returned."""
    if undated is not None:
        raise ReturnRefusal(*undated)
    if found is None:
        raise ReturnRefusal("unknown_sale", f"no sale {d.sale_id} was credited")
    if found[1] != d.merchant_id:
        raise ReturnRefusal("unknown_sale", f"sale {d.sale_id} was made at another merchant")
    return found


def _after(sale: SaleBooked, returned_cents: int, reversal: Reversal) -> SaleBooked:
    """The sale as the next return of the batch sees it."""
    return replace(
        sale,
        returned_cents=sale.returned_cents + returned_cents,
        reversed_reward_cents=sale.reversed_reward_cents + reversal.reward_cents,
        reversed_fee_cents=sale.reversed_fee_cents + reversal.fee_cents,
        reversed_units=sale.reversed_units + reversal.units,
    )


def _entries(
    d: ReturnRecorded, account: UUID, applied: list[tuple[Movement, int]], reversal: Reversal
) -> list[tuple[Any, ...]]:
    """The cagnotte entries of a return; the first carries the amount returned and the fee."""
    return [
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
        for i, (m, after) in enumerate(applied)
    ]


def _refused(
    e: Event[ReturnRecorded], refusal: ReturnRefusal, available: int | None
) -> Event[ReturnRefused]:
    refused = ReturnRefused(
        return_id=e.data.return_id,
        reason=cast(RefusalReason, refusal.reason),
        detail=refusal.detail,
        reward_cents=refusal.reward_cents,
        available_cents=available,
    )
    return new_event(SOURCE, refused, cause=e)


def _reversed(
    e: Event[ReturnRecorded], account: UUID, reversal: Reversal, state: AccountState
) -> Event[RewardReversed]:
    d = e.data
    reversed_ = RewardReversed(
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
        balance_cents=state.available,
        pending_cents=state.pending,
        reason=d.reason,
    )
    return new_event(SOURCE, reversed_, subject=f"account/{account}", cause=e)
