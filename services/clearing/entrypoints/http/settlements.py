"""The settlement of a closed period: its totals, the parties held, and its SEPA files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field

from services.clearing.adapters import books
from services.clearing.domain.periods import period_label
from services.clearing.entrypoints.http.common import SETTLEMENT, period
from shared.access import Need
from shared.access_http import authorise
from shared.http import Problem, json_response, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


class HeldOut(BaseModel):
    party_kind: str
    party_id: UUID
    amount_cents: int
    reason: str


class SettlementOut(BaseModel):
    settlement_id: UUID
    association_id: UUID
    period: str
    status: Literal["ready", "no_bank_details", "nothing_due"]
    collections_count: int
    collections_cents: int
    transfers_count: int
    transfers_cents: int
    held: list[HeldOut]
    direct_debit_path: str | None = Field(description="the pain.008 file, if any")
    credit_transfer_path: str | None = Field(description="the pain.001 file, if any")


def settlement_out(row: Mapping[str, Any]) -> dict[str, Any]:
    label = period_label(row["period"])
    base = f"/v1/associations/{row['association_id']}/settlements/{label}"
    return {
        "settlement_id": str(row["id"]),
        "association_id": str(row["association_id"]),
        "period": label,
        "status": row["status"],
        "collections_count": row["collections_count"],
        "collections_cents": row["collections_cents"],
        "transfers_count": row["transfers_count"],
        "transfers_cents": row["transfers_cents"],
        "held": row["held"],
        "direct_debit_path": f"{base}/direct-debit.xml" if row["direct_debit"] else None,
        "credit_transfer_path": f"{base}/credit-transfer.xml" if row["credit_transfer"] else None,
    }


async def _settlement(request: web.Request) -> asyncpg.Record:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.ASSOCIATION, aid)
    p = period(request)
    row = await books.settlement(rt.pool, aid, p)
    if row is None:
        raise Problem(
            404,
            "No settlement",
            f"period {period_label(p)} of association {aid} is not closed",
        )
    return row


def _xml(row: asyncpg.Record, column: str, name: str) -> web.Response:
    if row[column] is None:
        raise Problem(404, "No such file", f"the settlement has no {name}: nothing of that kind")
    filename = f"{name}-{period_label(row['period'])}.xml"
    return web.Response(
        body=bytes(row[column]),
        content_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@routes.route(
    "GET",
    SETTLEMENT,
    summary="The settlement of a closed period: totals, files, parties held",
    returns=SettlementOut,
    tag="settlements",
)
async def settlement(request: web.Request) -> web.Response:
    return json_response(settlement_out(await _settlement(request)))


@routes.route(
    "GET",
    SETTLEMENT + "/direct-debit.xml",
    summary="SEPA direct debits (pain.008.001.08) of the merchants who owe",
    content_type="application/xml",
    tag="settlements",
)
async def direct_debit(request: web.Request) -> web.Response:
    return _xml(await _settlement(request), "direct_debit", "pain008")


@routes.route(
    "GET",
    SETTLEMENT + "/credit-transfer.xml",
    summary="SEPA credit transfers (pain.001.001.09) to the parties owed",
    content_type="application/xml",
    tag="settlements",
)
async def credit_transfer(request: web.Request) -> web.Response:
    return _xml(await _settlement(request), "credit_transfer", "pain001")
