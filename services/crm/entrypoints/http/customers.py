"""Read API of the customer files."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from services.crm import service
from shared.db.query import as_model, as_models
from shared.http import json_response, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


class MerchantFile(BaseModel):
    account_id: UUID
    merchant_id: UUID
    visit_count: int
    total_spent_cents: int
    first_visit_at: datetime
    last_visit_at: datetime


class CustomerFile(BaseModel):
    account_id: UUID
    association_id: UUID
    phone: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    enrolled_at: datetime | None
    enrolled_by_merchant: str | None
    visit_count: int
    total_spent_cents: int
    last_visit_at: datetime | None
    merchants: list[MerchantFile]


@routes.route(
    "GET",
    "/v1/customers/{account_id}",
    summary="A customer's file, with one file per merchant visited",
    returns=CustomerFile,
)
async def get_customer(request: web.Request) -> web.Response:
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    file, merchants = await service.customer_file(rt.pool, account_id)
    return json_response(
        as_model(CustomerFile, {**dict(file), "merchants": as_models(MerchantFile, merchants)})
    )
