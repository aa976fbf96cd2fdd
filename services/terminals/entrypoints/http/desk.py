"""The front desk's requests (issue 15, item 3, CARD): POST
/v1/merchants/{merchant_id}/desk/{sales,redemptions,returns,enrolments} and GET of each one's
answer, for the merchant's staff and manager (``Need.STAFF``, by the scope token).

Each is booked as a till's request of the same kind: the same body, the same event (so cards,
clearing and crm see a desk's sale exactly as a till's), the same idempotency by the id the
body carries (a double submit or a retry books once and gets the same answer, a refusal
included), through the merchant's desk terminal (service/desk.py). The person who sent it is
recorded beside it (``desk_requests``)."""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

from aiohttp import web
from pydantic import BaseModel

from services.terminals.adapters import desk as store
from services.terminals.domain import requests as domain
from services.terminals.domain.answers import (
    EnrolmentAnswer,
    RedemptionAnswer,
    ReturnAnswer,
    SaleAnswer,
)
from services.terminals.domain.requests import R, ToEvent
from services.terminals.entrypoints.http.common import answer, gateway
from services.terminals.entrypoints.http.requests import (
    Handler,
    _referral_code_held,
    occurred,
)
from services.terminals.service import desk
from shared import merchants
from shared.access import Need, Principal
from shared.access_http import authorise, principal
from shared.events import new_event
from shared.http import Problem, parse_model, uuid_param
from shared.openapi import Routes
from shared.service import back_office

routes = Routes()
TAG = "front desk"


async def _scope(request: web.Request, merchant_id: UUID) -> tuple[Principal, UUID | None]:
    """The merchant's front desk: its staff and manager, the association's admin, the
    operator. The association is the principal's (cards is asked when the merchant is not
    the principal's own); for the operator, the gateway's own knowledge of the merchant."""
    rt = back_office(request)
    p = principal(request)
    aid = await merchants.association_seen_by(rt.settings, p, merchant_id)
    if aid is None and p.is_operator:
        aid = await store.association_of(rt.pool, merchant_id)
    return authorise(request, Need.STAFF, aid, merchant_id), aid


def _path(merchant_id: UUID, kind: str, request_id: UUID) -> str:
    return f"/v1/merchants/{merchant_id}/desk/{kind}s/{request_id}"


def _submit(kind: str, model: type[R], to_event: ToEvent[R]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        merchant_id = uuid_param(request, "merchant_id")
        p, aid = await _scope(request, merchant_id)
        body = await request.read()
        parsed = parse_model(body, model, strict=True)
        if aid is None:  # the operator, for a merchant the gateway has never heard of
            raise Problem(
                422,
                "Unknown merchant",
                f"the gateway knows no merchant {merchant_id}",
                reason="unknown_merchant",
            )
        gw = gateway(request)
        t = await desk.terminal(gw, aid, merchant_id)
        at = domain.where(t, occurred(parsed.occurred_at, gw.dates))
        request_id, data = to_event(parsed, at)
        if isinstance(parsed, domain.EnrolmentIn) and parsed.referral_code:
            await _referral_code_held(gw, t, request_id, parsed.referral_code)
        event = new_event("terminals", data, subject=f"{kind}/{request_id}")
        # A nonce of its own each time: the request's id, not the nonce, makes a retry one.
        verdict = await gw.submit(kind, request_id, t, secrets.token_hex(16), body, event)
        await store.record_actor(gw.pool, request_id, merchant_id, p.actor)
        return answer(verdict, _path(merchant_id, kind, request_id))

    return handler


def _status(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        merchant_id = uuid_param(request, "merchant_id")
        await _scope(request, merchant_id)
        request_id = uuid_param(request, "request_id")
        gw = gateway(request)
        t = await desk.existing(gw, merchant_id)
        if t is None:
            raise Problem(
                404,
                "Unknown request",
                f"no {kind} {request_id} from this front desk",
                code="unknown_request",
            )
        return answer(await gw.status(kind, request_id, t), _path(merchant_id, kind, request_id))

    return handler


def _desk(
    kind: str, model: type[R], to_event: ToEvent[R], returns: type[BaseModel], what: str
) -> None:
    base = f"/v1/merchants/{{merchant_id}}/desk/{kind}s"
    common: dict[str, Any] = {"returns": returns, "tag": TAG}
    routes.route(
        "POST",
        base,
        summary=f"At the front desk: {what}",
        body=model,
        status=201,
        also=(202,),
        **common,
    )(_submit(kind, model, to_event))
    routes.route(
        "GET",
        base + "/{request_id}",
        summary=f"The answer to the front desk's: {what}",
        status=201,  # the answer as it was given, as a till's GET of it
        also=(202,),
        **common,
    )(_status(kind))


_desk("sale", domain.SaleIn, domain.sale, SaleAnswer, "record a sale (credits the cagnotte)")
_desk(
    "redemption",
    domain.RedemptionIn,
    domain.redemption,
    RedemptionAnswer,
    "spend from the cagnotte",
)
_desk(
    "return",
    domain.ReturnIn,
    domain.return_,
    ReturnAnswer,
    "cancel a sale or return goods (reverses the reward)",
)
_desk("enrolment", domain.EnrolmentIn, domain.enrolment, EnrolmentAnswer, "enrol a customer")
