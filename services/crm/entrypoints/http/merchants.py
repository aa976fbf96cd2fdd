"""The merchants' files within the network (F20): a member added from another shop's file
with their consent, a member as the merchant sees them, the file page by page."""

from __future__ import annotations

import dataclasses

import asyncpg
from aiohttp import web

from services.crm.adapters import scopes
from services.crm.entrypoints.http import scope, views
from services.crm.entrypoints.http.models import (
    FormDetails,
    Member,
    MemberFile,
    MemberIn,
    Members,
    MembersQuery,
)
from services.crm.service import customers
from services.crm.service.common import Links
from shared import merchants, outbox
from shared.access import Need
from shared.db import transaction
from shared.db.query import as_model
from shared.http import json_response, parse_model, read_query, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "merchants"


@routes.route(
    "POST",
    "/v1/merchants/{merchant_id}/customers",
    summary="Add a member of another shop's file to this merchant's, with their consent",
    body=MemberIn,
    returns=Member,
    status=201,
    tag=TAG,
)
async def add_member(request: web.Request) -> web.Response:
    """The front desk's (STAFF); the customer is one of the merchant's network's: 422
    `merchant_not_in_association` otherwise."""
    rt = back_office(request)
    merchant_id = uuid_param(request, "merchant_id")
    body = parse_model(await request.read(), MemberIn, strict=True)
    await scope.merchant(request, rt, Need.STAFF, merchant_id)
    association_id = await scopes.customer_association(rt.pool, body.account_id)
    await merchants.check_in_association(rt.settings, association_id, merchant_id)
    links = Links.of(rt.settings)

    async def work(conn: asyncpg.Connection) -> int:
        events = await customers.add_member(
            conn, links, merchant_id, body.account_id, list(body.channels)
        )
        await outbox.write(conn, events)
        return len(events)

    sent = await transaction(rt.pool, work)
    return json_response(await views.member(rt.pool, merchant_id, body.account_id, sent), 201)


@routes.route(
    "GET",
    "/v1/merchants/{merchant_id}/customers/{account_id}",
    summary="A member as the merchant sees them (an imported member: consented channels only)",
    returns=MemberFile,
    tag=TAG,
)
async def get_member(request: web.Request) -> web.Response:
    rt = back_office(request)
    merchant_id, account_id = uuid_param(request, "merchant_id"), uuid_param(request, "account_id")
    await scope.merchant(request, rt, Need.STAFF, merchant_id)
    row, details, to_fill = await customers.as_merchant_sees(rt.pool, merchant_id, account_id)
    seen = dataclasses.asdict(details) | {
        "children_birthdays": list(details.children_birthdays),
        "to_fill": to_fill,
    }
    return json_response(
        as_model(
            MemberFile,
            {**dict(row), "messages_requested": 0, "details": as_model(FormDetails, seen)},
        )
    )


@routes.route(
    "GET",
    "/v1/merchants/{merchant_id}/customers",
    summary="The merchant's file, page by page (accounts in order)",
    query=MembersQuery,
    returns=Members,
    tag=TAG,
)
async def list_members(request: web.Request) -> web.Response:
    rt = back_office(request)
    q = read_query(request, MembersQuery)
    merchant_id = uuid_param(request, "merchant_id")
    await scope.merchant(request, rt, Need.MANAGER, merchant_id)
    found = await customers.members(rt.pool, merchant_id, q.limit, q.after)
    last = found[-1] if len(found) == q.limit else None
    return json_response(Members(accounts=found, next_after=last))
