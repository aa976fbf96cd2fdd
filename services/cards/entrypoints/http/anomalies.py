"""Back-office route of the anomalies the offline card checks found (services/cards/offline.py):
cloned cards, broken balance chains, gaps in transaction counters, rewards that do not match the
rules, bad certificates, unknown cards."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel, Field

from services.cards.adapters import reports
from services.cards.domain.card_checks import AnomalyKind
from shared.access import Need
from shared.access_http import authorise
from shared.db.query import as_models
from shared.http import json_response, read_query
from shared.openapi import Routes
from shared.service import back_office

MAX_ID = 2**63 - 1
routes = Routes()


class AnomalyQuery(BaseModel):
    association_id: UUID | None = Field(
        default=None,
        description="the anomalies at this association's shops (its administrator may ask); "
        "absent: every association's, the operator's",
    )
    card_number: str | None = Field(default=None, pattern=r"^[0-9]{16}$")
    kind: AnomalyKind | None = None
    before: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="only anomalies with a smaller id (paging)"
    )
    limit: int = Field(default=100, ge=1, le=1000)


class CardAnomaly(BaseModel):
    id: int
    kind: AnomalyKind
    card_number: str
    atc: int = Field(description="the card's transaction counter of the transaction")
    terminal_id: UUID
    seq: int = Field(description="the terminal's journal sequence of the transaction")
    transaction_id: UUID
    chunk_id: UUID
    merchant_id: UUID
    booked: bool = Field(description="the transaction was booked all the same")
    detail: str
    detected_at: datetime


class AnomalyPage(BaseModel):
    anomalies: list[CardAnomaly] = Field(description="newest first")
    next: int | None = Field(description="more follow: ask again with before=next")


@routes.route(
    "GET",
    "/v1/card-anomalies",
    summary="Anomalies found in the transactions chip cards made offline",
    query=AnomalyQuery,
    returns=AnomalyPage,
    tag="cards",
)
async def list_anomalies(request: web.Request) -> web.Response:
    """Newest first, filtered by card number and kind. A `clone` blacklisted the card; a
    `bad_certificate`, `unknown_key_version` or `unknown_card` transaction was not booked; the
    others were."""
    rt = back_office(request)
    q = read_query(request, AnomalyQuery)
    if q.association_id is None:
        authorise(request, Need.OPERATOR)  # every association's shops
    else:
        authorise(request, Need.ASSOCIATION, q.association_id)
    rows = await reports.anomalies(
        rt.pool, q.card_number, q.kind, q.before, q.limit, q.association_id
    )
    anomalies = as_models(CardAnomaly, rows)
    more = len(anomalies) == q.limit
    return json_response(AnomalyPage(anomalies=anomalies, next=anomalies[-1].id if more else None))
