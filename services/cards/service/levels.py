"""Use cases of customer status levels (issue 14, item 2): the definitions, the levels the
accounts hold, the daily review, and what the sales and the terminals' parameters take of them.

The review of a day runs once whatever the replicas or restarts (its row in ``level_reviews``,
made in the review's transaction: a second replica waits for the first and finds the day
done); the days missed while the service was stopped are caught up, 31 at most. Each change
publishes ``account.level_changed.v1`` through the outbox and bumps ``rules_version``, so the
offline terminals get the cards' levels with their next parameters (``service.publication``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

import asyncpg

from services.cards.adapters import accounts, associations
from services.cards.adapters import catalogue as catalogue_db
from services.cards.adapters import levels as db
from services.cards.adapters.rulebooks import bump
from services.cards.domain import levels as rules
from services.cards.domain.base import Refused
from services.cards.service.common import event
from services.cards.service.refusals import use_case
from shared import clock, outbox
from shared.clock import PARIS
from shared.contracts import LevelChanged
from shared.events import Event
from shared.http import Problem
from shared.rules.params import CardLevelParams, LevelParams
from shared.rules.promotions import Multiplier, Promotion, RateOverride

# After a long stop, the days caught up go back no further than this.
CATCH_UP_DAYS = 31


@dataclass(frozen=True, slots=True)
class Saved:
    level: asyncpg.Record
    fresh: bool


@use_case
async def define(
    pool: asyncpg.Pool, level_id: UUID, association_id: UUID, terms: rules.Terms
) -> Saved:
    """Make or change a level; its association, merchant and code are fixed once made. A
    change to what it gives reaches the terminals with the next parameters."""
    terms.check()
    async with pool.acquire() as conn, conn.transaction():
        await associations.get(conn, association_id)
        if terms.merchant_id is not None:
            owner = await catalogue_db.merchant_owner(conn, terms.merchant_id)
            if owner != association_id:  # unknown, or another association's: as crm says it
                raise Refused(
                    422,
                    "Merchant not in the association",
                    f"merchant {terms.merchant_id} is not a merchant of association "
                    f"{association_id}",
                    "merchant_not_in_association",
                )
        try:
            async with conn.transaction():
                row, fresh = await db.save(
                    conn, level_id, association_id, terms.columns(), clock.now()
                )
        except asyncpg.UniqueViolationError as exc:
            raise Refused(
                409,
                "Level taken",
                "another level of this scope has this code or rank",
                "level_conflict",
            ) from exc
        if row is None:
            raise Refused(
                409,
                "Another level",
                f"level {level_id} is of another association, merchant or code",
                "level_mismatch",
            )
        await bump(conn)  # its name, rate or terms reach the terminals' parameters
        return Saved(row, fresh)


async def of_association(pool: asyncpg.Pool, association_id: UUID) -> list[asyncpg.Record]:
    return await db.of_association(pool, association_id)


async def of_account(pool: asyncpg.Pool, account_id: UUID) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        await accounts.get(conn, account_id)
        return await db.held_by(conn, [account_id])


async def personal(
    conn: asyncpg.Connection, account_ids: Iterable[UUID]
) -> dict[UUID, tuple[Promotion, ...]]:
    """The promotions of the levels these accounts hold, each from the moment it was granted:
    a sale's batch reads them once (``service.sales``)."""
    out: dict[UUID, list[Promotion]] = defaultdict(list)
    for r in await db.held_by(conn, account_ids):
        out[r["account_id"]].append(rules.definition_of(r).rule().promotion(r["since"]))
    return {a: tuple(p) for a, p in out.items()}


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), PARIS)


async def review_day(pool: asyncpg.Pool, association_id: UUID, day: date) -> int | None:
    """The review of an association's accounts for ``day``: the number of levels changed, or
    None when the day was reviewed already (another replica, an earlier start)."""
    async with pool.acquire() as conn, conn.transaction():
        now = clock.now()
        await associations.get(conn, association_id)
        if not await db.take_day(conn, association_id, day, now):
            return None
        # A day caught up changed things as at its last second.
        at = min(now, _day_end(day) - timedelta(seconds=1))
        definitions = [rules.definition_of(r) for r in await db.every(conn, association_id)]
        by_id = {d.level_id: d for d in definitions}
        scopes: dict[UUID | None, list[rules.Definition]] = defaultdict(list)
        for d in definitions:
            scopes[d.merchant_id].append(d)
        events: list[Event[LevelChanged]] = []
        for merchant_id, of_scope in sorted(scopes.items(), key=lambda s: str(s[0] or "")):
            events += await _review_scope(
                conn, association_id, merchant_id, of_scope, by_id, day, at
            )
        if events:
            await bump(conn)
        await db.day_done(conn, association_id, day, len(events))
        await outbox.write(conn, events)
        return len(events)


async def _review_scope(
    conn: asyncpg.Connection,
    association_id: UUID,
    merchant_id: UUID | None,
    of_scope: list[rules.Definition],
    by_id: dict[UUID, rules.Definition],
    day: date,
    at: datetime,
) -> list[Event[LevelChanged]]:
    activity: dict[UUID, dict[int, tuple[int, int]]] = defaultdict(dict)
    for months in sorted({d.window_months for d in of_scope}):
        since, until = rules.window(day, months)
        for r in await db.activity(conn, association_id, merchant_id, since, until):
            activity[r["account_id"]][months] = (r["spent"], r["visits"])
    held = {r["account_id"]: r for r in await db.holdings(conn, association_id, merchant_id)}
    kept: list[tuple[UUID, UUID, UUID | None, UUID, datetime, date | None]] = []
    dropped: list[tuple[UUID, UUID | None]] = []
    events: list[Event[LevelChanged]] = []
    for account in sorted(set(activity) | set(held)):
        h = held.get(account)
        current = by_id.get(h["level_id"]) if h else None
        best = rules.reached(of_scope, activity.get(account, {}))
        v = rules.review(current, h["below_since"] if h else None, best, day)
        if v.changed:
            if v.level is None:
                dropped.append((account, merchant_id))
            else:
                kept.append((account, association_id, merchant_id, v.level.level_id, at, None))
            changed = LevelChanged(
                account_id=account,
                association_id=association_id,
                merchant_id=merchant_id,
                level_code=v.level.code if v.level else None,
                previous_level_code=current.code if current else None,
                occurred_at=at,
                level_name=v.level.name if v.level else None,
            )
            events.append(event(changed, f"account/{account}"))
        elif h is not None and v.below_since != h["below_since"]:
            kept.append(
                (account, association_id, merchant_id, h["level_id"], h["since"], v.below_since)
            )
    await db.hold(conn, kept)
    await db.drop(conn, dropped)
    return events


async def review_due(pool: asyncpg.Pool, today: date) -> dict[tuple[UUID, date], int | None]:
    """Every association's days not reviewed yet up to ``today`` (the first run: today's),
    each once."""
    done: dict[tuple[UUID, date], int | None] = {}
    for association_id in await db.associations(pool):
        last = await db.last_day(pool, association_id)
        since = today - timedelta(days=CATCH_UP_DAYS)
        day = today if last is None else max(last + timedelta(days=1), since)
        while day <= today:
            done[(association_id, day)] = await review_day(pool, association_id, day)
            day += timedelta(days=1)
    return done


def check_day(day: date) -> None:
    """A day asked for by hand is not in the future: its sales are not all booked."""
    if day.year < 2000:
        raise Problem(422, "Bad day", f"{day} is before any sale", reason="malformed")
    if day > clock.today_paris():
        raise Problem(422, "Future day", f"{day} has not come yet", reason="future_day")


async def for_parameters(
    conn: asyncpg.Connection,
) -> Callable[[UUID, UUID], tuple[list[LevelParams], list[CardLevelParams]]]:
    """What each merchant's terminal parameters list: the levels applicable there (the
    association's and the merchant's) and the cards holding one of them."""
    params: dict[tuple[UUID, UUID | None], list[LevelParams]] = defaultdict(list)
    for r in await db.every(conn):
        d = rules.definition_of(r)
        params[(d.association_id, d.merchant_id)].append(_level_params(d))
    cards: dict[tuple[UUID, UUID | None], list[CardLevelParams]] = defaultdict(list)
    for r in await db.for_terminals(conn):
        cards[(r["association_id"], r["merchant_id"])].append(
            CardLevelParams(card_number=r["card_number"], level_id=str(r["level_id"]))
        )

    def of(
        association_id: UUID, merchant_id: UUID
    ) -> tuple[list[LevelParams], list[CardLevelParams]]:
        scopes = ((association_id, None), (association_id, merchant_id))
        listed = sorted(
            (c for s in scopes for c in cards.get(s, [])),
            key=lambda c: (c.card_number, c.level_id),
        )
        return [p for s in scopes for p in params.get(s, [])], listed

    return of


def _level_params(d: rules.Definition) -> LevelParams:
    e = d.effect
    return LevelParams(
        level_id=str(d.level_id),
        code=d.code,
        name=d.name,
        merchant_id=str(d.merchant_id) if d.merchant_id else None,
        taux_client_bps=e.taux_client_bps if isinstance(e, RateOverride) else None,
        multiplier_numerator=e.numerator if isinstance(e, Multiplier) else None,
        multiplier_denominator=e.denominator if isinstance(e, Multiplier) else None,
    )
