"""The cardholder space (issue 15, "Cardholder space"): what a signed-in cardholder sees and
does, each read and change asked of the service that owns it with the cardholder's own scope
token (cards: balance, history, levels, the network's shops; crm: details, consents, GDPR
access and erasure, sponsorship). The services apply the scope: the portal adds none."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

import aiohttp

from services.portal.adapters.services import Services
from services.portal.service.calls import Refused, call, ok
from shared.access import Principal

Channel = Literal["email", "sms", "post"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "post")


@dataclass(frozen=True, slots=True)
class Overview:
    """The space's first page. A part a service did not give (down, or refused to a
    cardholder) is None, and the page says it is unavailable rather than failing whole."""

    account: dict[str, Any] | None
    levels: list[dict[str, Any]] | None
    customer: dict[str, Any] | None
    sponsorship: dict[str, Any] | None
    shops: list[dict[str, Any]] | None
    consents: list[dict[str, Any]] | None
    shop_names: dict[str, str] = field(default_factory=dict)


def _account(p: Principal) -> UUID:
    if p.role != "cardholder" or p.account_id is None:
        raise Refused(403, "out_of_scope")
    return p.account_id


async def _get(services: Services, p: Principal, service: Any, path: str) -> Any:
    """The answer's body when 200, else None (the part is left out of the page)."""
    try:
        answer = await services.call(p, "GET", service, path)
    except (aiohttp.ClientError, TimeoutError):
        return None
    return answer.body if answer.status == 200 else None


async def overview(services: Services, p: Principal) -> Overview:
    """Every part at once: six calls to two services, in parallel."""
    aid = _account(p)
    parts = await asyncio.gather(
        _get(services, p, "cards", f"/v1/accounts/{aid}"),
        _get(services, p, "cards", f"/v1/accounts/{aid}/levels"),
        _get(services, p, "crm", f"/v1/customers/{aid}"),
        _get(services, p, "crm", f"/v1/customers/{aid}/sponsorship"),
        _get(services, p, "cards", f"/v1/associations/{p.association_id}/directory"),
        _get(services, p, "crm", f"/v1/customers/{aid}/consents"),
    )
    account, levels, customer, sponsorship, shops, consents = parts
    names = {str(s["id"]): str(s["name"]) for s in shops or []}
    return Overview(
        account=account,
        levels=levels["levels"] if levels else None,
        customer=customer,
        sponsorship=sponsorship,
        shops=shops,
        consents=_current(consents["consents"]) if consents else None,
        shop_names=names,
    )


def _current(consents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The consents that still say something: asked or given, not those withdrawn or
    replaced, newest first."""
    live = [c for c in consents if c["status"] in ("pending", "confirmed")]
    return sorted(live, key=lambda c: c["requested_at"], reverse=True)


async def withdraw(services: Services, p: Principal, consent_id: UUID) -> None:
    aid = _account(p)
    path = f"/v1/customers/{aid}/consents/{consent_id}"
    ok(await call(services, p, "DELETE", "crm", path), 200)


async def give(services: Services, p: Principal, channel: Channel) -> dict[str, Any]:
    """Ask crm for a consent to the whole network on ``channel``: crm sends the double
    opt-in (an e-mail link, an SMS code to enter here) and keeps the proof."""
    aid = _account(p)
    body = {"channel": channel, "merchant_id": None}
    path = f"/v1/customers/{aid}/consents"
    given: dict[str, Any] = ok(await call(services, p, "POST", "crm", path, json=body), 201)
    return given


async def confirm(services: Services, p: Principal, consent_id: UUID, code: str) -> None:
    aid = _account(p)
    path = f"/v1/customers/{aid}/consents/{consent_id}/code"
    ok(await call(services, p, "POST", "crm", path, json={"code": code}), 200)


async def personal_data(
    services: Services, p: Principal, form: Literal["json", "csv"]
) -> tuple[bytes, str]:
    """The GDPR access answer (crm asks every service), as crm gives it: its bytes and type."""
    aid = _account(p)
    suffix = ".csv" if form == "csv" else ""
    path = f"/v1/customers/{aid}/personal-data{suffix}"
    async with services.download(p, "crm", path, {}) as r:
        if r.status != 200:
            raise Refused(r.status, "personal_data")
        return await r.read(), r.content_type


async def erase(services: Services, p: Principal) -> None:
    aid = _account(p)
    ok(await call(services, p, "POST", "crm", f"/v1/customers/{aid}/erasure"), 200)
