"""Read API of the customer files."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from shared.http import Problem, json_response, uuid_param
from shared.openapi import Api
from shared.service import Runtime, back_office

api = Api("crm", "The customer files: per network, and per merchant of the network.")


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


def _json(r: Any) -> dict[str, Any]:
    return {
        k: (
            str(v)
            if k.endswith("_id") or k == "enrolled_by_merchant"
            else v.isoformat()
            if hasattr(v, "isoformat")
            else v
        )
        for k, v in dict(r).items()
        if v is not None or not k.endswith("_id")
    }


@api.route(
    "GET",
    "/v1/customers/{account_id}",
    summary="A customer's file, with one file per merchant visited",
    returns=CustomerFile,
)
async def get_customer(request: web.Request) -> web.Response:
    rt = back_office(request)
    account_id = uuid_param(request, "account_id")
    row = await rt.pool.fetchrow("SELECT * FROM customers WHERE account_id = $1", account_id)
    if row is None:
        raise Problem(404, "Unknown customer", f"no customer file for account {account_id}")
    merchants = await rt.pool.fetch(
        "SELECT * FROM merchant_customers WHERE account_id = $1 ORDER BY last_visit_at DESC",
        account_id,
    )
    return json_response({**_json(row), "merchants": [_json(m) for m in merchants]})


def routes(app: web.Application, _: Runtime) -> None:
    api.install(app)
