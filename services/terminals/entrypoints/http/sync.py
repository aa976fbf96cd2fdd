"""Sync sessions over HTTP: POST /v1/sync/{hello,chunk,close,updates}, signed like every
terminal request (shared/signing.py; each nonce is spent in the transaction of its work, so
a replayed request is refused). Errors are problem+json with the protocol's ``code``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from services.terminals.domain.sync import SyncError
from services.terminals.domain.terminals import Who
from services.terminals.entrypoints.http.common import SIGNED, authenticated, sync_service
from services.terminals.service.registry import PROBLEMS
from services.terminals.service.sync import SyncService
from shared.http import Problem, json_response, parse_model
from shared.openapi import Routes
from shared.sync.messages import (
    Chunk,
    ChunkReply,
    Close,
    CloseReply,
    Hello,
    HelloReply,
    Updates,
    UpdatesReply,
)

routes = Routes()
M = TypeVar("M", bound=BaseModel)
Work = Callable[[SyncService, Who, M, str], Awaitable[BaseModel]]


def problem(exc: SyncError) -> Problem:
    return Problem(
        exc.status,
        exc.code.replace("_", " ").capitalize(),
        exc.detail,
        type_=PROBLEMS + "sync-" + exc.code.replace("_", "-"),
        code=exc.code,
        **exc.extra,
    )


def _handler(model: type[M], work: Work[M]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        svc = sync_service(request)
        body = await request.read()
        _, t, nonce = await authenticated(request, body)  # its problems carry their code
        try:
            # Strict: a line the services could not book is refused before it is acknowledged.
            msg = parse_model(body, model, strict=True)
        except Problem as p:
            p.extra["code"] = p.extra["reason"] = "malformed"
            raise
        try:
            reply = await work(svc, t.who, msg, nonce)
        except SyncError as exc:
            raise problem(exc) from exc
        return json_response(reply)

    return handler


async def _hello(svc: SyncService, who: Who, msg: Hello, nonce: str) -> HelloReply:
    return await svc.hello(who, msg, "http", nonce)


_SIGNED: dict[str, Any] = {"admin": False, "headers": SIGNED, "tag": "terminal sync"}


def _route(kind: str, model: type[M], reply: type[BaseModel], work: Work[M], summary: str) -> None:
    routes.route("POST", f"/v1/sync/{kind}", summary=summary, body=model, returns=reply, **_SIGNED)(
        _handler(model, work)
    )


_route(
    "hello",
    Hello,
    HelloReply,
    _hello,
    "Open a sync session: the gateway's last committed sequence and the configuration",
)
_route(
    "chunk",
    Chunk,
    ChunkReply,
    SyncService.chunk,
    "Upload contiguous journal lines; committed (or not at all) before the answer",
)
_route(
    "close",
    Close,
    CloseReply,
    SyncService.close,
    "Compare the journal's counts and totals; the missing ranges on a mismatch",
)
_route(
    "updates",
    Updates,
    UpdatesReply,
    SyncService.updates,
    "Parameters and blacklist changes since the terminal's versions (paged)",
)
