"""Back-office routes of an account's own promotions (issue 13, item 4): crm's birthday offer,
a rate multiplied for N days for that customer only, through the rules engine (the use cases:
``service.account_promotions``). Idempotent by the id the client chose: the same request
again answers 200 with the promotion, the same id with other terms 409 ``id_reused``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field, RootModel

from services.cards.entrypoints.http import scoped
from services.cards.service import account_promotions
from services.cards.service.catalogue_models import AwareInstant, MultiplierIn, MultiplierOut
from shared.access import Need
from shared.http import In, json_response, read_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

TAG = "accounts"
routes = Routes()


class AccountPromotionIn(In):
    reason: Literal["birthday"] = Field(description="why: the statements' rate column says it")
    merchant_id: UUID | None = Field(
        default=None, description="a merchant of the account's association; None: all of them"
    )
    starts_at: AwareInstant = Field(description="included")
    ends_at: AwareInstant = Field(description="excluded; at most 366 days after starts_at")
    multiplier: MultiplierIn = Field(description="above 1: x2 is {numerator: 2}")


class AccountPromotionOut(BaseModel):
    id: UUID
    account_id: UUID
    merchant_id: UUID | None
    reason: str
    starts_at: datetime
    ends_at: datetime
    multiplier: MultiplierOut
    created_at: datetime


class AccountPromotions(RootModel[list[AccountPromotionOut]]):
    pass


def _out(r: asyncpg.Record) -> AccountPromotionOut:
    return AccountPromotionOut(
        id=r["id"],
        account_id=r["account_id"],
        merchant_id=r["merchant_id"],
        reason=r["reason"],
        starts_at=r["starts_at"],
        ends_at=r["ends_at"],
        multiplier=MultiplierOut(
            numerator=r["multiplier_numerator"], denominator=r["multiplier_denominator"]
        ),
        created_at=r["created_at"],
    )


@routes.route(
    "PUT",
    "/v1/accounts/{account_id}/promotions/{promotion_id}",
    summary="Grant an account its own promotion (a birthday offer) for a period",
    body=AccountPromotionIn,
    returns=AccountPromotionOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_account_promotion(request: web.Request) -> web.Response:
    """The account's sales from `starts_at` to `ends_at` earn their rate multiplied (with the
    catalogue's promotions, within the 100 % and the legal caps); a chip card's sales offline
    earn the normal rate (the terminal does not know it). One merchant's offer is its
    manager's to grant (at its cost); every merchant's, the association's."""
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    b = await read_model(request, AccountPromotionIn)
    need = scoped.by_merchant(b.merchant_id)
    await scoped.account(request, rt.pool, need, account_id, b.merchant_id)
    m = b.multiplier
    done = await account_promotions.grant(
        rt.pool,
        uuid_param(request, "promotion_id"),
        account_id,
        b.merchant_id,
        b.reason,
        b.starts_at,
        b.ends_at,
        (m.numerator, m.denominator),
    )
    return json_response(_out(done.promotion), 201 if done.fresh else 200)


@routes.route(
    "GET",
    "/v1/accounts/{account_id}/promotions",
    summary="An account's own promotions",
    returns=AccountPromotions,
    tag=TAG,
)
async def list_account_promotions(request: web.Request) -> web.Response:
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    await scoped.account(request, rt.pool, Need.HOLDER, account_id)
    found = await account_promotions.of_account(rt.pool, account_id)
    return json_response(AccountPromotions([_out(r) for r in found]))
