"""Sync sessions over HTTP: POST /v1/sync/{hello,chunk,close,updates}, signed like every
terminal request (shared/signing.py; each nonce is spent in the transaction of its work, so
a replayed request is refused). Errors are problem+json with the protocol's ``code``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from services.terminals.api import PROBLEMS, SIGNED, _gw, api
from services.terminals.sync import SyncError, SyncService, Who
from shared.http import Problem, json_response, parse_model
from shared.service import RUNTIME
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

M = TypeVar("M", bound=BaseModel)
_AUTH_CODES = {
    "unsigned": "unsigned",
    "unknown-terminal": "unknown_terminal",
    "stale": "stale",
    "bad-signature": "bad_signature",
}


def problem(exc: SyncError) -> Problem:
    return Problem(
        exc.status,
        exc.code.replace("_", " ").capitalize(),
        exc.detail,
        type_=PROBLEMS + "sync-" + exc.code.replace("_", "-"),
        code=exc.code,
        **exc.extra,
    )


def _service(request: web.Request) -> SyncService:
    svc: SyncService | None = request.app[RUNTIME].state.get("sync")
    if svc is None:
        raise Problem(503, "Not ready", "the gateway is starting", code="busy")
    return svc


def _handler(
    model: type[M], work: Callable[[SyncService, Who, M, str], Awaitable[BaseModel]]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        gw = _gw(request)
        svc = _service(request)
        body = await request.read()
        try:
            t, nonce = await gw.authenticate(request, body)
        except Problem as p:
            p.extra["code"] = _AUTH_CODES.get(p.type.removeprefix(PROBLEMS), "unsigned")
            raise
        try:
            msg = parse_model(body, model)
        except Problem as p:
            p.extra["code"] = "malformed"
            raise
        who = Who(t.id, t.association_id, t.merchant_id, t.shop_id)
        try:
            reply = await work(svc, who, msg, nonce)
        except SyncError as exc:
            raise problem(exc) from exc
        return json_response(reply)

    return handler


async def _hello(svc: SyncService, who: Who, msg: Hello, nonce: str) -> HelloReply:
    if msg.terminal_id != who.id:
        raise SyncError("malformed", "terminal_id is not the terminal that signed the request")
    return await svc.hello(who, msg, "http", nonce)


async def _chunk(svc: SyncService, who: Who, msg: Chunk, nonce: str) -> ChunkReply:
    return await svc.chunk(who, msg, nonce)


async def _close(svc: SyncService, who: Who, msg: Close, nonce: str) -> CloseReply:
    return await svc.close(who, msg, nonce)


async def _updates(svc: SyncService, who: Who, msg: Updates, nonce: str) -> UpdatesReply:
    return await svc.updates(who, msg, nonce)


_SIGNED: dict[str, Any] = {"admin": False, "headers": SIGNED, "tag": "terminal sync"}

api.route(
    "POST",
    "/v1/sync/hello",
    summary="Open a sync session: the gateway's last committed sequence and the configuration",
    body=Hello,
    returns=HelloReply,
    **_SIGNED,
)(_handler(Hello, _hello))
api.route(
    "POST",
    "/v1/sync/chunk",
    summary="Upload contiguous journal lines; committed (or not at all) before the answer",
    body=Chunk,
    returns=ChunkReply,
    **_SIGNED,
)(_handler(Chunk, _chunk))
api.route(
    "POST",
    "/v1/sync/close",
    summary="Compare the journal's counts and totals; the missing ranges on a mismatch",
    body=Close,
    returns=CloseReply,
    **_SIGNED,
)(_handler(Close, _close))
api.route(
    "POST",
    "/v1/sync/updates",
    summary="Parameters and blacklist changes since the terminal's versions (paged)",
    body=Updates,
    returns=UpdatesReply,
    **_SIGNED,
)(_handler(Updates, _updates))
