"""Terminals' online requests: POST /v1/{sales,redemptions,returns,enrolments}, signed, and
GET of each one's answer. Each request is authenticated, validated, dated, recorded with its
event and answered with the cards service's verdict (or 202, to poll)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from services.terminals.adapters import crm
from services.terminals.domain import requests as domain
from services.terminals.domain.answers import (
    EnrolmentAnswer,
    RedemptionAnswer,
    ReturnAnswer,
    SaleAnswer,
)
from services.terminals.domain.requests import R, ToEvent
from services.terminals.domain.terminals import Terminal
from services.terminals.entrypoints.http.common import SIGNED, answer, authenticated
from services.terminals.service.registry import PROBLEMS
from services.terminals.service.requests import Gateway
from shared import clock
from shared.events import new_event
from shared.http import Problem, parse_model, uuid_param
from shared.openapi import Routes
from shared.rules.dates import DateWindow

routes = Routes()
Handler = Callable[[web.Request], Awaitable[web.Response]]

_DATE_TITLES = {
    "occurred_in_future": "Dated in the future",
    "occurred_too_long_ago": "Dated too long ago",
    "occurred_before_books_start": "Dated before the books start",
}


def occurred(at: datetime | None, window: DateWindow) -> datetime:
    """When the operation happened: the terminal's time if it is within reason (refused at
    once otherwise, with the window's reason, before anything is recorded), else now.
    Cards checks again with the association's books start (shared/rules/dates.py)."""
    now = clock.now()
    if at is None:
        return now
    refusal = window.refusal(at, now)
    if refusal is not None:
        raise Problem(
            422,
            _DATE_TITLES[refusal],
            f"occurred_at {at.isoformat()} is outside the accepted window at "
            f"{now.isoformat()} (at most {int(window.future_tolerance.total_seconds())} s "
            f"ahead, {window.max_age.days} days back): check the terminal's clock",
            type_=PROBLEMS + refusal.replace("_", "-"),
            reason=refusal,
        )
    return at


async def _referral_code_held(gw: Gateway, t: Terminal, request_id: UUID, code: str) -> None:
    """A referral code given with an enrolment (F22) is asked of crm before the account is
    opened: a code no customer of the association holds is refused 422
    `unknown_referral_code` and nothing is opened, as a mistyped one. A retry of an enrolment
    already answered keeps its answer (its sponsor may have been erased since); crm not
    answering lets the enrolment through (crm checks again when it links the sponsor)."""
    if await crm.referral_code(gw.settings, t.association_id, code) != "unknown":
        return
    try:
        await gw.status("enrolment", request_id, t)
        return  # known: the retry is answered as the first time
    except Problem:
        pass
    raise Problem(
        422,
        "Unknown referral code",
        "no customer of the association has this referral code: ask the customer again, or "
        "enrol them without it",
        type_=PROBLEMS + "unknown-referral-code",
        reason="unknown_referral_code",
        code="unknown_referral_code",
    )


def _submit(kind: str, model: type[R], to_event: ToEvent[R]) -> Handler:
    """Authenticate, validate, record and answer one kind of terminal request."""

    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        gw, t, nonce = await authenticated(request, body)
        # Strict (issue 11, finding 12): "100" is not an amount, true is not a quantity.
        parsed = parse_model(body, model, strict=True)
        at = domain.where(t, occurred(parsed.occurred_at, gw.dates))
        request_id, data = to_event(parsed, at)
        if isinstance(parsed, domain.EnrolmentIn) and parsed.referral_code:
            await _referral_code_held(gw, t, request_id, parsed.referral_code)
        event = new_event("terminals", data, subject=f"{kind}/{request_id}")
        verdict = await gw.submit(kind, request_id, t, nonce, body, event)
        return answer(verdict, f"/v1/{kind}s/{request_id}")

    return handler


def _status(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        gw, t, _ = await authenticated(request, b"")
        request_id = uuid_param(request, "request_id")
        return answer(await gw.status(kind, request_id, t), f"/v1/{kind}s/{request_id}")

    return handler


def _signed(
    kind: str, model: type[R], to_event: ToEvent[R], returns: type[BaseModel], what: str
) -> None:
    """POST /v1/<kind>s and GET /v1/<kind>s/{request_id}, signed by a terminal."""
    signed: dict[str, Any] = {
        "returns": returns,
        "status": 201,
        "also": (202,),
        "admin": False,
        "headers": SIGNED,
        "tag": "terminal",
    }
    routes.route("POST", f"/v1/{kind}s", summary=what, body=model, **signed)(
        _submit(kind, model, to_event)
    )
    routes.route("GET", f"/v1/{kind}s/{{request_id}}", summary=f"The answer to: {what}", **signed)(
        _status(kind)
    )


_signed("sale", domain.SaleIn, domain.sale, SaleAnswer, "Record a sale (credits the cagnotte)")
_signed(
    "redemption",
    domain.RedemptionIn,
    domain.redemption,
    RedemptionAnswer,
    "Spend from the cagnotte",
)
_signed("enrolment", domain.EnrolmentIn, domain.enrolment, EnrolmentAnswer, "Enrol a customer")
_signed(
    "return",
    domain.ReturnIn,
    domain.return_,
    ReturnAnswer,
    "Cancel a sale or return goods (reverses the reward)",
)
