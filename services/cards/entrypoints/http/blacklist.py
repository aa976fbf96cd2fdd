"""The blacklist terminals download (F4)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from services.cards.service import blacklist
from services.cards.service.blacklist import BlacklistPage
from shared.access import Need
from shared.access_http import authorise
from shared.http import json_response, read_query
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
MAX_VERSION = 2**63 - 1


class BlacklistQuery(BaseModel):
    since: int = Field(default=0, ge=0, le=MAX_VERSION, description="the version you hold")
    limit: int = Field(default=1000, ge=1, le=10_000)


@routes.route(
    "GET",
    "/v1/blacklist",
    summary="The blacklist changes since a version, for the terminals",
    query=BlacklistQuery,
    returns=BlacklistPage,
    tag="blacklist",
)
async def get_blacklist(request: web.Request) -> web.Response:
    """The changes with a version above `since`, in version order, at most `limit`. Apply them,
    then ask again with `since=next` while `next` is not null; then hold `version`."""
    rt = back_office(request)
    authorise(request, Need.OPERATOR)  # every association's: the terminals' service fetches it
    q = read_query(request, BlacklistQuery)
    return json_response(await blacklist.page(rt.pool, q.since, q.limit))
