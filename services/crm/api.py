"""Read API of the customer files."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shared.http import Problem, json_response, uuid_param
from shared.service import Runtime, back_office


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
    app.router.add_get("/v1/customers/{account_id}", get_customer)
