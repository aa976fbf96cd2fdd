"""The back office's use cases (issue 15, item 3, MANAGER): a merchant's manager runs their
campaigns, reads their catalogue, promotions, customer file, statements, staff and tills.
Every call to a service is made with the manager's own scope token (service/desk.py's
``call``), so that each service decides what the manager reaches; a refusal comes back as
``Refused`` for the page to say in words. The portal keeps only each campaign's name."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.portal.adapters import manage as rows
from services.portal.domain.manage import Campaign
from services.portal.service.calls import Refused, call, ok
from services.portal.service.state import Portal
from shared import clock
from shared.access import Principal

# The back office is a merchant's: its manager's, and its association's administrators' (as
# the dashboard: any merchant of their association, one at a time).
MANAGE_ROLES = ("manager", "association_admin")
LISTED = 50


@dataclass(frozen=True, slots=True)
class Acting:
    """Who acts (the signed-in person: each call carries their token) for which merchant: a
    manager for theirs, an association's administrator for the one they chose."""

    principal: Principal
    association_id: UUID
    merchant_id: UUID

    @property
    def actor(self) -> str:
        return self.principal.actor


def _merchant(p: Acting) -> tuple[UUID, UUID]:
    return p.association_id, p.merchant_id


async def acting(portal: Portal, p: Principal, chosen: UUID | None) -> Acting | None:
    """A manager acts for their merchant; an administrator for ``chosen`` once cards says it
    is one of their association's (None: none chosen, or not theirs)."""
    assert p.association_id is not None, "a back office's person belongs to an association"
    if p.role == "manager":
        assert p.merchant_id is not None
        return Acting(p, p.association_id, p.merchant_id)
    if chosen is None:
        return None
    path = f"/v1/associations/{p.association_id}/merchants/{chosen}"
    answer = await call(portal.services, p, "GET", "cards", path)
    return Acting(p, p.association_id, chosen) if answer.status == 200 else None


async def shop_name(portal: Portal, p: Acting) -> str | None:
    """The merchant's name (cards), signed at the head of a campaign's message."""
    aid, mid = _merchant(p)
    answer = await call(
        portal.services, p.principal, "GET", "cards", f"/v1/associations/{aid}/merchants/{mid}"
    )
    return str(answer.body.get("name") or "") or None if answer.status == 200 else None


async def families(portal: Portal, p: Acting) -> list[dict[str, Any]]:
    """The merchant's product families (cards)."""
    _, mid = _merchant(p)
    answer = await call(
        portal.services, p.principal, "GET", "cards", f"/v1/merchants/{mid}/families"
    )
    body = ok(answer)
    items = body.get("families", []) if isinstance(body, dict) else body
    return list(items)


async def preview(portal: Portal, p: Acting, c: Campaign) -> tuple[int, int]:
    """How many of the merchant's customers the segment holds, and how many of them would
    receive (those who consented to the channel): crm counts, nothing is saved."""
    aid, mid = _merchant(p)
    answer = await call(
        portal.services,
        p.principal,
        "POST",
        "crm",
        f"/v1/associations/{aid}/segments/size",
        json=c.segment(str(mid)),
    )
    body = ok(answer)
    return int(body["size"]), int(body["consenting"] or 0)


async def save(portal: Portal, p: Acting, campaign_id: UUID, c: Campaign) -> dict[str, Any]:
    """The campaign made (or changed while a draft) in crm under the form's id, so that the
    same form posted twice is the same campaign; its name kept here. A campaign sent
    already: Refused 409 ``campaign_sent``."""
    aid, mid = _merchant(p)
    variables = dict(c.variables)
    name = await shop_name(portal, p)
    if name:
        variables["shop_name"] = name[:100]
    body: dict[str, Any] = {
        "association_id": str(aid),
        "template": c.template,
        "variables": variables,
        "segment": c.segment(str(mid)),
    }
    if c.monthly_day is not None:
        body["monthly_day"] = c.monthly_day
    if c.send_at is not None:
        body["send_at"] = c.send_at.isoformat()
    answer = await call(
        portal.services, p.principal, "PUT", "crm", f"/v1/campaigns/{campaign_id}", json=body
    )
    made = dict(ok(answer))
    if not await rows.name_campaign(
        portal.pool, campaign_id, aid, mid, c.name, p.actor, clock.now()
    ):
        raise Refused(409, "campaign_mismatch")
    return made


async def send(portal: Portal, p: Acting, campaign_id: UUID) -> dict[str, Any]:
    """The campaign's sending asked of crm: once, however often it is asked (crm answers 200
    with nothing more sent when it was)."""
    await campaign(portal, p, campaign_id)  # the merchant's (an administrator's reach is wider)
    answer = await call(
        portal.services, p.principal, "POST", "crm", f"/v1/campaigns/{campaign_id}/send"
    )
    return dict(ok(answer, 200, 202))


async def retime(
    portal: Portal, p: Acting, campaign_id: UUID, send_at: datetime | None
) -> dict[str, Any]:
    """A campaign not yet sent scheduled for ``send_at`` (None: back to a draft); crm
    refuses one sent or cancelled (Refused 409 ``campaign_sent``, ``campaign_cancelled``).
    Asked twice, the same instant: the same campaign."""
    await campaign(portal, p, campaign_id)  # the merchant's (an administrator's reach is wider)
    body = {"send_at": None if send_at is None else send_at.isoformat()}
    answer = await call(
        portal.services,
        p.principal,
        "PUT",
        "crm",
        f"/v1/campaigns/{campaign_id}/send-at",
        json=body,
    )
    return dict(ok(answer))


async def cancel(portal: Portal, p: Acting, campaign_id: UUID) -> dict[str, Any]:
    """A campaign not yet sent cancelled: it never goes (asked twice: once). One sent
    already: Refused 409 ``campaign_sent``."""
    await campaign(portal, p, campaign_id)
    answer = await call(
        portal.services, p.principal, "POST", "crm", f"/v1/campaigns/{campaign_id}/cancel"
    )
    return dict(ok(answer))


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
    def send_at(self) -> str | None:
        """A scheduled campaign's instant (crm's ISO text), None otherwise."""
        return str(self.crm["send_at"]) if self.crm.get("send_at") else None

    @property
    def messages(self) -> dict[str, int]:
        return dict(self.crm.get("messages") or {})


async def campaign(portal: Portal, p: Acting, campaign_id: UUID) -> Report:
    """One campaign (crm decides whether the manager reaches it: 403/404 otherwise)."""
    answer = await call(portal.services, p.principal, "GET", "crm", f"/v1/campaigns/{campaign_id}")
    body = dict(ok(answer))
    if body.get("merchant_id") != str(p.merchant_id):  # the association's, or another shop's
        raise Refused(404, "unknown_campaign")
    name = await rows.campaign_name(portal.pool, campaign_id)
    return Report(campaign_id, name or str(body.get("template", "")), body)


async def campaigns(portal: Portal, p: Acting) -> list[Report]:
    """The merchant's campaigns, the newest first, each with its results now (crm)."""
    _, mid = _merchant(p)
    named = await rows.campaigns(portal.pool, mid, LISTED)
    answers = await asyncio.gather(
        *(
            call(portal.services, p.principal, "GET", "crm", f"/v1/campaigns/{r['campaign_id']}")
            for r in named
        )
    )
    return [
        Report(r["campaign_id"], r["name"], dict(a.body))
        for r, a in zip(named, answers, strict=True)
        if a.status == 200
    ]


# --- the catalogue: product families and rates, promotions -----------------------------------


async def merchant(portal: Portal, p: Acting) -> dict[str, Any]:
    """The merchant as cards has it: its name, its own rates (None: the association's)."""
    aid, mid = _merchant(p)
    answer = await call(
        portal.services, p.principal, "GET", "cards", f"/v1/associations/{aid}/merchants/{mid}"
    )
    return dict(ok(answer))


async def put_family(portal: Portal, p: Acting, code: str, body: dict[str, Any]) -> None:
    """A product family made or changed (its code is its key: posted twice, the same)."""
    _, mid = _merchant(p)
    path = f"/v1/merchants/{mid}/families/{code}"
    ok(await call(portal.services, p.principal, "PUT", "cards", path, json=body), 200, 201)


async def delete_family(portal: Portal, p: Acting, code: str) -> None:
    _, mid = _merchant(p)
    path = f"/v1/merchants/{mid}/families/{code}"
    ok(await call(portal.services, p.principal, "DELETE", "cards", path))


async def promotions(portal: Portal, p: Acting) -> tuple[list[Any], list[Any]]:
    """The merchant's own promotions, and the association's network-wide ones (read only),
    the latest first."""
    aid, mid = _merchant(p)
    answer = await call(
        portal.services, p.principal, "GET", "cards", f"/v1/associations/{aid}/promotions"
    )
    found = sorted(ok(answer), key=lambda r: str(r["starts_at"]), reverse=True)
    mine = [r for r in found if r.get("merchant_id") == str(mid)]
    network = [r for r in found if r.get("merchant_id") is None]
    return mine, network


async def put_promotion(
    portal: Portal, p: Acting, promotion_id: UUID, body: dict[str, Any]
) -> None:
    """A promotion made under the form's id (posted twice: the same promotion)."""
    aid, _ = _merchant(p)
    path = f"/v1/associations/{aid}/promotions/{promotion_id}"
    ok(await call(portal.services, p.principal, "PUT", "cards", path, json=body), 200, 201)


async def end_promotion(portal: Portal, p: Acting, promotion_id: UUID) -> None:
    """A promotion of the merchant's withdrawn (again: nothing changes)."""
    aid, _ = _merchant(p)
    mine, _ = await promotions(portal, p)
    if not any(r["id"] == str(promotion_id) for r in mine):
        raise Refused(404, "unknown_promotion")
    path = f"/v1/associations/{aid}/promotions/{promotion_id}"
    ok(await call(portal.services, p.principal, "DELETE", "cards", path))


# --- the customer file --------------------------------------------------------------------------

PAGE = 25


async def _files(portal: Portal, p: Acting, accounts: list[str]) -> list[dict[str, Any]]:
    answers = await asyncio.gather(
        *(call(portal.services, p.principal, "GET", "crm", f"/v1/customers/{a}") for a in accounts)
    )
    return [dict(a.body) for a in answers if a.status == 200]


async def members(
    portal: Portal, p: Acting, after: UUID | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the merchant's file (crm): each customer's file, and the next page's key."""
    _, mid = _merchant(p)
    params = {"limit": str(PAGE)} | ({"after": str(after)} if after else {})
    answer = await call(
        portal.services, p.principal, "GET", "crm", f"/v1/merchants/{mid}/customers", params=params
    )
    body = ok(answer)
    return await _files(portal, p, [str(a) for a in body["accounts"]]), body["next_after"]


def _member_of(file: dict[str, Any], mid: UUID) -> bool:
    return any(m.get("merchant_id") == str(mid) for m in file.get("merchants") or [])


async def find(portal: Portal, p: Acting, name: str) -> list[dict[str, Any]]:
    """The merchant's customers whose name has these words (crm's search, then only those
    of the merchant's file)."""
    aid, mid = _merchant(p)
    answer = await call(
        portal.services,
        p.principal,
        "GET",
        "crm",
        f"/v1/associations/{aid}/customers",
        params={"name": name, "limit": "50"},
    )
    found = [str(c["account_id"]) for c in ok(answer)["customers"]]
    return [f for f in await _files(portal, p, found) if _member_of(f, mid)]


async def customer(portal: Portal, p: Acting, account_id: UUID) -> dict[str, Any]:
    """One customer's file, if they are in the merchant's (crm says 404 otherwise: the file of
    another merchant's customer is not the back office's to read)."""
    _, mid = _merchant(p)
    member = await call(
        portal.services, p.principal, "GET", "crm", f"/v1/merchants/{mid}/customers/{account_id}"
    )
    ok(member)
    file = await call(portal.services, p.principal, "GET", "crm", f"/v1/customers/{account_id}")
    return dict(ok(file))


# The merchant's whole file as a saved segment of crm's (no filter), under an id derived from
# the merchant's: saved again before each export, never a second one.
_FILE_SEGMENT = UUID("6f1d2c4e-9a57-4d0b-8a3e-2c1f0b7d5e90")


def file_segment(p: Acting) -> UUID:
    return uuid.uuid5(_FILE_SEGMENT, f"manage-file:{p.merchant_id}")


async def file_export_path(portal: Portal, p: Acting, fmt: str) -> str:
    """The path of crm's export of the merchant's file (CSV or workbook), its segment saved
    first (crm's segments' exports are of saved segments)."""
    assert fmt in ("csv", "xlsx")
    aid, mid = _merchant(p)
    sid = file_segment(p)
    body = {"name": "Fichier clients (back-office)", "merchant_id": str(mid), "filters": {}}
    path = f"/v1/associations/{aid}/segments/{sid}"
    ok(await call(portal.services, p.principal, "PUT", "crm", path, json=body), 200, 201)
    return f"{path}/customers.{fmt}"


async def save_notes(portal: Portal, p: Acting, account_id: UUID, notes: str) -> None:
    path = f"/v1/customers/{account_id}"
    ok(await call(portal.services, p.principal, "PATCH", "crm", path, json={"notes": notes}))


# --- statements, terminals -------------------------------------------------------------------


async def statement(portal: Portal, p: Acting, period: str) -> dict[str, Any]:
    """The merchant's statement of a month (clearing: closed, or provisional)."""
    _, mid = _merchant(p)
    path = f"/v1/merchants/{mid}/statements/{period}"
    return dict(ok(await call(portal.services, p.principal, "GET", "clearing", path)))


def statement_file(p: Acting, period: str, fmt: str) -> str:
    """The path of a statement's file (clearing's CSV or workbook), to stream on."""
    assert fmt in ("csv", "xlsx")
    _, mid = _merchant(p)
    return f"/v1/merchants/{mid}/statements/{period}.{fmt}"


async def terminals(portal: Portal, p: Acting) -> list[dict[str, Any]]:
    """The merchant's tills (the gateway), by label."""
    aid, mid = _merchant(p)
    answer = await call(
        portal.services,
        p.principal,
        "GET",
        "terminals",
        "/v1/terminals",
        params={"association_id": str(aid), "merchant_id": str(mid)},
    )
    return sorted(ok(answer), key=lambda t: str(t.get("label", "")))
