"""Where messages stand, for the back office and crm: one message, a campaign's, a person's."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel

from services.notifications.adapters.messages import MessageState
from services.notifications.service import messages
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
    rt = back_office(request)
    return json_response(await messages.message(rt.pool, uuid_param(request, "message_id")))


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
    counts = await messages.campaign(rt.pool, cid)
    return json_response(
        CampaignProgress(campaign_id=cid, total=sum(counts.values()), by_status=counts)
    )
