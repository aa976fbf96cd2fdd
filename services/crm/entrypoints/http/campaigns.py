"""Campaigns (F24): one-off e-mails and SMS (quick news from the back office) and the monthly
newsletter, to filters given inline or to a saved segment (entrypoints/http/segments.py, where
a segment's size before sending is asked for); what became of a campaign's messages."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from services.crm.adapters import scopes
from services.crm.domain.segments import Segment
from services.crm.entrypoints import jobs
from services.crm.entrypoints.http import scope
from services.crm.entrypoints.http.models import Strict, day_param
from services.crm.entrypoints.http.segments import FiltersIn
from services.crm.service import campaigns
from services.crm.service.common import Links
from shared import merchants
from shared.db import transaction
from shared.fields import Text, coded_error
from shared.http import Problem, json_response, parse_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "campaigns"


class InlineSegment(FiltersIn):
    """Filters given in the campaign (not saved): a network's customers (no merchant) or a
    merchant's file; only those who consented to the channel for that scope receive."""

    merchant_id: UUID | None = None
    channel: Literal["email", "sms"]

    def of(self, association_id: UUID) -> Segment:
        return Segment(association_id, self.merchant_id, self.filters())


class Variables(Strict):
    shop_name: Text | None = Field(default=None, max_length=100)
    body: Text | None = Field(default=None, max_length=2000)
    offer: Text | None = Field(default=None, max_length=200)


class CampaignIn(Strict):
    association_id: UUID
    template: Literal["newsletter", "quick_news"]
    variables: Variables = Field(default_factory=Variables)
    segment: InlineSegment | None = Field(default=None, description="filters given here")
    segment_id: UUID | None = Field(
        default=None,
        description="or a saved segment of the association (followed until the campaign is "
        "sent, then recorded as it was)",
    )
    channel: Literal["email", "sms"] | None = Field(
        default=None, description="with segment_id: the channel (inline: the segment's)"
    )
    monthly_day: int | None = Field(
        default=None, ge=1, le=28, description="a monthly newsletter's day; None: one-off"
    )
    send_at: AwareDatetime | None = Field(
        default=None,
        description="a one-off campaign scheduled: the instant crm's campaign job sends it "
        "(to come, within 366 days: 422 send_at_past, send_at_too_far); None: a draft, sent "
        "by /send",
    )

    @model_validator(mode="after")
    def one_segment(self) -> CampaignIn:
        if (self.segment is None) == (self.segment_id is None):
            raise coded_error("one_segment", "give either segment (inline) or segment_id")
        if self.segment_id is not None and self.channel is None:
            raise coded_error("one_segment", "a campaign to a saved segment needs its channel")
        if self.segment is not None and self.channel not in (None, self.segment.channel):
            raise coded_error("one_segment", "the channel is the inline segment's")
        if self.send_at is not None and self.monthly_day is not None:
            raise coded_error("send_at_monthly", "a monthly newsletter goes on its day")
        return self


class SendAtIn(Strict):
    send_at: AwareDatetime | None = Field(
        description="the instant to send it (to come, within 366 days); null: back to a draft"
    )


class Sending(BaseModel):
    """A one-off campaign's sending, done by crm's campaign job after the request."""

    status: Literal["draft", "scheduled", "cancelled", "sending", "sent"] = Field(
        description="draft: not asked; scheduled: to be sent at its send_at; cancelled: never "
        "sent; sending: asked, under way; sent: every message asked for"
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
    segment: dict[str, Any] = Field(description="the filters it goes to (sent: as recorded)")
    segment_id: UUID | None = Field(description="the saved segment it was made for")
    segment_frozen_at: datetime | None = Field(
        description="when its filters were recorded (its sending asked for)"
    )
    monthly_day: int | None
    send_at: datetime | None = Field(description="a scheduled campaign's instant")
    cancelled_at: datetime | None = Field(description="when it was cancelled (never sent)")
    created_at: datetime
    updated_at: datetime
    size: int
    consenting: int
    messages: dict[str, int] = Field(description="the campaign's messages by status")
    sending: Sending | None = Field(description="a one-off campaign's sending (null: monthly)")


class Sent(BaseModel):
    sent: int | None = Field(description="messages asked for; null: sent already")


def _sending(state: campaigns.Sending | None) -> Sending | None:
    return None if state is None else Sending(**asdict(state))


async def _authorised(request: web.Request, pool: asyncpg.Pool) -> UUID:
    """The path's campaign (404 ``unknown_campaign``), once its scope is authorised: the
    association's (ASSOCIATION) or a merchant's (MANAGER)."""
    campaign_id = uuid_param(request, "campaign_id")
    found = await scopes.campaign(pool, campaign_id)
    if found is None:
        raise Problem(
            404, "Unknown campaign", f"no campaign {campaign_id}", reason="unknown_campaign"
        )
    scope.of(request, *found)
    return campaign_id


async def _merchant_of(pool: asyncpg.Pool, b: CampaignIn) -> UUID | None:
    """Whose customers the campaign goes to: the inline segment's merchant, or the saved
    segment's (one of another association is the save's 404)."""
    if b.segment is not None:
        return b.segment.merchant_id
    assert b.segment_id is not None
    saved = await scopes.segment(pool, b.segment_id)
    return saved[1] if saved is not None and saved[0] == b.association_id else None


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
    was = await scopes.campaign(rt.pool, campaign_id)
    if was is not None:  # no taking over another's campaign, nor moving it
        scope.of(request, *was)
    scope.of(request, b.association_id, await _merchant_of(rt.pool, b))
    if b.segment is not None:  # a saved segment's merchant was checked when it was saved
        await merchants.check_in_association(rt.settings, b.association_id, b.segment.merchant_id)
    segment = b.segment.of(b.association_id) if b.segment else b.segment_id
    assert segment is not None

    async def work(conn: asyncpg.Connection) -> None:
        await campaigns.save(
            conn,
            campaign_id,
            segment=segment,
            association_id=b.association_id,
            channel=b.segment.channel if b.segment else b.channel,
            template=b.template,
            variables=b.variables.model_dump(exclude_none=True),
            monthly_day=b.monthly_day,
            send_at=b.send_at,
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
    return json_response(await _answer(rt.pool, await _authorised(request, rt.pool)))


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
    campaign_id = await _authorised(request, rt.pool)
    state, finished = await campaigns.ask(rt.pool, campaign_id)
    if not finished:
        jobs.campaign_asked(rt)
    answer = CampaignSending(campaign_id=campaign_id, **asdict(state))
    return json_response(answer, 200 if finished else 202)


@routes.route(
    "PUT",
    "/v1/campaigns/{campaign_id}/send-at",
    summary="Schedule or re-time a one-off campaign not yet sent (null: back to a draft); "
    "crm's campaign job sends it once that instant has passed",
    body=SendAtIn,
    returns=Campaign,
    tag=TAG,
)
async def put_send_at(request: web.Request) -> web.Response:
    rt = back_office(request)
    campaign_id = await _authorised(request, rt.pool)
    b = parse_model(await request.read(), SendAtIn, strict=True)
    await campaigns.retime(rt.pool, campaign_id, b.send_at)
    return json_response(await _answer(rt.pool, campaign_id))


@routes.route(
    "POST",
    "/v1/campaigns/{campaign_id}/cancel",
    summary="Cancel a one-off campaign not yet sent (scheduled or a draft): it is never sent; "
    "cancelled again, nothing more. 409 campaign_sent once its sending was asked for",
    returns=Campaign,
    tag=TAG,
)
async def cancel_campaign(request: web.Request) -> web.Response:
    rt = back_office(request)
    campaign_id = await _authorised(request, rt.pool)
    await campaigns.cancel(rt.pool, campaign_id)
    return json_response(await _answer(rt.pool, campaign_id))


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
    campaign_id = await _authorised(request, rt.pool)
    sent = await campaigns.send_newsletter(rt.pool, Links.of(rt.settings), campaign_id, day)
    return json_response(Sent(sent=sent))
