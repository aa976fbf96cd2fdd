"""Use cases of card types (F1), their own rates per merchant, their acceptances by other
associations, and the dry run of a sale. Each change is one transaction bumping
``rules_version`` (``catalogue.change``)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from services.cards.adapters import card_types as db
from services.cards.adapters import catalogue as catalogue_db
from services.cards.adapters import programs as programs_db
from services.cards.adapters.rulebooks import BOOKS
from services.cards.domain import catalogue as rules
from services.cards.domain.dry_run import DryRun, dry_run
from services.cards.service.catalogue import change
from services.cards.service.catalogue_models import CardTypeIn, DryRunIn, RateIn
from services.cards.service.refusals import answered, use_case
from shared import clock
from shared.http import Problem


@use_case
async def put_card_type(
    pool: asyncpg.Pool, aid: UUID, ctid: UUID, body: CardTypeIn
) -> asyncpg.Record:
    """association, generic and merchant cards earn under a program of the association;
    gift, prepaid and epurse cards hold money and have none. A merchant card names its
    merchant. The association's default card type stays an earning one."""
    rules.check_card_type_terms(body.kind, body.program_id, body.merchant_id)
    async with change(pool) as conn:
        owner = await catalogue_db.association(conn, aid)
        if body.program_id is not None:
            program = await programs_db.program_owner(conn, body.program_id)
            rules.check_card_type_program(program, body.program_id, aid)
        if body.merchant_id is not None:
            rules.check_merchant_of(await catalogue_db.merchant(conn, body.merchant_id), aid)
        old = await db.lock_card_type(conn, ctid)
        if old is not None:
            rules.check_card_type_owner(old, aid, ctid)
            if rules.kind_changes(old, body.kind) and await db.has_cards(conn, ctid):
                raise rules.refuse_kind_change(old, ctid)
        rules.check_default_stays_earning(owner, aid, ctid, body.kind)
        return await db.upsert_card_type(
            conn,
            ctid,
            aid,
            name=body.name,
            kind=body.kind,
            program_id=body.program_id,
            taux_client_bps=body.taux_client_bps,
            taux_uc_bps=body.taux_uc_bps,
            merchant_id=body.merchant_id,
            validity_months=body.validity_months,
        )


async def list_card_types(pool: asyncpg.Pool, aid: UUID) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        await catalogue_db.association(conn, aid)
        return await db.card_types_of(conn, aid)


async def get_card_type(
    pool: asyncpg.Pool, ctid: UUID
) -> tuple[asyncpg.Record, list[asyncpg.Record], list[asyncpg.Record]]:
    """The card type, its rates per merchant and its acceptances."""
    async with pool.acquire() as conn:
        row = await db.card_type(conn, ctid)
        return row, await db.rates_of(conn, ctid), await db.acceptances_of(conn, ctid)


# --- rates -------------------------------------------------------------------------------------


@use_case
async def put_rate(pool: asyncpg.Pool, ctid: UUID, mid: UUID, body: RateIn) -> asyncpg.Record:
    """The merchant must accept the card type; a rate left out is the merchant's own."""
    rules.check_rates(body.taux_client_bps, body.taux_uc_bps)
    async with change(pool) as conn:
        ct = await db.card_type(conn, ctid)
        merchant = await catalogue_db.merchant(conn, mid)
        accepted = rules.accepted_without_acceptance(ct, merchant)
        if accepted is None:
            accepted = await db.accepted_by(conn, ctid, merchant["association_id"], mid)
        if not accepted:
            raise rules.refuse_not_accepted(ctid, merchant)
        return await db.upsert_rate(conn, ctid, mid, body.taux_client_bps, body.taux_uc_bps)


async def delete_rate(pool: asyncpg.Pool, ctid: UUID, mid: UUID) -> asyncpg.Record:
    async with change(pool) as conn:
        row = await db.delete_rate(conn, ctid, mid)
        if row is None:
            await db.card_type(conn, ctid)
            raise Problem(
                404, "Unknown rate", f"card type {ctid} has no rates of its own at merchant {mid}"
            )
        return row


# --- acceptances -------------------------------------------------------------------------------


async def put_acceptance(pool: asyncpg.Pool, ctid: UUID, aid: UUID, mid: UUID | None) -> bool:
    """A works council's card accepted by a second association, say; True when new."""
    async with change(pool) as conn:
        ct = await db.card_type(conn, ctid)
        await catalogue_db.association(conn, aid)
        if mid is not None:
            rules.check_merchant_of(await catalogue_db.merchant(conn, mid), aid)
        rules.check_acceptance(ct, aid)
        return await db.insert_acceptance(conn, ctid, aid, mid)


async def delete_acceptance(pool: asyncpg.Pool, ctid: UUID, aid: UUID, mid: UUID | None) -> None:
    """With ``mid``, the acceptance by that merchant; without, the association's."""
    async with change(pool) as conn:
        if not await db.delete_acceptance(conn, ctid, aid, mid):
            await db.card_type(conn, ctid)
            who = f"merchant {mid} of " if mid else ""
            raise Problem(
                404,
                "Unknown acceptance",
                f"{who}association {aid} does not accept card type {ctid}",
            )


# --- the dry run -------------------------------------------------------------------------------


async def run_dry(pool: asyncpg.Pool, aid: UUID, body: DryRunIn) -> DryRun:
    """The rules engine's evaluation of a sale that is not recorded, on the rule books of one
    consistent snapshot."""
    async with (
        pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        snapshot = await BOOKS.current(conn)
    at: datetime = body.at or clock.now()
    with answered():
        return dry_run(
            snapshot,
            aid,
            body.card_type_id,
            body.merchant_id,
            body.product_family,
            body.amount_cents,
            body.quantity,
            at,
            body.language,
        )
