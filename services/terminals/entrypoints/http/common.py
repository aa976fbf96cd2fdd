"""What the gateway's HTTP modules share: the signature headers a terminal sends, the
gateway's parts from the request, and a verdict turned into its HTTP answer."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.terminals.domain.terminals import Terminal
from services.terminals.service.requests import Gateway
from services.terminals.service.sync import SyncService
from services.terminals.service.waiters import Verdict
from shared import signing
from shared.http import Problem, json_response
from shared.openapi import Header
from shared.service import RUNTIME

SIGNED = (
    Header(signing.TERMINAL, "the terminal's id", {"type": "string", "format": "uuid"}),
    Header(
        signing.TIMESTAMP,
        "Unix time in seconds, within the signature window of the gateway's clock",
        {"type": "string", "pattern": "^[0-9]+$"},
    ),
    Header(
        signing.NONCE,
        "single use, 16 to 64 characters",
        {"type": "string", "minLength": 16, "maxLength": 64},
    ),
    Header(
        signing.SIGNATURE,
        "hex HMAC-SHA256, with the terminal's secret, of the method, path, timestamp, nonce "
        "and the body's SHA-256",
        {"type": "string"},
    ),
)


def _part(request: web.Request, name: str) -> Any:
    part = request.app[RUNTIME].state.get(name)
    if part is None:
        raise Problem(503, "Not ready", "the gateway is starting", code="busy")
    return part


def gateway(request: web.Request) -> Gateway:
    gw: Gateway = _part(request, "gateway")
    return gw


def sync_service(request: web.Request) -> SyncService:
    svc: SyncService = _part(request, "sync")
    return svc


async def authenticated(request: web.Request, body: bytes) -> tuple[Gateway, Terminal, str]:
    """The gateway, the terminal that signed the request, and the request's nonce."""
    gw = gateway(request)
    t, nonce = await gw.terminals.authenticate(
        request.headers, request.method, request.path_qs, body
    )
    return gw, t, nonce


def answer(verdict: Verdict, instance: str) -> web.Response:
    """A verdict as the terminal gets it: the answer, or the refusal as problem+json."""
    status, outcome = verdict
    if status >= 400:
        return Problem(
            status,
            outcome["title"],
            outcome["detail"],
            type_=outcome["type"],
            **outcome.get("extra", {}),
        ).response(instance)
    return json_response(outcome, status)
