"""Back-office routes of issuance (F3): a card on its own, print batches and their CSV, and a
card's details."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel

from services.cards.adapters import scopes
from services.cards.domain.cards import MAX_BATCH
from services.cards.entrypoints.http import scoped
from services.cards.entrypoints.http.common import card_param
from services.cards.service import issuance, lifecycle
from services.cards.service.views import Batch, Card
from shared.access import Need
from shared.access_http import authorise
from shared.fields import Name, PhoneNumber
from shared.http import (
    In,
    Problem,
    json_response,
    parse_model,
    read_query,
    stream_csv,
    uuid_param,
)
from shared.openapi import Routes
from shared.rules.codes import format_card_number
from shared.service import back_office

routes = Routes()
TAG = "cards"


class IssueIn(In):
    issue_id: UUID = Field(
        description="chosen by the client: a retry with the same id answers the same card"
    )
    card_type_id: UUID | None = Field(default=None, description="default: the association's")
    account_id: UUID | None = Field(default=None, description="link the card to this account")
    phone: PhoneNumber | None = Field(
        default=None, description="link the card to this phone's account (opened if none)"
    )
    first_name: Name | None = None
    last_name: Name | None = None
    issued_by_merchant: UUID | None = None


class BatchIn(In):
    batch_id: UUID = Field(description="chosen by the client: a retry answers the same batch")
    card_type_id: UUID | None = Field(default=None, description="default: the association's")
    size: int = Field(ge=1, le=MAX_BATCH)


@routes.route(
    "POST",
    "/v1/associations/{association_id}/cards",
    summary="Issue a card, to an existing account or a new one",
    body=IssueIn,
    returns=Card,
    status=201,
    also=(200,),
    tag=TAG,
)
async def issue_card(request: web.Request) -> web.Response:
    """The number is the association's issuer prefix, its next serial and a Luhn check digit.
    With `account_id` or `phone` the card joins that account (a cardless account gets a card;
    an unknown phone opens an account); with neither, a new account is opened. A retry with
    the same `issue_id` answers the same card (200)."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, aid)
    body = parse_model(await request.read(), IssueIn)
    if body.account_id is not None and body.phone is not None:
        raise Problem(422, "One account", "give account_id or phone, not both")
    card, created = await issuance.issue(rt.pool, aid, issuance.Issue(**body.model_dump()))
    return json_response(card, 201 if created else 200)


@routes.route(
    "POST",
    "/v1/associations/{association_id}/card-batches",
    summary="Issue a batch of cards for the card printer, each on a new anonymous account",
    body=BatchIn,
    returns=Batch,
    status=201,
    also=(200,),
    tag=TAG,
)
async def create_batch(request: web.Request) -> web.Response:
    """`size` consecutive numbers; a retry with the same `batch_id` answers the same batch (200).
    GET the batch's `csv` path to print it."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, aid)
    body = parse_model(await request.read(), BatchIn)
    batch, created = await issuance.create_batch(
        rt.pool, aid, body.batch_id, body.card_type_id, body.size
    )
    return json_response(batch, 201 if created else 200)


class BatchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    before: datetime | None = Field(
        default=None, description="the batches made before this time (the next page)"
    )
    limit: int = Field(default=50, ge=1, le=200)


class Batches(RootModel[list[Batch]]):
    pass


@routes.route(
    "GET",
    "/v1/associations/{association_id}/card-batches",
    summary="The association's print batches of cards, newest first, each with its CSV's path",
    query=BatchQuery,
    returns=Batches,
    tag=TAG,
)
async def list_batches(request: web.Request) -> web.Response:
    """Every batch made for the card printer (a card issued on its own is a batch of one,
    listed too), newest first: `limit` of them, made before `before` for the next page. Its
    `csv` path downloads its file again, as often as needed."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, aid)
    q = read_query(request, BatchQuery)
    return json_response(Batches(await issuance.batches_of(rt.pool, aid, q.before, q.limit)))


CSV_HEADER = (
    "number",
    "raw_number",
    "card_type",
    "association",
    "expires_on",
    "first_name",
    "last_name",
)


@routes.route(
    "GET",
    "/v1/card-batches/{batch_id}.csv",
    summary="A batch's cards as CSV for the card printer",
    content_type="text/csv",
    tag=TAG,
)
async def batch_csv(request: web.Request) -> web.StreamResponse:
    """Header line, then one line per card in number order: number in groups of four, raw
    number, card type name, association name, expiry date (empty: none), first and last
    name. Every card issued on its own is a batch of one (its issue_id), printable too."""
    rt = back_office(request)
    batch_id = uuid_param(request, "batch_id")
    authorise(request, Need.ASSOCIATION, await scopes.card_batch(rt.pool, batch_id))
    async with (
        rt.pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        lines = await issuance.printer_lines(conn, batch_id)
        return await stream_csv(
            request,
            f"cards-{batch_id}.csv",
            CSV_HEADER,
            (
                (
                    format_card_number(r["number"]),
                    r["number"],
                    r["card_type"],
                    r["association"],
                    r["expires_on"].isoformat() if r["expires_on"] else "",
                    r["first_name"] or "",
                    r["last_name"] or "",
                )
                async for r in lines
            ),
        )


@routes.route(
    "GET",
    "/v1/cards/{number}",
    summary="A card: status, dormancy, account, type and dates",
    returns=Card,
    tag=TAG,
)
async def get_card(request: web.Request) -> web.Response:
    rt = back_office(request)
    number = card_param(request)
    await scoped.card(request, rt.pool, Need.HOLDER, number)
    return json_response(await lifecycle.get(rt.pool, number))
