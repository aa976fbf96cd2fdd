"""Campaigns (F24): one-off e-mails and SMS (quick news from the back office) and the monthly
newsletter, to a segment of an association's or a merchant's customers; the segment's size
before sending. Each send is a job of ``service.daily`` (a one-off campaign's on the day it was
made, so it goes once; a newsletter's on its day of each month), each message's id derived,
each message through ``messages.marketing_many`` (consent, frequency cap).

A one-off campaign is not sent in the request that asks for it: the request makes its day's
row (``ask``), and crm's campaign job (entrypoints/jobs.py, on every replica) sends what was
asked, batch after batch, each batch one transaction that moves the row on: a crash resumes
after the last batch written, a second replica goes on from there, no person is asked twice.

A one-off campaign may instead carry ``send_at``, an instant to come (at most ``MAX_AHEAD``):
the campaign job asks for its sending itself once that instant has passed (``ask_due``, the
same day row as ``/send``, taken once whatever the replicas), so consent and the cap are those
of the moment it goes. Until then it can be re-timed (``retime``) or cancelled (``cancel``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID

import asyncpg

from services.crm.adapters import campaigns as rows
from services.crm.adapters import daily as daily_rows
from services.crm.adapters import people as people_rows
from services.crm.adapters import segments as segment_rows
from services.crm.domain import segments as rules
from services.crm.domain.segments import Filters, Segment
from services.crm.service import daily, messages, segments
from services.crm.service.common import Links
from shared import clock, failpoints, outbox
from shared.clock import PARIS
from shared.events import Event
from shared.http import Problem

BATCH = 500
# How far ahead a campaign can be scheduled.
MAX_AHEAD = timedelta(days=366)
# Scheduled campaigns taken per pass of the campaign job (the next pass takes the rest).
DUE_PER_PASS = 100


def check_send_at(send_at: datetime | None, now: datetime) -> None:
    """A campaign's instant: to come (422 ``send_at_past``), within ``MAX_AHEAD`` (422
    ``send_at_too_far``)."""
    if send_at is None:
        return
    if send_at <= now:
        raise Problem(
            422, "Send time past", "send_at must be an instant to come", reason="send_at_past"
        )
    if send_at > now + MAX_AHEAD:
        raise Problem(
            422,
            "Send time too far",
            f"send_at must be within {MAX_AHEAD.days} days",
            reason="send_at_too_far",
        )


def _refusal(campaign: dict[str, Any] | asyncpg.Record) -> Problem:
    """Why a campaign cannot be changed, cancelled or sent any more."""
    if campaign["monthly_day"] is not None:
        return Problem(409, "A newsletter", "it goes on its day of the month", reason="monthly")
    if campaign["cancelled_at"] is not None:
        return Problem(
            409,
            "Campaign cancelled",
            "a campaign cancelled is never sent",
            reason="campaign_cancelled",
        )
    return Problem(
        409, "Campaign sent", "a campaign sent stays as it was sent", reason="campaign_sent"
    )


async def segment_of(conn: asyncpg.Connection | asyncpg.Pool, campaign: dict[str, Any]) -> Segment:
    """Who the campaign goes to: the filters it recorded when its sending was asked for (or
    given inline); before that, and for a monthly newsletter, its saved segment as it is now."""
    filters = campaign["segment"]
    if campaign["segment_id"] is not None and campaign["segment_frozen_at"] is None:
        saved = await segments.get(conn, campaign["association_id"], campaign["segment_id"])
        filters = saved["filters"]
    return Segment(campaign["association_id"], campaign["merchant_id"], Filters.from_json(filters))


async def size(pool: asyncpg.Pool, segment: Segment, channel: str) -> tuple[int, int]:
    total, consenting = await segments.size(pool, segment, channel)
    assert consenting is not None
    return total, consenting


async def save(
    conn: asyncpg.Connection,
    campaign_id: UUID,
    *,
    segment: Segment | UUID,
    **fields: Any,
) -> dict[str, Any]:
    """The campaign made or changed, to filters given inline (``Segment``) or to a saved
    segment of its association (its id: the campaign follows the segment until it is sent)."""
    association_id: UUID = fields["association_id"]
    was = await rows.lock(conn, campaign_id)
    if was is not None and (was["segment_frozen_at"] or was["cancelled_at"]):
        # before the time is checked: the same form posted again after it went is "sent"
        raise _refusal({**dict(was), "monthly_day": None})
    now = clock.now()
    check_send_at(fields.get("send_at"), now)
    if isinstance(segment, UUID):
        saved = await segments.get(conn, association_id, segment)
        scope, filters, segment_id = saved["merchant_id"], saved["filters"], segment
    else:
        segments.check(segment.filters)
        scope, filters, segment_id = segment.merchant_id, segment.filters.as_json(), None
    made = await rows.save(
        conn,
        campaign_id,
        merchant_id=scope,
        segment=filters,
        segment_id=segment_id,
        **fields,
        at=now,
    )
    if made is not None:
        return made
    was = await rows.one(conn, campaign_id)
    if was["segment_frozen_at"] is not None or was["cancelled_at"] is not None:
        raise _refusal({**was, "monthly_day": None})
    raise Problem(
        409,
        "Another campaign",
        "this id is a campaign of another scope",
        reason="campaign_mismatch",
    )


def sending_day(campaign: dict[str, Any]) -> date:
    """A one-off campaign's one day: the day it was made (sent again, it sends nothing more)."""
    created: datetime = campaign["created_at"]
    return created.astimezone(PARIS).date()


async def send_day(
    pool: asyncpg.Pool, links: Links, campaign: dict[str, Any], day: date, batch: int = BATCH
) -> int | None:
    """The campaign's messages of ``day``, once (None: that day was sent already)."""
    goes = rules.sends_on(campaign["monthly_day"], day)

    async def step(conn: asyncpg.Connection, day: date, after: UUID | None) -> daily.Batch:
        if after is not None:  # a crash test: dies with a batch written and the next in hand
            failpoints.hit("crm.campaign_next_batch")
        segment = await segment_of(conn, campaign)
        channel = campaign["channel"]
        found = await segment_rows.consenting(conn, segment, channel, after, batch) if goes else []
        files = await people_rows.files(conn, found) if found else {}
        asks = []
        for account_id in found:
            file = files[account_id]
            variables = {**campaign["variables"]}
            if file["first_name"]:
                variables["first_name"] = file["first_name"]
            message_id = rules.campaign_message_id(campaign["id"], account_id, day)
            asks.append(messages.Ask(file, variables, message_id))
        answers = await messages.marketing_many(
            conn,
            links,
            campaign["channel"],
            campaign["merchant_id"],
            campaign["template"],
            asks,
            campaign["id"],
        )
        events: list[Event[Any]] = [e for e in answers if not isinstance(e, str)]
        await outbox.write(conn, events)
        return daily.Batch(len(events), found[-1] if found else None, len(found) < batch)

    return await daily.run_day(pool, rules.campaign_job(campaign["id"]), day, step)


@dataclass(frozen=True, slots=True)
class Sending:
    """Where a one-off campaign's sending stands: ``draft`` (not asked), ``scheduled`` (to be
    asked by the campaign job at its ``send_at``), ``cancelled`` (never sent), ``sending``
    (asked, in the campaign job's hands), ``sent`` (every message asked of notifications);
    ``asked``: the messages asked so far."""

    status: Literal["draft", "scheduled", "cancelled", "sending", "sent"]
    asked_at: datetime | None
    finished_at: datetime | None
    asked: int


async def sending(pool: asyncpg.Pool, campaign: dict[str, Any]) -> Sending | None:
    """None for a monthly newsletter (its days are the daily jobs')."""
    if campaign["monthly_day"] is not None:
        return None
    row = await rows.sending(pool, campaign["id"])
    if row is None:
        if campaign["cancelled_at"] is not None:
            return Sending("cancelled", None, None, 0)
        if campaign["send_at"] is not None:
            return Sending("scheduled", None, None, 0)
        return Sending("draft", None, None, 0)
    status: Literal["sending", "sent"] = "sent" if row["finished_at"] else "sending"
    return Sending(status, row["asked_at"], row["finished_at"], row["items"])


async def ask(pool: asyncpg.Pool, campaign_id: UUID) -> tuple[Sending, bool]:
    """A one-off campaign's sending asked for (once: asked again, nothing more is sent); the
    campaign job does it. (Where it stands, whether it was finished already.) A scheduled
    campaign goes now; a cancelled one never (409 ``campaign_cancelled``)."""
    campaign = await rows.one(pool, campaign_id)
    if campaign["monthly_day"] is not None:
        raise _refusal(campaign)
    async with pool.acquire() as conn, conn.transaction():
        locked = await rows.lock(conn, campaign_id)
        assert locked is not None
        if locked["cancelled_at"] is not None:
            raise _refusal(locked)
        now = clock.now()
        await rows.freeze(conn, campaign_id, now)
        await daily_rows.take_day(conn, rules.campaign_job(campaign_id), sending_day(campaign), now)
    state = await sending(pool, campaign)
    assert state is not None
    return state, state.status == "sent"


async def retime(pool: asyncpg.Pool, campaign_id: UUID, send_at: datetime | None) -> None:
    """A one-off campaign not yet sent nor cancelled, scheduled for ``send_at`` (None: back
    to a draft); 409 ``campaign_sent``, ``campaign_cancelled``, ``monthly`` otherwise."""
    check_send_at(send_at, clock.now())
    async with pool.acquire() as conn, conn.transaction():
        if not await rows.retime(conn, campaign_id, send_at, clock.now()):
            raise _refusal(await rows.one(conn, campaign_id))


async def cancel(pool: asyncpg.Pool, campaign_id: UUID) -> None:
    """A one-off campaign not yet sent, cancelled (again: nothing more); 409
    ``campaign_sent`` once its sending was asked for, ``monthly`` for a newsletter."""
    async with pool.acquire() as conn, conn.transaction():
        if await rows.cancel(conn, campaign_id, clock.now()):
            return
        was = await rows.one(conn, campaign_id)
        if was["cancelled_at"] is None or was["monthly_day"] is not None:
            raise _refusal(was)


async def ask_due(pool: asyncpg.Pool, limit: int = DUE_PER_PASS) -> list[UUID]:
    """The scheduled campaigns whose instant has passed, asked for as ``/send`` asks (their
    filters recorded and their day row made in one transaction): each once, whichever
    replica's pass takes it, however late (a stop over the instant: the next start sends)."""
    async with pool.acquire() as conn, conn.transaction():
        now = clock.now()
        due = await rows.freeze_due(conn, now, limit)
        for c in due:
            await daily_rows.take_day(conn, rules.campaign_job(c["id"]), sending_day(dict(c)), now)
    return [c["id"] for c in due]


async def send_asked(
    pool: asyncpg.Pool, links: Links, batch: int = BATCH
) -> dict[UUID, int | None]:
    """The campaign job's pass: the scheduled campaigns due asked for, then every one-off
    campaign asked for and not finished, sent to its end (None: another replica finished it
    first)."""
    await ask_due(pool)
    return {
        c["id"]: await send_day(pool, links, c, sending_day(c), batch)
        for c in await rows.sends_asked(pool)
    }


async def send_newsletter(
    pool: asyncpg.Pool, links: Links, campaign_id: UUID, day: date
) -> int | None:
    """A monthly newsletter's ``day`` (nothing unless it is its day of the month), once."""
    campaign = await rows.one(pool, campaign_id)
    if campaign["monthly_day"] is None:
        raise Problem(409, "A one-off campaign", "send it with /send", reason="one_off")
    return await send_day(pool, links, campaign, day)


async def run_due(
    pool: asyncpg.Pool, links: Links, today: date
) -> dict[UUID, dict[date, int | None]]:
    """The monthly newsletters: each day due (a missed day caught up), sent on their day."""
    done: dict[UUID, dict[date, int | None]] = {}
    for c in await rows.monthly(pool):
        days = await daily.days_due(pool, rules.campaign_job(c["id"]), today)
        done[c["id"]] = {d: await send_day(pool, links, c, d) for d in days}
    return done


async def report(
    pool: asyncpg.Pool, campaign_id: UUID
) -> tuple[dict[str, Any], int, int, dict[str, int]]:
    """The campaign (its filters: those it goes to), its segment's size now (all,
    consenting), its messages by status."""
    campaign = await rows.one(pool, campaign_id)
    segment = await segment_of(pool, campaign)
    total, consenting = await size(pool, segment, campaign["channel"])
    campaign = {**campaign, "segment": segment.filters.as_json()}
    return campaign, total, consenting, await rows.statuses(pool, campaign_id)
