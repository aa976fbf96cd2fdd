"""Segments (issue 14, item 4): named filters over an association's customers or a merchant's
file, saved for campaigns and exports; a segment's size (and how many would receive on a
channel) before sending, of a saved segment or of filters not saved yet; its customers as CSV
or XLSX, as the scope may see them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from services.crm.adapters import scopes
from services.crm.domain.segments import Filters, Segment
from services.crm.entrypoints.http import exports, scope
from services.crm.entrypoints.http.models import Strict
from services.crm.service import segments
from shared import merchants
from shared.db import transaction
from shared.db.query import as_model, as_models
from shared.fields import ProductFamilyCode, Text, coded_error
from shared.http import json_response, parse_model, read_query, uuid_param
from shared.openapi import Routes
from shared.rules.levels import CODE_PATTERN
from shared.service import back_office

routes = Routes()
TAG = "segments"
BASE = "/v1/associations/{association_id}/segments"
ONE = BASE + "/{segment_id}"
Channel = Literal["email", "sms", "post"]


def _within(low: int, high: int) -> Callable[[int], int]:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise coded_error("invalid_filter", f"from {low} to {high}")
        return value

    return check


def _bounds(low: int, high: int) -> Any:
    return Field(json_schema_extra={"minimum": low, "maximum": high})


# Out of bounds, a filter is ``invalid_filter`` (a problem's reason), as the filters that
# contradict each other are (service/segments.py's ``check``).
Cents = Annotated[int, AfterValidator(_within(0, 10**12)), _bounds(0, 10**12)]
Visits = Annotated[int, AfterValidator(_within(0, 10**9)), _bounds(0, 10**9)]
Month = Annotated[int, AfterValidator(_within(1, 12)), _bounds(1, 12)]
LevelCode = Annotated[str, Field(pattern=CODE_PATTERN)]


class FiltersIn(Strict):
    """Every filter given must hold; at a merchant, the last visit, the spend, the visits and
    the families bought are the customer's at that merchant."""

    seen_since: AwareDatetime | None = Field(default=None, description="last visit on or after")
    not_seen_since: AwareDatetime | None = Field(
        default=None, description="no visit since (or never)"
    )
    min_spent_cents: Cents | None = Field(default=None, description="spent at least")
    max_spent_cents: Cents | None = Field(default=None, description="spent at most")
    min_visits: Visits | None = Field(default=None, description="at least this many visits")
    max_visits: Visits | None = Field(default=None, description="at most this many visits")
    product_families: list[ProductFamilyCode] = Field(
        default_factory=list, max_length=50, description="bought one of these (any: empty)"
    )
    birth_months: list[Month] = Field(
        default_factory=list, max_length=12, description="born in one of these months (1-12)"
    )
    consent_channel: Channel | None = Field(
        default=None, description="consented to this channel in the segment's scope"
    )
    level_codes: list[LevelCode] = Field(
        default_factory=list, max_length=20, description="holds one of these status levels now"
    )

    def filters(self) -> Filters:
        return Filters(
            self.seen_since,
            self.not_seen_since,
            self.min_spent_cents,
            self.max_spent_cents,
            self.min_visits,
            self.max_visits,
            tuple(self.product_families),
            tuple(self.birth_months),
            self.consent_channel,
            tuple(self.level_codes),
        )


class SegmentIn(FiltersIn):
    """Filters not saved, to see their size: a network's customers (no merchant) or a
    merchant's file; ``channel``: count apart those who consented to it (who would receive)."""

    merchant_id: UUID | None = None
    channel: Channel | None = None

    def of(self, association_id: UUID) -> Segment:
        return Segment(association_id, self.merchant_id, segments.check(self.filters()))


class SavedSegmentIn(Strict):
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    merchant_id: UUID | None = Field(default=None, description="None: the network's customers")
    filters: FiltersIn = Field(default_factory=FiltersIn)


class SavedSegment(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID | None
    name: str
    filters: dict[str, Any] = Field(description="the filters given (those left out: none)")
    created_at: datetime
    updated_at: datetime


class SavedSegments(BaseModel):
    segments: list[SavedSegment]


class SegmentSize(BaseModel):
    size: int = Field(description="customers in the segment")
    consenting: int | None = Field(
        description="of whom consented to the channel asked: who would receive (null: none asked)"
    )


class SizeQuery(BaseModel):
    channel: Channel | None = Field(default=None, description="count those who consented to it")


class ListQuery(BaseModel):
    merchant_id: UUID | None = Field(default=None, description="only this merchant's segments")


def _aid(request: web.Request) -> UUID:
    return uuid_param(request, "association_id")


async def _saved(request: web.Request, conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, Any]:
    """The path's segment (404 ``unknown_segment``), once its scope is authorised: the
    association's (ASSOCIATION) or a merchant's file (MANAGER)."""
    found = await segments.get(conn, _aid(request), uuid_param(request, "segment_id"))
    scope.of(request, found["association_id"], found["merchant_id"])
    return found


@routes.route(
    "POST",
    BASE + "/size",
    summary="The size of filters not saved (and how many would receive), before sending",
    body=SegmentIn,
    returns=SegmentSize,
    tag=TAG,
)
async def preview_size(request: web.Request) -> web.Response:
    """422 `merchant_not_in_association` for a merchant of another association."""
    rt = back_office(request)
    b = parse_model(await request.read(), SegmentIn, strict=True)
    scope.of(request, _aid(request), b.merchant_id)
    await merchants.check_in_association(rt.settings, _aid(request), b.merchant_id)
    total, consenting = await segments.size(rt.pool, b.of(_aid(request)), b.channel)
    return json_response(SegmentSize(size=total, consenting=consenting))


@routes.route(
    "PUT",
    ONE,
    summary="Save a segment under a name (made, or changed: sent campaigns keep theirs)",
    body=SavedSegmentIn,
    returns=SavedSegment,
    tag=TAG,
)
async def put_segment(request: web.Request) -> web.Response:
    """A merchant's segment names one of the association's merchants (asked of cards): 422
    `merchant_not_in_association` otherwise."""
    rt = back_office(request)
    b = parse_model(await request.read(), SavedSegmentIn, strict=True)
    aid, sid = _aid(request), uuid_param(request, "segment_id")
    was = await scopes.segment(rt.pool, sid)
    if was is not None:  # no moving another's segment, nor into another association
        scope.of(request, *was)
    scope.of(request, aid, b.merchant_id)
    await merchants.check_in_association(rt.settings, aid, b.merchant_id)

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        return await segments.save(conn, aid, sid, b.merchant_id, b.name, b.filters.filters())

    return json_response(as_model(SavedSegment, await transaction(rt.pool, work)))


@routes.route("GET", ONE, summary="A saved segment", returns=SavedSegment, tag=TAG)
async def get_segment(request: web.Request) -> web.Response:
    rt = back_office(request)
    return json_response(as_model(SavedSegment, await _saved(request, rt.pool)))


@routes.route(
    "GET",
    BASE,
    summary="The association's saved segments (or one merchant's), by name",
    query=ListQuery,
    returns=SavedSegments,
    tag=TAG,
)
async def list_segments(request: web.Request) -> web.Response:
    rt = back_office(request)
    q = read_query(request, ListQuery)
    scope.of(request, _aid(request), q.merchant_id)
    await merchants.check_in_association(rt.settings, _aid(request), q.merchant_id)
    found = await segments.listed(rt.pool, _aid(request), q.merchant_id)
    return json_response(SavedSegments(segments=as_models(SavedSegment, found)))


@routes.route(
    "DELETE",
    ONE,
    summary="Delete a saved segment (409 while a campaign not sent yet goes to it)",
    returns=SavedSegment,
    tag=TAG,
)
async def delete_segment(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid, sid = _aid(request), uuid_param(request, "segment_id")

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        found = await _saved(request, conn)
        await segments.delete(conn, aid, sid)
        return found

    return json_response(as_model(SavedSegment, await transaction(rt.pool, work)))


@routes.route(
    "GET",
    ONE + "/size",
    summary="A saved segment's size now (and how many would receive on a channel)",
    query=SizeQuery,
    returns=SegmentSize,
    tag=TAG,
)
async def segment_size(request: web.Request) -> web.Response:
    rt = back_office(request)
    q = read_query(request, SizeQuery)
    saved = await _saved(request, rt.pool)
    total, consenting = await segments.size(rt.pool, segments.of(saved), q.channel)
    return json_response(SegmentSize(size=total, consenting=consenting))


class ExportQuery(BaseModel):
    channel: Channel | None = Field(
        default=None,
        description="a marketing export for this channel: only the customers who consented "
        "to it, with only its contact details",
    )


async def _export(request: web.Request, kind: Literal["csv", "xlsx"]) -> web.StreamResponse:
    rt = back_office(request)
    q = read_query(request, ExportQuery)
    sid = uuid_param(request, "segment_id")
    async with rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        segment = segments.of(await _saved(request, conn))
        lines: AsyncIterator[list[dict[str, Any]]] = segments.export(conn, segment, q.channel)
        return await exports.send(request, kind, f"segment-{sid}", lines)


@routes.route(
    "GET",
    ONE + "/customers.csv",
    summary="A saved segment's customers as CSV (French Excel), as the scope may see them",
    query=ExportQuery,
    content_type="text/csv",
    tag=TAG,
)
async def export_csv(request: web.Request) -> web.StreamResponse:
    return await _export(request, "csv")


@routes.route(
    "GET",
    ONE + "/customers.xlsx",
    summary="A saved segment's customers as an Excel workbook, as the scope may see them",
    query=ExportQuery,
    content_type=exports.XLSX,
    tag=TAG,
)
async def export_xlsx(request: web.Request) -> web.StreamResponse:
    return await _export(request, "xlsx")
