"""Use cases of the catalogue: associations, their merchants and the merchants' product
families.

Every change runs in one transaction that also bumps ``rules_version`` (``change``): every
cards process then recompiles its rule books before the next sale it handles. The checks a
client can get wrong are made before writing, each with its own problem; the database's
constraints stay the last word, and a violation of one is answered as a 4xx problem too (by
the HTTP middleware), never as a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg

from services.cards.adapters import catalogue as db
from services.cards.adapters.rulebooks import bump
from services.cards.domain import catalogue as rules
from services.cards.service import registrations
from services.cards.service.catalogue_models import AssociationIn, FamilyIn, MerchantIn
from services.cards.service.refusals import answered
from shared import clock
from shared.http import Problem


@asynccontextmanager
async def change(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One transaction for a change to what a sale earns, bumping ``rules_version`` in it; a
    rule's refusal inside leaves as its problem."""
    async with pool.acquire() as conn, conn.transaction():
        with answered():
            yield conn
        await bump(conn)


# --- associations ------------------------------------------------------------------------------


async def put_association(
    pool: asyncpg.Pool, aid: UUID, body: AssociationIn
) -> tuple[asyncpg.Record, bool]:
    """Created with its default program (a cagnotte on the whole catalogue, "Cagnotte") and
    its default card type (kind association, that program), in the same transaction. The
    association as it is now, and whether it was created."""
    async with change(pool) as conn:
        old = await db.lock_association(conn, aid)
        prefix = rules.issuer_prefix(body.issuer_prefix, old)
        if rules.prefix_changes(old, prefix) and await db.has_cards(conn, aid):
            assert old is not None
            raise rules.refuse_prefix_in_use(aid, old["issuer_prefix"])
        if prefix is not None:
            holder = await db.prefix_holder(conn, prefix, aid)
            if holder is not None:
                raise rules.refuse_prefix_taken(prefix, holder)
        created = await db.upsert_association(
            conn,
            aid,
            name=body.name,
            rate_mode=body.rate_mode,
            taux_client_bps=body.taux_client_bps,
            taux_uc_bps=body.taux_uc_bps,
            issuer_prefix=prefix,
            dormant_after_days=body.dormant_after_days,
            # The books start in its month: on the services' calendar, not the database's.
            created_at=clock.now(),
            books_start=body.books_start,
            books_start_default=clock.today_paris().replace(day=1),
        )
        if old is None or old["default_card_type_id"] is None:
            pid, ctid = rules.default_ids(aid)
            await db.create_defaults(conn, aid, pid, ctid, rules.default_card_type_name(body.name))
        if old is not None:
            # Its merchants' default rates may follow the association's: tell clearing.
            await registrations.announce(conn, association_id=aid)
        return await db.association_with_defaults(conn, aid), created


async def get_association(pool: asyncpg.Pool, aid: UUID) -> asyncpg.Record:
    return await db.association_with_defaults(pool, aid)


# --- merchants ---------------------------------------------------------------------------------


async def put_merchant(
    pool: asyncpg.Pool, aid: UUID, mid: UUID, body: MerchantIn
) -> asyncpg.Record:
    """Clearing is told (`MerchantRegistered`) when what it knows of the merchant changes: its
    name, its default rates, its closing day. `closed_on` left out keeps the current one."""
    async with change(pool) as conn:
        # Shared: an update of the association's rates waits, or is waited for, and the
        # merchant's registration is built from one or the other, never half of each.
        if not await db.share_association(conn, aid):
            raise Problem(404, "Unknown association", f"no association {aid}")
        rules.check_merchant_owner(mid, await db.lock_merchant_owner(conn, mid), aid)
        row = await db.upsert_merchant(
            conn,
            mid,
            aid,
            name=body.name,
            taux_client_bps=body.taux_client_bps,
            taux_uc_bps=body.taux_uc_bps,
            closed_on=body.closed_on,
            set_closed_on="closed_on" in body.model_fields_set,
            email=body.email,
            set_email="email" in body.model_fields_set,
            # Clearing's books start with it: the services' calendar, not the database's.
            created_at=clock.now(),
        )
        await registrations.announce(conn, merchant_id=mid)
    return row


async def list_merchants(pool: asyncpg.Pool, aid: UUID) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        await db.association(conn, aid)
        return await db.merchants_of(conn, aid)


async def directory(pool: asyncpg.Pool, aid: UUID) -> list[asyncpg.Record]:
    """The association's open merchants, the public part of each (the directory)."""
    return [m for m in await list_merchants(pool, aid) if m["closed_on"] is None]


async def get_merchant(pool: asyncpg.Pool, aid: UUID, mid: UUID) -> asyncpg.Record:
    """The merchant of the association: 404 ``unknown_merchant``, or
    ``merchant_not_in_association`` when it belongs to another one."""
    row = await db.merchant(pool, mid)
    if row["association_id"] != aid:
        raise Problem(
            404,
            "Merchant not in the association",
            f"merchant {mid} is not a merchant of association {aid}",
            reason="merchant_not_in_association",
        )
    return row


# --- product families --------------------------------------------------------------------------


async def put_family(pool: asyncpg.Pool, mid: UUID, code: str, body: FamilyIn) -> asyncpg.Record:
    """The flags carry the law (F10): tobacco and gambling earn nothing, books at most 5 %."""
    async with change(pool) as conn:
        await db.merchant(conn, mid)
        return await db.upsert_family(
            conn,
            mid,
            code,
            label=body.label,
            taux_client_bps=body.taux_client_bps,
            tobacco=body.tobacco,
            gambling=body.gambling,
            book=body.book,
        )


async def list_families(pool: asyncpg.Pool, mid: UUID) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        await db.merchant(conn, mid)
        return await db.families_of(conn, mid)


async def delete_family(pool: asyncpg.Pool, mid: UUID, code: str) -> asyncpg.Record:
    """The family removed; its sales then earn as sales without family."""
    async with change(pool) as conn:
        row = await db.delete_family(conn, mid, code)
        if row is None:
            await db.merchant(conn, mid)
            raise Problem(404, "Unknown product family", f"merchant {mid} has no family {code}")
        return row
