"""Use cases of programs (cagnotte, points, stamps) and promotions. Each change is one
transaction bumping ``rules_version`` (``catalogue.change``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import asyncpg

from services.cards.adapters import catalogue as catalogue_db
from services.cards.adapters import programs as db
from services.cards.domain import catalogue as rules
from services.cards.domain.rulebooks import program_of
from services.cards.service.catalogue import change
from services.cards.service.catalogue_models import ProgramIn, PromotionIn
from services.cards.service.refusals import use_case
from shared import clock
from shared.http import Problem
from shared.rules.programs import Program, ProgramTransitionRefused

# --- programs ----------------------------------------------------------------------------------


@use_case
async def put_program(pool: asyncpg.Pool, aid: UUID, pid: UUID, body: ProgramIn) -> asyncpg.Record:
    """A program is created active; its status moves only by suspend, resume and delete. Its
    kind never changes (the units accounts hold would change meaning): create another."""
    rules.program_terms(
        pid,
        body.kind,
        body.families,
        body.valid_from,
        body.valid_until,
        body.points_per_euro,
        body.units_per_reward,
        body.reward_cents,
    )
    async with change(pool) as conn:
        await catalogue_db.association(conn, aid)
        old = await db.lock_program(conn, pid)
        if old is not None:
            rules.check_program_update(old, aid, pid, body.kind)
        return await db.upsert_program(
            conn,
            pid,
            aid,
            name=body.name,
            kind=body.kind,
            families=rules.sorted_families(body.families),
            valid_from=body.valid_from,
            valid_until=body.valid_until,
            points_per_euro=body.points_per_euro,
            units_per_reward=body.units_per_reward,
            reward_cents=body.reward_cents,
            visit_threshold=body.visit_threshold,
            visit_threshold_max_days=body.visit_threshold_max_days,
        )


async def get_program(pool: asyncpg.Pool, aid: UUID, pid: UUID) -> asyncpg.Record:
    async with pool.acquire() as conn:
        return await db.program(conn, aid, pid)


async def list_programs(pool: asyncpg.Pool, aid: UUID) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        await catalogue_db.association(conn, aid)
        return await db.programs_of(conn, aid)


async def move_program(
    pool: asyncpg.Pool, aid: UUID, pid: UUID, move: Callable[[Program], Program]
) -> asyncpg.Record:
    """Suspend, resume or delete: the transition is the rules engine's (a refused one: 409)."""
    async with change(pool) as conn:
        row = await db.program(conn, aid, pid, lock=True)
        try:
            moved = move(program_of(row))
        except ProgramTransitionRefused as exc:
            raise Problem(409, "Program transition refused", str(exc)) from exc
        return await db.set_program_status(conn, pid, str(moved.status))


# --- promotions --------------------------------------------------------------------------------


@use_case
async def put_promotion(
    pool: asyncpg.Pool, aid: UUID, prid: UUID, body: PromotionIn
) -> asyncpg.Record:
    """Network-wide without merchant_id, else the merchant's own. Exactly one of
    taux_client_bps (an override) and multiplier."""
    m = body.multiplier
    multiplier = (m.numerator, m.denominator) if m is not None else None
    rules.promotion_terms(
        prid,
        body.starts_at,
        body.ends_at,
        body.taux_client_bps,
        multiplier,
        body.merchant_id,
        body.families,
    )
    async with change(pool) as conn:
        await catalogue_db.association(conn, aid)
        if body.merchant_id is not None:
            rules.check_merchant_of(await catalogue_db.merchant(conn, body.merchant_id), aid)
        old = await db.lock_promotion(conn, prid)
        if old is not None:
            rules.check_promotion_update(old, aid, prid)
        return await db.upsert_promotion(
            conn,
            prid,
            aid,
            merchant_id=body.merchant_id,
            name=body.name,
            families=rules.sorted_families(body.families),
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            taux_client_bps=body.taux_client_bps,
            multiplier=multiplier,
        )


async def list_promotions(
    pool: asyncpg.Pool, aid: UUID, live_at: datetime | None
) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        await catalogue_db.association(conn, aid)
        return await db.promotions_of(conn, aid, live_at)


async def withdraw_promotion(pool: asyncpg.Pool, aid: UUID, prid: UUID) -> asyncpg.Record:
    """Withdrawing again changes nothing and answers the promotion as it is."""
    async with change(pool) as conn:
        # Sales are dated on the services' clock: the withdrawal is compared with them.
        row = await db.withdraw_promotion(conn, prid, aid, clock.now())
        if row is None:
            await catalogue_db.association(conn, aid)
            raise Problem(404, "Unknown promotion", f"no promotion {prid} in association {aid}")
        return row
