"""Use cases of the cards service, each run on a batch of events inside one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.cards import store
from services.cards.domain import Balances, MerchantTerms
from shared.contracts import (
    AccountOpened,
    CagnotteCredited,
    CagnotteRedeemed,
    EnrolmentRefused,
    EnrolmentRequested,
    RedemptionRefused,
    RedemptionRequested,
    SaleRecorded,
    SaleRefused,
)
from shared.events import Event, new_event

SOURCE = "cards"


def _terms_error(terms: MerchantTerms | None, association_id: UUID) -> tuple[Any, str] | None:
    if terms is None:
        return "unknown_merchant", "this merchant is not registered with the cards service"
    if terms.association_id != association_id:
        return (
            "merchant_not_in_association",
            "the terminal's merchant belongs to another association",
        )
    return None


async def on_sales(
    conn: asyncpg.Connection, events: list[Event[SaleRecorded]]
) -> Sequence[Event[Any]]:
    """Cagnottage: credit each sale's reward; open the account of a new phone (first purchase)."""
    out: list[Event[Any]] = []
    terms = await store.merchant_terms(conn, (e.data.merchant_id for e in events))
    valid: list[Event[SaleRecorded]] = []
    for e in events:
        err = _terms_error(terms.get(e.data.merchant_id), e.data.association_id)
        if err:
            out.append(
                new_event(
                    SOURCE,
                    SaleRefused(sale_id=e.data.sale_id, reason=err[0], detail=err[1]),
                    cause=e,
                )
            )
        else:
            valid.append(e)
    if not valid:
        return out

    accounts, opened = await _accounts(
        conn,
        [
            (
                e.data.association_id,
                e.data.phone,
                e.data.merchant_id,
                e.data.sale_id,
                None,
                None,
                None,
            )
            for e in valid
        ],
        {e.data.sale_id: e for e in valid},
        out,
    )
    booked = await store.already_booked(conn, "cagnottage", [e.data.sale_id for e in valid])
    balances = Balances({r["id"]: r["balance_cents"] for r in accounts.values()})
    entries = []
    for e in valid:
        d = e.data
        if d.sale_id in booked:
            continue  # the same sale under another event id: credited once only
        booked.add(d.sale_id)
        account = accounts[(d.association_id, d.phone)]["id"]
        reward = terms[d.merchant_id].reward(d.amount_cents)
        balance = balances.credit(account, reward.reward_cents)
        entries.append(
            store.entry(
                account,
                "cagnottage",
                d.sale_id,
                reward.reward_cents,
                balance,
                d.merchant_id,
                d.shop_id,
                d.terminal_id,
                d.occurred_at,
                d.amount_cents,
                d.product_family,
                reward.taux_client_bps,
            )
        )
        out.append(
            new_event(
                SOURCE,
                CagnotteCredited(
                    **d.origin(),
                    sale_id=d.sale_id,
                    account_id=account,
                    amount_cents=d.amount_cents,
                    product_family=d.product_family,
                    reward_cents=reward.reward_cents,
                    fee_cents=reward.fee_cents,
                    taux_client_bps=reward.taux_client_bps,
                    taux_uc_bps=reward.taux_uc_bps,
                    balance_cents=balance,
                    account_opened=account in opened,
                ),
                subject=f"account/{account}",
                cause=e,
            )
        )
    await store.append_entries(conn, entries)
    await store.set_balances(conn, balances.items())
    return out


async def on_redemptions(
    conn: asyncpg.Connection, events: list[Event[RedemptionRequested]]
) -> Sequence[Event[Any]]:
    """Décagnottage: debit the available balance, or refuse; a balance never goes negative."""
    out: list[Event[Any]] = []
    terms = await store.merchant_terms(conn, (e.data.merchant_id for e in events))
    accounts = {
        (r["association_id"], r["phone"]): r
        for r in await store.lock_accounts(
            conn, ((e.data.association_id, e.data.phone) for e in events)
        )
    }
    booked = await store.already_booked(
        conn, "decagnottage", [e.data.redemption_id for e in events]
    )
    balances = Balances({r["id"]: r["balance_cents"] for r in accounts.values()})
    entries = []
    for e in events:
        d = e.data
        if d.redemption_id in booked:
            continue
        err = _terms_error(terms.get(d.merchant_id), d.association_id)
        account_row = accounts.get((d.association_id, d.phone))
        if err is None and account_row is None:
            err = ("unknown_account", "no account with this phone number in the association")
        if err:
            out.append(
                new_event(
                    SOURCE,
                    RedemptionRefused(redemption_id=d.redemption_id, reason=err[0], detail=err[1]),
                    cause=e,
                )
            )
            continue
        account = account_row["id"]  # type: ignore[index]
        debit = balances.debit(account, d.amount_cents)
        if not debit.ok:
            out.append(
                new_event(
                    SOURCE,
                    RedemptionRefused(
                        redemption_id=d.redemption_id,
                        reason="insufficient_balance",
                        detail=f"available {debit.available} cents, asked {d.amount_cents}",
                        available_cents=debit.available,
                    ),
                    cause=e,
                )
            )
            continue
        booked.add(d.redemption_id)
        entries.append(
            store.entry(
                account,
                "decagnottage",
                d.redemption_id,
                -d.amount_cents,
                debit.balance_after,
                d.merchant_id,
                d.shop_id,
                d.terminal_id,
                d.occurred_at,
                d.amount_cents,
            )
        )
        out.append(
            new_event(
                SOURCE,
                CagnotteRedeemed(
                    **d.origin(),
                    redemption_id=d.redemption_id,
                    account_id=account,
                    amount_cents=d.amount_cents,
                    balance_cents=debit.balance_after,
                ),
                subject=f"account/{account}",
                cause=e,
            )
        )
    await store.append_entries(conn, entries)
    await store.set_balances(conn, balances.items())
    return out


async def on_enrolments(
    conn: asyncpg.Connection, events: list[Event[EnrolmentRequested]]
) -> Sequence[Event[Any]]:
    out: list[Event[Any]] = []
    terms = await store.merchant_terms(conn, (e.data.merchant_id for e in events))
    valid = []
    for e in events:
        err = _terms_error(terms.get(e.data.merchant_id), e.data.association_id)
        if err:
            out.append(
                new_event(
                    SOURCE,
                    EnrolmentRefused(
                        enrolment_id=e.data.enrolment_id, reason=err[0], detail=err[1]
                    ),
                    cause=e,
                )
            )
        else:
            valid.append(e)
    existing, opened = await _accounts(
        conn,
        [
            (
                e.data.association_id,
                e.data.phone,
                e.data.merchant_id,
                e.data.enrolment_id,
                e.data.email,
                e.data.first_name,
                e.data.last_name,
            )
            for e in valid
        ],
        {e.data.enrolment_id: e for e in valid},
        out,
    )
    for e in valid:
        account = existing[(e.data.association_id, e.data.phone)]["id"]
        if account not in opened:
            out.append(
                new_event(
                    SOURCE,
                    EnrolmentRefused(
                        enrolment_id=e.data.enrolment_id,
                        reason="already_enrolled",
                        detail="this phone number already has an account in the association",
                        account_id=account,
                    ),
                    cause=e,
                )
            )
    return out


Wanted = tuple[UUID, str, UUID, UUID, str | None, str | None, str | None]


async def _accounts(
    conn: asyncpg.Connection,
    wanted: list[Wanted],
    causes: dict[UUID, Event[Any]],
    out: list[Event[Any]],
) -> tuple[dict[tuple[UUID, str], asyncpg.Record], set[UUID]]:
    """Lock the accounts of (association, phone, merchant, request, email, first, last); open
    those not yet known (emitting account.opened). Returns the rows and the ids opened now.

    Lock order, so that concurrent batches cannot deadlock: new accounts are inserted in
    (association, phone) order, then every account is locked in one statement in id order."""
    keys = {(w[0], w[1]) for w in wanted}
    known = await store.existing_accounts(conn, keys)
    first: dict[tuple[UUID, str], Wanted] = {}
    for w in wanted:
        if (w[0], w[1]) not in known:
            first.setdefault((w[0], w[1]), w)
    ids = {key: uuid.uuid4() for key in first}
    created = await store.open_accounts(
        conn, [(ids[k], w[0], w[1], w[2], w[4], w[5], w[6]) for k, w in sorted(first.items())]
    )
    rows = {(r["association_id"], r["phone"]): r for r in await store.lock_accounts(conn, keys)}
    now = datetime.now(UTC)
    for key, w in first.items():
        account = ids[key]
        if account in created:
            out.append(
                new_event(
                    SOURCE,
                    AccountOpened(
                        account_id=account,
                        association_id=w[0],
                        merchant_id=w[2],
                        phone=w[1],
                        email=w[4],
                        first_name=w[5],
                        last_name=w[6],
                        opened_at=now,
                        request_id=w[3],
                        request_kind="sale"
                        if isinstance(causes[w[3]].data, SaleRecorded)
                        else "enrolment",
                    ),
                    subject=f"account/{account}",
                    cause=causes[w[3]],
                )
            )
    return rows, created
