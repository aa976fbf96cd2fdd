"""Personal data in notifications (issue 13, GDPR): an erasure crm decided pseudonymises the
message store of the person's addresses; crm's access answer reads it by address."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from aiohttp import web
from pydantic import BaseModel, Field

from services.notifications.adapters import people
from shared.access import Need
from shared.access_http import authorise
from shared.contracts import CustomerErased
from shared.events import Event
from shared.http import read_query
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


async def on_erased(
    conn: asyncpg.Connection, events: list[Event[CustomerErased]]
) -> Sequence[Event[Any]]:
    for d in sorted((e.data for e in events), key=lambda d: d.account_id):
        await people.pseudonymise(conn, d.account_id, d.addresses, d.pseudonym)
    return []


class ByAddress(BaseModel):
    address: list[str] = Field(min_length=1, max_length=20)


@routes.route(
    "GET",
    "/v1/people/messages",
    summary="The messages sent to these addresses (GDPR access, asked by crm)",
    query=ByAddress,
    tag="people",
)
async def messages_to(request: web.Request) -> web.Response:
    """An address is anyone's in the network: crm's gathering, with the operator's token."""
    rt = back_office(request)
    authorise(request, Need.OPERATOR)
    q = read_query(request, ByAddress)
    found = [dict(r) for r in await people.messages_to(rt.pool, q.address)]
    return web.Response(
        body=orjson.dumps({"messages": found}, default=str), content_type="application/json"
    )
