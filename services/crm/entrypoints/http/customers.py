"""The customer file through the back office (F20): read, correct, send the details link,
and the merchants' files."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from services.crm.entrypoints.http import scope, views
from services.crm.entrypoints.http.models import (
    CustomerFile,
    DetailsLinkIn,
    DetailsPatch,
    NamedCustomer,
    NamedCustomers,
    NameQuery,
    NamesIn,
    Requested,
    changes,
)
from services.crm.service import customers
from services.crm.service.common import Links
from shared import outbox
from shared.access import Need
from shared.access_http import authorise
from shared.db import transaction
from shared.db.query import as_models
from shared.http import Problem, json_response, parse_model, read_query, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "customers"


@routes.route(
    "GET",
    "/v1/customers/{account_id}",
    summary='A customer\'s file, its fields "à remplir", one file per merchant',
    returns=CustomerFile,
    tag=TAG,
)
async def get_customer(request: web.Request) -> web.Response:
    rt = back_office(request)
    _, account_id = await scope.customer(request, rt)
    return json_response(await views.customer_file(rt.pool, account_id))


@routes.route(
    "PATCH",
    "/v1/customers/{account_id}",
    summary="Correct or complete a customer's file (null clears a field)",
    body=DetailsPatch,
    returns=CustomerFile,
    tag=TAG,
)
async def patch_customer(request: web.Request) -> web.Response:
    rt = back_office(request)
    body = parse_model(await request.read(), DetailsPatch, strict=True)
    p, account_id = await scope.customer(request, rt)
    if p.role == "cardholder" and "notes" in body.model_fields_set:
        # the merchants' notes about the customer are theirs: the customer reads, never writes
        raise Problem(
            403, "Forbidden", "a cardholder does not write the shops' notes", reason="out_of_scope"
        )

    async def work(conn: asyncpg.Connection) -> None:
        _, events = await customers.correct(conn, account_id, changes(body))
        await outbox.write(conn, events)

    await transaction(rt.pool, work)
    return json_response(await views.customer_file(rt.pool, account_id))


@routes.route(
    "POST",
    "/v1/customers/{account_id}/details-link",
    summary="Send the customer the link to complete their details (SMS or e-mail)",
    body=DetailsLinkIn,
    returns=Requested,
    status=202,
    tag=TAG,
)
async def send_details_link(request: web.Request) -> web.Response:
    rt = back_office(request)
    body = parse_model(await request.read() or b"{}", DetailsLinkIn, strict=True)
    _, account_id = await scope.customer(request, rt, body.merchant_id)
    links = Links.of(rt.settings)

    async def work(conn: asyncpg.Connection) -> Requested:
        e = await customers.send_details_link(
            conn, links, account_id, body.channel, body.merchant_id
        )
        await outbox.write(conn, [e])
        return Requested(
            message_id=e.data.message_id, channel=e.data.channel, template=e.data.template
        )

    return json_response(await transaction(rt.pool, work), 202)


@routes.route(
    "GET",
    "/v1/associations/{association_id}/customers",
    summary="Find the association's customers by name (the front desk's search)",
    query=NameQuery,
    returns=NamedCustomers,
    tag=TAG,
)
async def find_by_name(request: web.Request) -> web.Response:
    """The people of the association's merchants (HOLDER, as cards' search by phone or card:
    a front desk serves the network's customers) and its administrators; not a cardholder.
    The name travels in the query string, which no log keeps."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    authorise(request, Need.HOLDER, association_id)
    q = read_query(request, NameQuery)
    found = await customers.find_by_name(rt.pool, association_id, q.name, q.limit)
    return json_response(NamedCustomers(customers=as_models(NamedCustomer, found)))


@routes.route(
    "POST",
    "/v1/associations/{association_id}/customers/names",
    summary="The names of the accounts given, those of the association's customer file (a "
    "dashboard's best customers, in one call)",
    body=NamesIn,
    returns=NamedCustomers,
    tag=TAG,
)
async def names_of(request: web.Request) -> web.Response:
    """A read, as a POST: fifty accounts' ids do not fit a query string a proxy keeps. Who
    may: as the search by name (HOLDER); an account of another association, or erased, is
    left out."""
    rt = back_office(request)
    association_id = uuid_param(request, "association_id")
    authorise(request, Need.HOLDER, association_id)
    body = parse_model(await request.read() or b"{}", NamesIn, strict=True)
    found = await customers.named(rt.pool, association_id, body.account_ids)
    return json_response(NamedCustomers(customers=as_models(NamedCustomer, found)))
