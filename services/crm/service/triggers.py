"""The triggers (F23, F24): their configuration, the daily run of each (birthday, not seen
for X months, visits spacing out), and what follows a booked sale (the digital receipt,
the visit threshold reached).

Each daily trigger is a job of ``service.daily`` (once a day whatever restarts or replicas,
a missed day caught up); each message's id is derived (``domain.triggers``), and every
marketing message goes through ``messages.marketing_many`` (consent, frequency cap)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from services.crm.adapters import people as people_rows
from services.crm.adapters import triggers as rows
from services.crm.adapters.promotions import Promotions
from services.crm.adapters.vouchers import Vouchers
from services.crm.domain import triggers as rules
from services.crm.service import daily, messages, sponsorship
from services.crm.service.common import Links
from shared import clock, outbox
from shared.contracts import BookedTransaction
from shared.events import Event
from shared.http import Problem
from shared.rules.codes import format_referral_code

# A daily trigger's day is done this many customers per transaction, found this many at once.
BATCH = 200
PAGE = 5000


async def configure(
    conn: asyncpg.Connection,
    trigger_id: UUID,
    association_id: UUID,
    merchant_id: UUID | None,
    kind: str,
    channel: str,
    enabled: bool,
    params: dict[str, Any],
) -> dict[str, Any]:
    """Make or change a trigger; its association, merchant and kind are fixed once made."""
    saved = await rows.save(
        conn, trigger_id, association_id, merchant_id, kind, channel, enabled, params, clock.now()
    )
    if not saved:
        raise Problem(
            409,
            "Another trigger",
            "this id is a trigger of another scope or kind",
            reason="trigger_mismatch",
        )
    return saved


def _variables(trigger: dict[str, Any], file: asyncpg.Record) -> dict[str, Any]:
    p = trigger["params"]
    out: dict[str, Any] = {"first_name": file["first_name"], "shop_name": p.get("shop_name")}
    if p.get("body"):
        out["body"] = p["body"]
    if p.get("offer_text"):
        out["offer"] = p["offer_text"]
    return {k: v for k, v in out.items() if v is not None}


async def _candidates(
    conn: asyncpg.Connection,
    trigger: dict[str, Any],
    day: date,
    after: UUID | None,
    limit: int = BATCH,
) -> list[UUID]:
    scope = (trigger["association_id"], trigger["merchant_id"], after, limit)
    kind, p = trigger["kind"], trigger["params"]
    if kind == "birthday":
        month_days = [m * 100 + d for m, d in rules.celebrated_on(day)]
        return await rows.birthdays(conn, *scope, month_days)
    start, end = rules.start_of(day), rules.start_of(day + timedelta(days=1))
    if kind == "we_miss_you":
        return await rows.last_seen_between(conn, *scope, *rules.absent_window(day, p["months"]))
    return await rows.spacing_out(conn, *scope, start, end, p.get("factor", 2))


def _birthday(
    trigger: dict[str, Any], file: asyncpg.Record, day: date, vouchers: Vouchers
) -> tuple[dict[str, Any], messages.Offer | None]:
    """The birthday's variables (who), and its offer, made only once the message may go: a
    gift voucher, or the customer's rate multiplied for some days (a promotion in cards)."""
    who = rules.whose_birthday(
        day, file["birth_date"], file["spouse_birthday"], list(file["children_birthdays"] or [])
    )
    if trigger["params"].get("rate_multiplier"):
        return {"who": who}, _rate(trigger, file, day, vouchers.promotions)
    value = trigger["params"].get("voucher_cents")
    if not value:
        return {"who": who}, None
    expires = rules.start_of(day + timedelta(days=trigger["params"].get("voucher_days", 30)))
    batch = rules.voucher_batch_id(trigger["id"], file["account_id"], day)

    async def voucher() -> dict[str, Any]:
        code = await vouchers.issue(batch, trigger["association_id"], value, expires)
        # ``offer`` is what the templates show: the merchant's words, then the code
        said = trigger["params"].get("offer_text")
        return {
            "offer": f"{said} {code}" if said else code,
            "voucher_code": code,
            "offer_cents": value,
            "offer_expires_at": expires.isoformat(),
        }

    return {"who": who}, voucher


def _rate(
    trigger: dict[str, Any], file: asyncpg.Record, day: date, promotions: Promotions
) -> messages.Offer:
    """The birthday's rate multiplied from the birthday (midnight, Paris) for ``rate_days``
    days, at the trigger's merchant or, for the association's trigger, at every merchant; the
    promotion's id derived, so a day run again (a replica, a restart) grants it once."""
    p = trigger["params"]
    multiplier, days = p["rate_multiplier"], rules.offer_days(p)
    starts, ends = rules.start_of(day), rules.start_of(day + timedelta(days=days))
    promotion = rules.rate_promotion_id(trigger["id"], file["account_id"], day)

    async def rate() -> dict[str, Any]:
        await promotions.grant(
            promotion, file["account_id"], trigger["merchant_id"], multiplier, starts, ends
        )
        out = {
            "rate_multiplier": multiplier,
            "offer_starts_at": starts.isoformat(),
            "offer_expires_at": ends.isoformat(),
            # the last day it applies, as the templates say it ("until … included")
            "rate_until": (day + timedelta(days=days - 1)).isoformat(),
        }
        return out | ({"offer": p["offer_text"]} if p.get("offer_text") else {})

    return rate


async def run_day(
    pool: asyncpg.Pool, links: Links, vouchers: Vouchers, trigger: dict[str, Any], day: date
) -> int | None:
    """The trigger's messages of ``day``, once (None: the day was run already)."""
    template = rules.TEMPLATES[trigger["kind"]]
    offer_days = rules.offer_days(trigger["params"])
    late = trigger["kind"] == "birthday" and day + timedelta(days=offer_days) <= clock.today_paris()

    async def read(conn: asyncpg.Connection, after: UUID | None, limit: int) -> list[UUID]:
        return await _candidates(conn, trigger, day, after, limit)

    ahead = daily.Ahead(read, BATCH, PAGE)

    async def step(conn: asyncpg.Connection, day: date, after: UUID | None) -> daily.Batch:
        found, last = await ahead.take(conn, after)
        files = await people_rows.files(conn, found) if found and not late else {}
        asks = []
        for account_id in found if not late else []:
            file = files[account_id]
            extra, offer = (
                _birthday(trigger, file, day, vouchers)
                if trigger["kind"] == "birthday"
                else ({}, None)
            )
            variables = {**_variables(trigger, file), **extra}
            message_id = rules.message_id(trigger["id"], account_id, day)
            asks.append(messages.Ask(file, variables, message_id, offer))
        answers = await messages.marketing_many(
            conn, links, trigger["channel"], trigger["merchant_id"], template, asks
        )
        events: list[Event[Any]] = [e for e in answers if not isinstance(e, str)]
        await outbox.write(conn, events)
        return daily.Batch(len(events), found[-1] if found else None, last)

    return await daily.run_day(pool, rules.job(trigger["id"]), day, step)


async def run_due(
    pool: asyncpg.Pool, links: Links, vouchers: Vouchers, today: date
) -> dict[UUID, dict[date, int | None]]:
    """Every enabled daily trigger, each day due (a missed day caught up), each once."""
    done: dict[UUID, dict[date, int | None]] = {}
    async with pool.acquire() as conn:
        enabled = await rows.enabled_daily(conn)
    for t in enabled:
        days = await daily.days_due(pool, rules.job(t["id"]), today)
        done[t["id"]] = {d: await run_day(pool, links, vouchers, t, d) for d in days}
    return done


# --- after a booked sale ------------------------------------------------------------------------

Sale = tuple[UUID, UUID, BookedTransaction]  # association, merchant, the sale


def _of_scope(
    triggers: list[dict[str, Any]], kind: str, association_id: UUID, merchant_id: UUID
) -> list[dict[str, Any]]:
    return [
        t
        for t in triggers
        if t["kind"] == kind
        and t["association_id"] == association_id
        and t["merchant_id"] in (None, merchant_id)
    ]


def receipt_variables(file: asyncpg.Record, shop_name: str, t: BookedTransaction) -> dict[str, Any]:
    out = {
        "first_name": file["first_name"],
        "shop_name": shop_name,
        "amount_cents": t.amount_cents,
        "reward_cents": t.reward_cents,
        "balance_cents": t.balance_cents,
        "pending_cents": t.pending_cents,
        "occurred_at": t.occurred_at.isoformat(),
    }
    return {k: v for k, v in out.items() if v is not None}


def _receives_receipts(file: asyncpg.Record | None) -> bool:
    """A file (not erased) with an address, of a customer who did not turn receipts off."""
    return (
        file is not None
        and file["erased_at"] is None
        and bool(file["email"])
        and not file["no_receipts"]
    )


async def after_sales(
    conn: asyncpg.Connection, links: Links, sales: list[Sale]
) -> list[Event[Any]]:
    """The receipt of each sale (transactional, by e-mail: the merchant's receipt trigger, else
    the association's; none without an address or for a customer who wants none), and the
    visit threshold reached (marketing, each enabled trigger of the sale's scope). The files
    of the batch's customers are read at once, and only when a trigger may need them."""
    if not sales:
        return []
    scopes = sorted({(a, m) for a, m, _ in sales}, key=lambda s: (s[0].int, s[1].int))
    triggers = await rows.after_sale(conn, scopes)
    if not triggers:
        return []
    due: list[
        tuple[UUID, UUID, BookedTransaction, dict[str, Any] | None, list[dict[str, Any]]]
    ] = []
    for association_id, merchant_id, t in sales:
        receipts = sorted(
            _of_scope(triggers, "receipt", association_id, merchant_id),
            key=lambda r: r["merchant_id"] is None,  # the merchant's own first
        )
        receipt = (
            receipts[0]
            if receipts and receipts[0]["enabled"] and t.balance_cents is not None
            else None
        )
        reached = (
            [
                r
                for r in _of_scope(triggers, "threshold_reached", association_id, merchant_id)
                if r["enabled"]
            ]
            if t.transferred_cents
            else []
        )
        if receipt is not None or reached:
            due.append((association_id, merchant_id, t, receipt, reached))
    if not due:
        return []
    # no file yet (the account's opening not heard of): no message
    files = await people_rows.files(conn, sorted({t.account_id for _, _, t, _, _ in due}))
    # the customers' referral codes, printed on their receipts (F22)
    codes = await sponsorship.codes(
        conn,
        {
            t.account_id: association_id
            for association_id, _, t, receipt, _ in due
            if receipt is not None and _receives_receipts(files.get(t.account_id))
        },
    )
    out: list[Event[Any]] = []
    receipts_asked: list[messages.Transactional] = []
    for _, merchant_id, t, receipt, reached in due:
        file = files.get(t.account_id)
        if file is None or file["erased_at"] is not None:
            continue
        if receipt is not None and _receives_receipts(file):
            code = codes[t.account_id]
            receipts_asked.append(
                messages.Transactional(
                    file,
                    "email",
                    "receipt",
                    {
                        **receipt_variables(file, receipt["params"].get("shop_name", ""), t),
                        "referral_code": format_referral_code(code),
                    },
                    merchant_id,
                    rules.sale_message_id(receipt["id"], t.transaction_id),
                )
            )
        for r in reached:
            e = await messages.marketing(
                conn,
                links,
                file,
                r["channel"],
                r["merchant_id"],
                "threshold_reached",
                {**_variables(r, file), "transferred_cents": t.transferred_cents},
                message_id=rules.sale_message_id(r["id"], t.transaction_id),
            )
            if not isinstance(e, str):
                out.append(e)
    return await messages.transactional_many(conn, receipts_asked) + out


async def set_receipts(conn: asyncpg.Connection, account_id: UUID, wanted: bool) -> None:
    await people_rows.file(conn, account_id)
    await rows.set_no_receipts(conn, account_id, not wanted)


async def set_cap(
    conn: asyncpg.Connection, association_id: UUID, max_messages: int, per_days: int
) -> None:
    await rows.save_cap(conn, association_id, max_messages, per_days, clock.now())
