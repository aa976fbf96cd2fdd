"""The GDPR rights through the back office: access (JSON and CSV), erasure. Correction is the
customer file's PATCH."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from aiohttp import web
from pydantic import BaseModel

from services.crm.domain import rights as tree
from services.crm.entrypoints.http import scope
from services.crm.service import rights
from shared import outbox, tabular
from shared.db import transaction
from shared.http import json_response
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "rights"


class Erased(BaseModel):
    account_id: UUID
    pseudonym: str | None
    erased_at: datetime | None


@routes.route(
    "GET",
    "/v1/customers/{account_id}/personal-data",
    summary="Everything every service holds about a person (GDPR access)",
    tag=TAG,
)
async def personal_data(request: web.Request) -> web.Response:
    rt = back_office(request)
    _, account_id = await scope.customer(request, rt)
    answer = await rights.access(rt.pool, rt.settings, account_id)
    return web.Response(body=orjson.dumps(answer, default=str), content_type="application/json")


@routes.route(
    "GET",
    "/v1/customers/{account_id}/personal-data.csv",
    summary="The same, as CSV: one line per value (service, section, record, field, value)",
    content_type="text/csv",
    tag=TAG,
)
async def personal_data_csv(request: web.Request) -> web.Response:
    rt = back_office(request)
    _, account_id = await scope.customer(request, rt)
    answer = orjson.loads(
        orjson.dumps(await rights.access(rt.pool, rt.settings, account_id), default=str)
    )
    return web.Response(
        text="\ufeff" + tabular.to_text(tree.HEADER, tree.lines(answer)),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="personal-data-{account_id}.csv"'},
    )


@routes.route(
    "POST",
    "/v1/customers/{account_id}/erasure",
    summary="Erase a person's data in every service (the ledgers keep amounts, pseudonymised)",
    returns=Erased,
    tag=TAG,
)
async def erase(request: web.Request) -> web.Response:
    rt = back_office(request)
    _, account_id = await scope.customer(request, rt)

    async def work(conn: asyncpg.Connection) -> Any:
        await outbox.write(conn, await rights.erase(conn, account_id, "request"))
        return await rights.erased(conn, account_id)

    return json_response(Erased.model_validate(dict(await transaction(rt.pool, work))))
