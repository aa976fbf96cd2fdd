"""The back office's use cases (issue 15, item 3, MANAGER): a merchant's manager runs their
campaigns, reads their catalogue, promotions, customer file, statements, staff and tills.
Every call to a service is made with the manager's own scope token (service/desk.py's
``_call``), so that each service decides what the manager reaches; a refusal comes back as
``Refused`` for the page to say in words. The portal keeps only each campaign's name."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.portal.adapters import manage as rows
from services.portal.domain.manage import Campaign
from services.portal.service.desk import Refused, _call, _ok
from services.portal.service.state import Portal
from shared import clock
from shared.access import Principal

# The back office is a merchant's: its manager.
MANAGE_ROLES = ("manager",)
LISTED = 50


def _merchant(p: Principal) -> tuple[UUID, UUID]:
    assert p.association_id is not None and p.merchant_id is not None, "a manager's scope"
    return p.association_id, p.merchant_id


async def shop_name(portal: Portal, p: Principal) -> str | None:
    """The merchant's name (cards), signed at the head of a campaign's message."""
    aid, mid = _merchant(p)
    answer = await _call(
        portal.services, p, "GET", "cards", f"/v1/associations/{aid}/merchants/{mid}"
    )
    return str(answer.body.get("name") or "") or None if answer.status == 200 else None


async def families(portal: Portal, p: Principal) -> list[dict[str, Any]]:
    """The merchant's product families (cards)."""
    _, mid = _merchant(p)
    answer = await _call(portal.services, p, "GET", "cards", f"/v1/merchants/{mid}/families")
    body = _ok(answer)
    items = body.get("families", []) if isinstance(body, dict) else body
    return list(items)


async def preview(portal: Portal, p: Principal, c: Campaign) -> tuple[int, int]:
    """How many of the merchant's customers the segment holds, and how many of them would
    receive (those who consented to the channel): crm counts, nothing is saved."""
    aid, mid = _merchant(p)
    answer = await _call(
        portal.services,
        p,
        "POST",
        "crm",
        f"/v1/associations/{aid}/segments/size",
        json=c.segment(str(mid)),
    )
    body = _ok(answer)
    return int(body["size"]), int(body["consenting"] or 0)


async def save(portal: Portal, p: Principal, campaign_id: UUID, c: Campaign) -> dict[str, Any]:
    """The campaign made (or changed while a draft) in crm under the form's id, so that the
    same form posted twice is the same campaign; its name kept here. A campaign sent
    already: Refused 409 ``campaign_sent``."""
    aid, mid = _merchant(p)
    variables = dict(c.variables)
    name = await shop_name(portal, p)
    if name:
        variables["shop_name"] = name[:100]
    body = {
        "association_id": str(aid),
        "template": c.template,
        "variables": variables,
        "segment": c.segment(str(mid)),
    }
    answer = await _call(
        portal.services, p, "PUT", "crm", f"/v1/campaigns/{campaign_id}", json=body
    )
    made = dict(_ok(answer))
    if not await rows.name_campaign(
        portal.pool, campaign_id, aid, mid, c.name, p.actor, clock.now()
    ):
        raise Refused(409, "campaign_mismatch")
    return made


async def send(portal: Portal, p: Principal, campaign_id: UUID) -> dict[str, Any]:
    """The campaign's sending asked of crm: once, however often it is asked (crm answers 200
    with nothing more sent when it was)."""
    answer = await _call(portal.services, p, "POST", "crm", f"/v1/campaigns/{campaign_id}/send")
    return dict(_ok(answer, 200, 202))


@dataclass(frozen=True, slots=True)
class Report:
    """A campaign as the back office shows it: its name here, crm's answer (size, sending,
    messages by status)."""

    id: UUID
    name: str
    crm: dict[str, Any]

    @property
    def status(self) -> str:
        sending = self.crm.get("sending") or {}
        return str(sending.get("status") or "monthly")

    @property
    def messages(self) -> dict[str, int]:
        return dict(self.crm.get("messages") or {})


async def campaign(portal: Portal, p: Principal, campaign_id: UUID) -> Report:
    """One campaign (crm decides whether the manager reaches it: 403/404 otherwise)."""
    answer = await _call(portal.services, p, "GET", "crm", f"/v1/campaigns/{campaign_id}")
    body = dict(_ok(answer))
    name = await rows.campaign_name(portal.pool, campaign_id)
    return Report(campaign_id, name or str(body.get("template", "")), body)


async def campaigns(portal: Portal, p: Principal) -> list[Report]:
    """The merchant's campaigns, the newest first, each with its results now (crm)."""
    _, mid = _merchant(p)
    named = await rows.campaigns(portal.pool, mid, LISTED)
    answers = await asyncio.gather(
        *(
            _call(portal.services, p, "GET", "crm", f"/v1/campaigns/{r['campaign_id']}")
            for r in named
        )
    )
    return [
        Report(r["campaign_id"], r["name"], dict(a.body))
        for r, a in zip(named, answers, strict=True)
        if a.status == 200
    ]
