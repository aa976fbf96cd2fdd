"""Back-office routes of the catalogue: associations, their merchants and the merchants'
product families (the use cases: ``service.catalogue``)."""

from __future__ import annotations

from aiohttp import web

from services.cards.adapters import scopes
from services.cards.entrypoints.http import scoped
from services.cards.service import catalogue
from services.cards.service.catalogue_models import (
    AssociationIn,
    AssociationOut,
    Directory,
    DirectoryEntry,
    Families,
    FamilyIn,
    FamilyOut,
    MerchantIn,
    MerchantOut,
    Merchants,
)
from shared.access import Need
from shared.access_http import authorise
from shared.db.query import as_model, as_models
from shared.fields import PRODUCT_FAMILY_CODE
from shared.http import json_response, read_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

TAG = "catalogue and rules"
routes = Routes()


@routes.route(
    "PUT",
    "/v1/associations/{association_id}",
    summary="Create or update an association",
    body=AssociationIn,
    returns=AssociationOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_association(request: web.Request) -> web.Response:
    """Created with its default program (a cagnotte on the whole catalogue, "Cagnotte") and
    its default card type (kind association, that program), in the same transaction."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.OPERATOR)  # its issuer prefix and network rates are the network's
    body = await read_model(request, AssociationIn)
    row, created = await catalogue.put_association(rt.pool, aid, body)
    return json_response(as_model(AssociationOut, row), 201 if created else 200)


@routes.route(
    "GET",
    "/v1/associations/{association_id}",
    summary="An association, with its default card type and program",
    returns=AssociationOut,
    tag=TAG,
)
async def get_association(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.NETWORK, aid)
    row = await catalogue.get_association(rt.pool, aid)
    return json_response(as_model(AssociationOut, row))


@routes.route(
    "PUT",
    "/v1/associations/{association_id}/merchants/{merchant_id}",
    summary="Admit or update a merchant of an association",
    body=MerchantIn,
    returns=MerchantOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_merchant(request: web.Request) -> web.Response:
    """Clearing is told (`MerchantRegistered`) when what it knows of the merchant changes: its
    name, its default rates, its closing day. `closed_on` left out keeps the current one."""
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    mid = uuid_param(request, "merchant_id")
    authorise(request, Need.ASSOCIATION, aid, mid)
    scoped.held_elsewhere(request, Need.ASSOCIATION, await scopes.merchant(rt.pool, mid), aid, mid)
    body = await read_model(request, MerchantIn)
    row = await catalogue.put_merchant(rt.pool, aid, mid, body)
    return json_response(as_model(MerchantOut, row), 201 if row["created"] else 200)


@routes.route(
    "GET",
    "/v1/associations/{association_id}/merchants/{merchant_id}",
    summary="A merchant of the association (404 `unknown_merchant`, `merchant_not_in_association`)",
    returns=MerchantOut,
    tag=TAG,
)
async def get_merchant(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    mid = uuid_param(request, "merchant_id")
    authorise(request, Need.NETWORK, aid, mid)
    row = await catalogue.get_merchant(rt.pool, aid, mid)
    return json_response(as_model(MerchantOut, row))


@routes.route(
    "GET",
    "/v1/associations/{association_id}/merchants",
    summary="The merchants of an association",
    returns=Merchants,
    tag=TAG,
)
async def list_merchants(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.NETWORK, aid)
    rows = await catalogue.list_merchants(rt.pool, aid)
    return json_response(Merchants(as_models(MerchantOut, rows)))


@routes.route(
    "GET",
    "/v1/associations/{association_id}/directory",
    summary="The network's shops as its cardholders see them (names only)",
    returns=Directory,
    tag=TAG,
)
async def get_directory(request: web.Request) -> web.Response:
    rt = back_office(request)
    aid = uuid_param(request, "association_id")
    authorise(request, Need.DIRECTORY, aid)
    return json_response(
        Directory(as_models(DirectoryEntry, await catalogue.directory(rt.pool, aid)))
    )


# --- product families --------------------------------------------------------------------------

_FAMILY_PATH = "/v1/merchants/{merchant_id}/families/{code:" + PRODUCT_FAMILY_CODE + "}"


@routes.route(
    "PUT",
    _FAMILY_PATH,
    summary="Create or update a product family of a merchant",
    body=FamilyIn,
    returns=FamilyOut,
    status=201,
    also=(200,),
    tag=TAG,
)
async def put_family(request: web.Request) -> web.Response:
    """The flags carry the law (F10): tobacco and gambling earn nothing, books at most 5 %."""
    rt = back_office(request)
    mid = uuid_param(request, "merchant_id")
    await scoped.merchant(request, rt.pool, Need.MANAGER, mid)
    body = await read_model(request, FamilyIn)
    row = await catalogue.put_family(rt.pool, mid, request.match_info["code"], body)
    return json_response(as_model(FamilyOut, row), 201 if row["created"] else 200)


@routes.route(
    "GET",
    "/v1/merchants/{merchant_id}/families",
    summary="A merchant's product families",
    returns=Families,
    tag=TAG,
)
async def list_families(request: web.Request) -> web.Response:
    rt = back_office(request)
    mid = uuid_param(request, "merchant_id")
    await scoped.merchant(request, rt.pool, Need.STAFF, mid)  # the front desk picks a family
    rows = await catalogue.list_families(rt.pool, mid)
    return json_response(Families(as_models(FamilyOut, rows)))


@routes.route(
    "DELETE",
    _FAMILY_PATH,
    summary="Remove a product family from a merchant's catalogue",
    returns=FamilyOut,
    tag=TAG,
)
async def delete_family(request: web.Request) -> web.Response:
    """Answers the family removed; its sales then earn as sales without family."""
    rt = back_office(request)
    mid = uuid_param(request, "merchant_id")
    await scoped.merchant(request, rt.pool, Need.MANAGER, mid)
    row = await catalogue.delete_family(rt.pool, mid, request.match_info["code"])
    return json_response(as_model(FamilyOut, row))
