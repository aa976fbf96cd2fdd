"""The customer's current status levels as cards' daily review told them (issue 14, item 2)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from services.crm.entrypoints.http import scope
from services.crm.service import levels
from shared.db.query import as_models
from shared.http import json_response
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "customers"


class CustomerLevel(BaseModel):
    merchant_id: UUID | None
    level_code: str
    level_name: str | None
    changed_at: datetime


class CustomerLevels(BaseModel):
    levels: list[CustomerLevel]


@routes.route(
    "GET",
    "/v1/customers/{account_id}/levels",
    summary="The customer's status levels now (the association's, and each merchant's)",
    returns=CustomerLevels,
    tag=TAG,
)
async def customer_levels(request: web.Request) -> web.Response:
    rt = back_office(request)
    _, account_id = await scope.customer(request, rt)
    found = await levels.of_customer(rt.pool, account_id)
    return json_response(CustomerLevels(levels=as_models(CustomerLevel, found)))
