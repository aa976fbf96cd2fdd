"""Where messages stand, for the back office and crm: one message, a campaign's, a person's."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel

from services.notifications.adapters import scopes
from services.notifications.adapters.messages import MessageState
from services.notifications.entrypoints.http import scope
from services.notifications.service import messages
from shared.access import Need
from shared.access_http import authorise
from shared.http import Problem, json_response, read_query, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


class MessageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    campaign_id: UUID | None = None
    account_id: UUID | None = Field(default=None, description="the person (a customer's account)")
    to: str | None = Field(
        default=None, min_length=3, max_length=320, description="an address or number"
    )


async def _campaign(request: web.Request, pool: asyncpg.Pool, campaign_id: UUID) -> None:
    """A campaign's messages: its association's (ASSOCIATION) or its merchant's (MANAGER), as
    its messages tell; none here yet: the operator's alone."""
    found = await scopes.campaign(pool, campaign_id)
    if found is None:
        authorise(request, Need.ASSOCIATION)
    else:
        scope.of(request, found.association_id, found.merchant_id)


class MessageStates(RootModel[list[MessageState]]):
    pass


class CampaignProgress(BaseModel):
    campaign_id: UUID
    total: int
    by_status: dict[str, int]


@routes.route(
    "GET",
    "/v1/messages",
    summary="Messages of a campaign, of a person or to an address, newest first (at most 1000)",
    query=MessageQuery,
    returns=MessageStates,
    tag="messages",
)
async def list_messages(request: web.Request) -> web.Response:
    rt = back_office(request)
    q = read_query(request, MessageQuery)
    if q.campaign_id is None and q.account_id is None and q.to is None:
        raise Problem(
            400, "Missing filter", "give campaign_id, account_id or to", reason="missing_filter"
        )
    # The filters narrow each other, so any one bounds the answer: the campaign's scope, else
    # the person's, decides who may ask; an address alone may be anyone's (the operator's).
    if q.campaign_id is not None:
        await _campaign(request, rt.pool, q.campaign_id)
    elif q.account_id is not None:
        person = await scopes.person(rt.pool, q.account_id)
        aid = None if person is None else person.association_id
        authorise(request, Need.HOLDER, aid, None, q.account_id)
    else:
        authorise(request, Need.OPERATOR)
    found = await messages.find(rt.pool, q.campaign_id, q.account_id, q.to)
    return json_response(MessageStates(found))


@routes.route(
    "GET",
    "/v1/messages/{message_id}",
    summary="Where one message stands",
    returns=MessageState,
    tag="messages",
)
async def get_message(request: web.Request) -> web.Response:
    """A message to a person: theirs (HOLDER); else its merchant's or association's."""
    rt = back_office(request)
    message_id = uuid_param(request, "message_id")
    found = scope.known("message", message_id, await scopes.message(rt.pool, message_id))
    if found.account_id is not None:
        authorise(request, Need.HOLDER, found.association_id, None, found.account_id)
    else:
        scope.of(request, found.association_id, found.merchant_id)
    return json_response(await messages.message(rt.pool, message_id))


@routes.route(
    "GET",
    "/v1/campaigns/{campaign_id}/progress",
    summary="How many messages of a campaign stand at each status",
    returns=CampaignProgress,
    tag="messages",
)
async def campaign_progress(request: web.Request) -> web.Response:
    rt = back_office(request)
    cid = uuid_param(request, "campaign_id")
    await _campaign(request, rt.pool, cid)
    counts = await messages.campaign(rt.pool, cid)
    return json_response(
        CampaignProgress(campaign_id=cid, total=sum(counts.values()), by_status=counts)
    )
