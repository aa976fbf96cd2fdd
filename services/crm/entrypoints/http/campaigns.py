"""Campaigns (F24): a segment's size before sending, one-off e-mails and SMS (quick news from
the back office), the monthly newsletter; what became of a campaign's messages."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import AwareDatetime, BaseModel, Field

from services.crm.domain.segments import Segment
from services.crm.entrypoints import jobs
from services.crm.entrypoints.http.models import Strict, day_param
from services.crm.service import campaigns
from services.crm.service.common import Links
from shared.db import transaction
from shared.fields import ProductFamilyCode, Text
from shared.http import json_response, parse_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "campaigns"


class SegmentIn(Strict):
    """A network's customers (no merchant) or a merchant's file, filtered; only those who
    consented to the channel for that scope receive."""

    merchant_id: UUID | None = None
    channel: Literal["email", "sms"]
    seen_since: AwareDatetime | None = Field(default=None, description="last visit on or after")
    not_seen_since: AwareDatetime | None = Field(
        default=None, description="no visit since (or never)"
    )
    min_spent_cents: int | None = Field(default=None, ge=0, description="spent at least")
    product_families: list[ProductFamilyCode] = Field(
        default_factory=list, max_length=50, description="bought one of these (any: empty)"
    )

    def of(self, association_id: UUID) -> Segment:
        return Segment(
            association_id,
            self.merchant_id,
            self.channel,
            self.seen_since,
            self.not_seen_since,
            self.min_spent_cents,
            tuple(self.product_families),
        )


class SegmentSize(BaseModel):
    size: int = Field(description="customers in the segment")
    consenting: int = Field(description="of whom consented to the channel: who will receive")


class Variables(Strict):
    shop_name: Text | None = Field(default=None, max_length=100)
    body: Text | None = Field(default=None, max_length=2000)
    offer: Text | None = Field(default=None, max_length=200)


class CampaignIn(Strict):
    association_id: UUID
    template: Literal["newsletter", "quick_news"]
    variables: Variables = Field(default_factory=Variables)
    segment: SegmentIn
    monthly_day: int | None = Field(
        default=None, ge=1, le=28, description="a monthly newsletter's day; None: one-off"
    )


class Sending(BaseModel):
    """A one-off campaign's sending, done by crm's campaign job after the request."""

    status: Literal["draft", "sending", "sent"] = Field(
        description="draft: not asked; sending: asked, under way; sent: every message asked for"
    )
    asked_at: datetime | None = Field(description="when the sending was asked for")
    finished_at: datetime | None
    asked: int = Field(description="messages asked of notifications so far")


class CampaignSending(Sending):
    campaign_id: UUID


class Campaign(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID | None
    channel: str
    template: str
    variables: dict[str, Any]
    segment: dict[str, Any]
    monthly_day: int | None
    created_at: datetime
    updated_at: datetime
    size: int
    consenting: int
    messages: dict[str, int] = Field(description="the campaign's messages by status")
    sending: Sending | None = Field(description="a one-off campaign's sending (null: monthly)")


class Sent(BaseModel):
    sent: int | None = Field(description="messages asked for; null: sent already")


@routes.route(
    "POST",
    "/v1/associations/{association_id}/segments/size",
    summary="The size of a segment (and how many will receive), before sending",
    body=SegmentIn,
    returns=SegmentSize,
    tag=TAG,
)
async def segment_size(request: web.Request) -> web.Response:
    rt = back_office(request)
    b = parse_model(await request.read(), SegmentIn, strict=True)
    total, consenting = await campaigns.size(rt.pool, b.of(uuid_param(request, "association_id")))
    return json_response(SegmentSize(size=total, consenting=consenting))


def _sending(state: campaigns.Sending | None) -> Sending | None:
    return None if state is None else Sending(**asdict(state))


async def _answer(pool: asyncpg.Pool, campaign_id: UUID) -> Campaign:
    campaign, total, consenting, statuses = await campaigns.report(pool, campaign_id)
    state = _sending(await campaigns.sending(pool, campaign))
    return Campaign(**campaign, size=total, consenting=consenting, messages=statuses, sending=state)


@routes.route(
    "PUT",
    "/v1/campaigns/{campaign_id}",
    summary="Make or change a campaign (one-off, or a monthly newsletter) and see its size",
    body=CampaignIn,
    returns=Campaign,
    tag=TAG,
)
async def put_campaign(request: web.Request) -> web.Response:
    rt = back_office(request)
    campaign_id = uuid_param(request, "campaign_id")
    b = parse_model(await request.read(), CampaignIn, strict=True)
    segment = b.segment.model_dump(mode="json", exclude={"merchant_id", "channel"})

    async def work(conn: asyncpg.Connection) -> None:
        await campaigns.save(
            conn,
            campaign_id,
            association_id=b.association_id,
            merchant_id=b.segment.merchant_id,
            channel=b.segment.channel,
            template=b.template,
            variables=b.variables.model_dump(exclude_none=True),
            segment=segment,
            monthly_day=b.monthly_day,
        )

    await transaction(rt.pool, work)
    return json_response(await _answer(rt.pool, campaign_id))


@routes.route(
    "GET",
    "/v1/campaigns/{campaign_id}",
    summary="A campaign, its segment's size now and its messages by status",
    returns=Campaign,
    tag=TAG,
)
async def get_campaign(request: web.Request) -> web.Response:
    rt = back_office(request)
    return json_response(await _answer(rt.pool, uuid_param(request, "campaign_id")))


@routes.route(
    "POST",
    "/v1/campaigns/{campaign_id}/send",
    summary="Send a one-off campaign (once): 202 while crm's campaign job sends it, in batches; "
    "200 when it was sent already (nothing more is sent). GET the campaign for its progress",
    returns=CampaignSending,
    status=202,
    also=(200,),
    tag=TAG,
)
async def send_campaign(request: web.Request) -> web.Response:
    rt = back_office(request)
    campaign_id = uuid_param(request, "campaign_id")
    state, finished = await campaigns.ask(rt.pool, campaign_id)
    if not finished:
        jobs.campaign_asked(rt)
    answer = CampaignSending(campaign_id=campaign_id, **asdict(state))
    return json_response(answer, 200 if finished else 202)


@routes.route(
    "POST",
    "/v1/campaigns/{campaign_id}/days/{day}",
    summary="Send a monthly newsletter's day now (catching up by hand; once a day)",
    returns=Sent,
    tag=TAG,
)
async def send_newsletter_day(request: web.Request) -> web.Response:
    rt = back_office(request)
    day = day_param(request)
    sent = await campaigns.send_newsletter(
        rt.pool, Links.of(rt.settings), uuid_param(request, "campaign_id"), day
    )
    return json_response(Sent(sent=sent))
