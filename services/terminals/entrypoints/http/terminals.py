"""The back office's registry of terminals: register or update one (its secret is shown
once), list them, and read their sync state (the registry of offline terminals).

A terminal is its merchant's: its manager (or the association's admin) registers and reads
it. The lists cover the whole network, the operator's alone, unless filtered by
``association_id`` (the association's admin) and ``merchant_id`` (the merchant's manager)."""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel

from services.terminals.adapters import desk as desk_store
from services.terminals.adapters import terminals as store
from services.terminals.domain.sync_registry import SyncRegistry, SyncRegistryEntry
from services.terminals.entrypoints.http.common import gateway
from services.terminals.service import sync
from shared.access import Need
from shared.access_http import authorise
from shared.db.query import as_models
from shared.fields import Name
from shared.http import Problem, json_response, read_model, read_query, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()


class TerminalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    label: Name
    secret: str | None = Field(default=None, min_length=32, max_length=128)
    active: bool = True


class TerminalOut(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    label: str
    active: bool
    secret: str | None = Field(
        default=None, description="only when the terminal is created or its secret is set"
    )


class TerminalSummary(BaseModel):
    id: UUID
    association_id: UUID
    merchant_id: UUID
    shop_id: UUID
    label: str
    active: bool


class TerminalList(RootModel[list[TerminalSummary]]):
    pass


class Scope(BaseModel):
    """A list's filter, which is also the scope it is authorised on."""

    association_id: UUID | None = Field(
        default=None, description="only this association's terminals (its admin may list them)"
    )
    merchant_id: UUID | None = Field(
        default=None,
        description="only this merchant's terminals (its manager may list them, with the "
        "association_id)",
    )


def _authorise_list(request: web.Request) -> Scope:
    """Unfiltered: the whole network's, the operator's; else the filter's scope. A merchant
    named without its association is reached by the operator alone."""
    q = read_query(request, Scope)
    if q.merchant_id is not None:
        authorise(request, Need.MANAGER, q.association_id, q.merchant_id)
    elif q.association_id is not None:
        authorise(request, Need.ASSOCIATION, q.association_id)
    else:
        authorise(request, Need.OPERATOR)
    return q


@routes.route(
    "PUT",
    "/v1/terminals/{terminal_id}",
    summary="Register or update a terminal (its secret is shown once)",
    body=TerminalIn,
    returns=TerminalOut,
    status=201,
    also=(200,),
    tag="back office",
)
async def put_terminal(request: web.Request) -> web.Response:
    rt = back_office(request)
    gw = gateway(request)  # its terminal cache forgets the old secret
    terminal_id = uuid_param(request, "terminal_id")
    body = await read_model(request, TerminalIn)
    authorise(request, Need.MANAGER, body.association_id, body.merchant_id)
    held = await store.scope(rt.pool, terminal_id)
    if held is not None:  # no taking another merchant's terminal over
        authorise(request, Need.MANAGER, *held)
        if await desk_store.is_desk(rt.pool, terminal_id):  # nobody may sign as the desk
            raise Problem(
                409,
                "The front desk's terminal",
                "the gateway keeps the front desk's terminal: it cannot be changed",
                reason="desk_terminal",
            )
    secret = body.secret or secrets.token_urlsafe(32)
    created = await store.upsert(
        rt.pool,
        terminal_id,
        body.association_id,
        body.merchant_id,
        body.shop_id,
        body.label,
        body.active,
        gw.keyring.seal(terminal_id, secret),  # never stored in clear
        new_secret=body.secret is not None,
    )
    gw.terminals.forget(terminal_id)
    shown = created or body.secret is not None  # once: at creation or when the operator sets it
    out = TerminalOut(
        id=terminal_id, **body.model_dump(exclude={"secret"}), secret=secret if shown else None
    )
    hidden = None if shown else {"secret"}
    return json_response(out.model_dump(mode="json", exclude=hidden), 201 if created else 200)


@routes.route(
    "GET",
    "/v1/terminals",
    summary="The terminals: all, an association's or a merchant's",
    query=Scope,
    returns=TerminalList,
    tag="back office",
)
async def list_terminals(request: web.Request) -> web.Response:
    rt = back_office(request)
    q = _authorise_list(request)
    found = await store.summaries(rt.pool, q.association_id, q.merchant_id)
    return json_response(TerminalList(as_models(TerminalSummary, found)))


@routes.route(
    "GET",
    "/v1/terminals/{terminal_id}/sync",
    summary="A terminal's sync state: last sync, versions, pending lines, health, last session",
    returns=SyncRegistryEntry,
    tag="back office",
)
async def get_terminal_sync(request: web.Request) -> web.Response:
    rt = back_office(request)
    terminal_id = uuid_param(request, "terminal_id")
    held = await store.scope(rt.pool, terminal_id)
    if held is None:
        raise Problem(
            404, "Unknown terminal", f"no terminal {terminal_id}", reason="unknown_terminal"
        )
    authorise(request, Need.MANAGER, *held)
    (found,) = await sync.registry(rt.pool, terminal_id)
    return _registry_answer(found.model_dump())


@routes.route(
    "GET",
    "/v1/sync/registry",
    summary="The terminals' sync state (the registry of offline terminals): all, an "
    "association's or a merchant's",
    query=Scope,
    returns=SyncRegistry,
    tag="back office",
)
async def list_terminal_sync(request: web.Request) -> web.Response:
    rt = back_office(request)
    q = _authorise_list(request)
    found = await sync.registry(rt.pool, association_id=q.association_id, merchant_id=q.merchant_id)
    return _registry_answer([e.model_dump() for e in found])


def _registry_answer(data: Any) -> web.Response:
    """The models dumped in Python mode and written by orjson, so that times read as they
    always have (``+00:00``, not pydantic's ``Z``); asyncpg's UUIDs as their text."""
    body = orjson.dumps(data, default=str)
    return web.Response(body=body, content_type="application/json")
