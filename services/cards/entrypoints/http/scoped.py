"""Authorising a cards route on the scope of the resource it reaches (issue 15): routes keyed
by an account, a card, a card type, a batch, a voucher or a quarantined line read whose it is
first (adapters/scopes.py), then ``authorise`` it, then act.

A resource that does not exist has no association: only the operator passes (and the use case
answers its 404, with its own reason); anyone else is refused ``out_of_scope``, so a scoped
person cannot tell a missing resource from another association's."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from aiohttp import web

from services.cards.adapters import scopes
from shared.access import Need, Principal
from shared.access_http import authorise


def by_merchant(merchant_id: UUID | None) -> Need:
    """A setting of one merchant is its manager's; of every merchant, the association's."""
    return Need.ASSOCIATION if merchant_id is None else Need.MANAGER


async def account(
    request: web.Request,
    pool: asyncpg.Pool,
    need: Need,
    account_id: UUID,
    merchant_id: UUID | None = None,
) -> Principal:
    """On a cardholder's account (and, with ``merchant_id``, a merchant of its association)."""
    association_id = await scopes.account(pool, account_id)
    return authorise(request, need, association_id, merchant_id, account_id)


async def card(
    request: web.Request,
    pool: asyncpg.Pool,
    need: Need,
    number: str,
    merchant_id: UUID | None = None,
) -> Principal:
    """On a card: its association and its account."""
    found = await scopes.card(pool, number)
    if found is None:
        return authorise(request, need)
    association_id, account_id = found
    return authorise(request, need, association_id, merchant_id, account_id)


async def merchant(
    request: web.Request, pool: asyncpg.Pool, need: Need, merchant_id: UUID
) -> Principal:
    """On a merchant's own data (its association read from the merchant)."""
    return authorise(request, need, await scopes.merchant(pool, merchant_id), merchant_id)


async def card_type(
    request: web.Request,
    pool: asyncpg.Pool,
    need: Need,
    card_type_id: UUID,
    merchant_id: UUID | None = None,
) -> Principal:
    """On a card type, the association's that made it."""
    association_id = await scopes.card_type(pool, card_type_id)
    return authorise(request, need, association_id, merchant_id)


def held_elsewhere(
    request: web.Request,
    need: Need,
    existing: UUID | None,
    association_id: UUID,
    merchant_id: UUID | None = None,
) -> None:
    """An upsert whose resource exists in another association: its owner must be reached too
    (no moving a resource out of someone else's scope)."""
    if existing is not None and existing != association_id:
        authorise(request, need, existing, merchant_id)
