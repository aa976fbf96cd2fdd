"""Back-office routes of the card life cycle (F4): block, reactivate, replace, renew."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field

from services.cards.adapters import scopes
from services.cards.entrypoints.http import scoped
from services.cards.entrypoints.http.common import card_param, optional_body
from services.cards.service import lifecycle
from services.cards.service.views import BlacklistChange, Card
from shared.access import Need
from shared.access_http import authorise
from shared.fields import Name
from shared.http import In, json_response, parse_model
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "cards"


class BlockIn(In):
    reason: Literal["lost", "stolen"]


class ReplacementIn(In):
    first_name: Name | None = Field(default=None, description="default: the old card's")
    last_name: Name | None = Field(default=None, description="default: the old card's")
    issued_by_merchant: UUID | None = None


class RenewalIn(In):
    expires_on: date | None = Field(
        default=None, description="default: today plus the card type's validity_months"
    )


class Blocked(BaseModel):
    card: Card
    blacklist_change: BlacklistChange | None = Field(
        description="null: the card was already blocked for this reason (a retry)"
    )


class Reactivated(BaseModel):
    card: Card
    was_dormant: bool
    was_lost: bool
    pending_lost_cents: int = Field(description="the account's pending rewards lost now")
    cagnotte_reference: UUID | None = Field(
        description="the reference of the pending_lost entry (null: no pending rewards to lose)"
    )
    blacklist_change: BlacklistChange | None


class Replaced(BaseModel):
    card: Card = Field(description="the new card")
    replaced: Card = Field(description="the old card, now status replaced")
    blacklist_change: BlacklistChange | None = Field(
        description="the old card's entry on the blacklist (null: it was already on it)"
    )


@routes.route(
    "POST",
    "/v1/cards/{number}/block",
    summary="Block a lost or stolen card: it goes on the blacklist",
    body=BlockIn,
    returns=Blocked,
    tag=TAG,
)
async def block_card(request: web.Request) -> web.Response:
    """A retry (the card already blocked for the same reason) changes nothing. A lost card can
    then be declared stolen; a stolen card stays stolen."""
    rt = back_office(request)
    number = card_param(request)
    await scoped.card(request, rt.pool, Need.HOLDER, number)  # the holder, or a front desk
    body = parse_model(await request.read(), BlockIn)
    card, change = await lifecycle.block(rt.pool, number, body.reason)
    return json_response(Blocked(card=card, blacklist_change=change))


@routes.route(
    "POST",
    "/v1/cards/{number}/reactivation",
    summary="Reactivate a dormant card (its account's pending rewards are lost) or a lost one found again",
    returns=Reactivated,
    tag=TAG,
)
async def reactivate_card(request: web.Request) -> web.Response:
    """A dormant card (unused for the association's `dormant_after_days`): the account's pending
    rewards are lost, as a `pending_lost` cagnotte entry, and the card counts as used now. A lost
    card found again: active, and off the blacklist. A stolen card is never reactivated: replace
    it. A card that is neither dormant nor lost is left as it is (a retry answers so)."""
    rt = back_office(request)
    number = card_param(request)
    p = await scoped.card(request, rt.pool, Need.HOLDER, number)
    done = await lifecycle.reactivate(rt.pool, number, p.actor)
    out = Reactivated(
        card=done.card,
        was_dormant=done.was_dormant,
        was_lost=done.was_lost,
        pending_lost_cents=done.pending_lost_cents,
        cagnotte_reference=done.cagnotte_reference,
        blacklist_change=done.blacklist_change,
    )
    return json_response(out)


@routes.route(
    "POST",
    "/v1/cards/{number}/replacement",
    summary="Replace a card: a new card of the same type on the same account",
    body=ReplacementIn,
    returns=Replaced,
    status=201,
    also=(200,),
    tag=TAG,
)
async def replace_card(request: web.Request) -> web.Response:
    """The balance is the account's, so it carries over; the new card keeps the old one's
    expiry date and, unless given, its names. The old card becomes `replaced` and goes on the
    blacklist. A retry (the card already replaced) answers the same replacement (200)."""
    rt = back_office(request)
    number = card_param(request)
    await scoped.card(request, rt.pool, Need.HOLDER, number)
    body = await optional_body(request, ReplacementIn)
    if body.issued_by_merchant is not None:  # a front desk hands the new card out
        await scoped.card(request, rt.pool, Need.STAFF, number, body.issued_by_merchant)
    new, old, change, created = await lifecycle.replace(
        rt.pool, number, body.first_name, body.last_name, body.issued_by_merchant
    )
    out = Replaced(card=new, replaced=old, blacklist_change=change)
    return json_response(out, 201 if created else 200)


@routes.route(
    "POST",
    "/v1/cards/{number}/renewal",
    summary="Extend a card's validity (subscription renewal)",
    body=RenewalIn,
    returns=Card,
    tag=TAG,
)
async def renew_card(request: web.Request) -> web.Response:
    """The new expiry date is `expires_on`, or today plus the card type's `validity_months`; a
    date in the past is refused. Only an active card is renewed."""
    rt = back_office(request)
    number = card_param(request)
    # A subscription paid for: the association's, not the holder's to extend.
    found = await scopes.card(rt.pool, number)
    authorise(request, Need.ASSOCIATION, found[0] if found else None)
    body = await optional_body(request, RenewalIn)
    return json_response(await lifecycle.renew(rt.pool, number, body.expires_on))
