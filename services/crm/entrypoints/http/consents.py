"""Consent through the back office (F21): ask (and ask again: "renvoyer la validation"),
confirm by the SMS code, withdraw, read with its proof."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field

from services.crm.entrypoints.http import scope
from services.crm.entrypoints.http.models import Strict
from services.crm.service import consents
from services.crm.service.common import Links
from shared import outbox
from shared.db import transaction
from shared.db.query import as_model, as_models
from shared.http import Problem, json_response, parse_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "consents"


class ConsentIn(Strict):
    channel: Literal["email", "sms", "post"]
    merchant_id: UUID | None = Field(default=None, description="None: the whole network")
    how: Literal["till", "back_office", "details_form", "paper"] = "back_office"


class CodeIn(Strict):
    code: str = Field(pattern=r"^[0-9]{6}$")


class Consent(BaseModel):
    id: UUID
    account_id: UUID
    channel: str
    merchant_id: UUID | None
    status: str
    address: str | None
    wording: str
    requested_at: datetime
    confirmed_at: datetime | None
    withdrawn_at: datetime | None


class Proof(BaseModel):
    consent_id: UUID
    at: datetime
    action: str
    how: str
    wording: str
    detail: str | None


class Consents(BaseModel):
    consents: list[Consent]
    proofs: list[Proof]


@routes.route(
    "POST",
    "/v1/customers/{account_id}/consents",
    summary="Ask a consent (again): an e-mail link or an SMS code to confirm it",
    body=ConsentIn,
    returns=Consent,
    status=201,
    tag=TAG,
)
async def ask(request: web.Request) -> web.Response:
    rt = back_office(request)
    body = parse_model(await request.read(), ConsentIn, strict=True)
    _, account_id = await scope.customer(request, rt, body.merchant_id)
    links = Links.of(rt.settings)

    async def work(conn: asyncpg.Connection) -> Any:
        consent_id, events = await consents.ask_for(
            conn, links, account_id, body.channel, body.merchant_id, body.how
        )
        await outbox.write(conn, events)
        return await consents.one(conn, consent_id)

    return json_response(as_model(Consent, await transaction(rt.pool, work)), 201)


@routes.route(
    "GET",
    "/v1/customers/{account_id}/consents",
    summary="A customer's consents, with their proof (when, how, which wording)",
    returns=Consents,
    tag=TAG,
)
async def list_consents(request: web.Request) -> web.Response:
    rt = back_office(request)
    _, account_id = await scope.customer(request, rt)
    found, proofs = await consents.of_customer(rt.pool, account_id)
    return json_response(
        Consents(consents=as_models(Consent, found), proofs=as_models(Proof, proofs))
    )


@routes.route(
    "POST",
    "/v1/customers/{account_id}/consents/{consent_id}/code",
    summary="Confirm an SMS consent with the code the customer received",
    body=CodeIn,
    returns=Consent,
    tag=TAG,
)
async def confirm_code(request: web.Request) -> web.Response:
    rt = back_office(request)
    body = parse_model(await request.read(), CodeIn, strict=True)
    _, account_id = await scope.customer(request, rt)
    consent_id = uuid_param(request, "consent_id")

    async def work(conn: asyncpg.Connection) -> Any:
        return await consents.confirm_by_code(conn, account_id, consent_id, body.code)

    row, refused = await transaction(rt.pool, work)
    if refused is not None:
        raise Problem(422, "Code refused", refused.replace("_", " "), reason=refused)
    return json_response(as_model(Consent, row))


@routes.route(
    "DELETE",
    "/v1/customers/{account_id}/consents/{consent_id}",
    summary="Withdraw a consent",
    returns=Consent,
    tag=TAG,
)
async def withdraw(request: web.Request) -> web.Response:
    rt = back_office(request)
    _, account_id = await scope.customer(request, rt)
    consent_id = uuid_param(request, "consent_id")

    async def work(conn: asyncpg.Connection) -> Any:
        row = await consents.one(conn, consent_id)
        if row["account_id"] != account_id:
            raise Problem(
                404, "Unknown consent", f"no consent {consent_id}", reason="unknown_consent"
            )
        await consents.withdraw(conn, [consent_id], "api")
        return await consents.one(conn, consent_id)

    return json_response(as_model(Consent, await transaction(rt.pool, work)))
