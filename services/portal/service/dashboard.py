"""The dashboard's use cases (issue 15, item 3): a merchant's manager reads their merchant's
statistics, an association's administrator their association's or one of its merchants'. Each
is a call to crm (`GET /v1/statistics`, its CSV and XLSX exports) with the person's own scope
token: crm decides what the person reaches, and a refusal comes back as ``Refused``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import aiohttp

from services.portal.adapters.services import Answer, Services
from services.portal.domain.dashboard import Period
from services.portal.service.calls import Refused, call, ok, refused
from shared.access import Principal

# A merchant's manager (their merchant) and an association's administrator (their network).
DASHBOARD_ROLES = ("manager", "association_admin")
# crm's exports (docs/statistics.md, "Exports"), in the page's order.
EXPORTS = (
    "sales",
    "rewards",
    "customers",
    "inactive",
    "enrolments",
    "consents",
    "sponsorship",
    "sponsored",
)
Format = Literal["csv", "xlsx"]


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose figures: a merchant's, or (None) the person's association's."""

    association_id: UUID
    merchant_id: UUID | None

    def query(self, period: Period) -> dict[str, str]:
        q = {"from": period.start.isoformat(), "to": period.end.isoformat()}
        if self.merchant_id is not None:
            q["merchant_id"] = str(self.merchant_id)
        else:
            q["association_id"] = str(self.association_id)
        return q


def scope_of(p: Principal, merchant_id: UUID | None) -> Scope:
    """The scope a person asks: a manager their merchant unless the form names another (crm
    refuses it); an administrator the association, or the merchant they chose."""
    assert p.association_id is not None, "a dashboard's person belongs to an association"
    if p.role == "manager" and merchant_id is None:
        merchant_id = p.merchant_id
    return Scope(p.association_id, merchant_id)


async def statistics(
    services: Services, p: Principal, scope: Scope, period: Period
) -> dict[str, Any]:
    """crm's answer for the scope and the period, with the previous period's."""
    path = "/v1/statistics"
    return dict(ok(await call(services, p, "GET", "crm", path, params=scope.query(period))))


async def merchants(services: Services, p: Principal) -> list[dict[str, Any]]:
    """The association's merchants, for an administrator to choose one (cards); none when
    cards does not answer: the association's own figures still show."""
    answer = await call(
        services, p, "GET", "cards", f"/v1/associations/{p.association_id}/merchants"
    )
    if answer.status != 200:
        return []
    body = answer.body
    items = body.get("merchants", []) if isinstance(body, dict) else body
    return sorted(items, key=lambda m: str(m.get("name", "")))


async def names(services: Services, p: Principal, accounts: list[str]) -> dict[str, str]:
    """The best customers' names where the person may read their files, in one call to crm
    (with the person's token); none when crm refuses or does not answer."""
    if not accounts:
        return {}
    try:
        answer = await services.call(
            p,
            "POST",
            "crm",
            f"/v1/associations/{p.association_id}/customers/names",
            json={"account_ids": accounts[:50]},
        )
    except (aiohttp.ClientError, TimeoutError):
        return {}
    if answer.status != 200 or not isinstance(answer.body, dict):
        return {}
    found = {}
    for c in answer.body.get("customers", []):
        name = " ".join(str(c.get(k) or "") for k in ("first_name", "last_name")).strip()
        if name:
            found[str(c["account_id"])] = name
    return found


@asynccontextmanager
async def export(
    services: Services, p: Principal, scope: Scope, period: Period, name: str, fmt: Format
) -> AsyncIterator[aiohttp.ClientResponse]:
    """crm's file of one figure's detail lines, open to be streamed on; Refused otherwise."""
    assert name in EXPORTS and fmt in ("csv", "xlsx")
    try:
        async with services.download(
            p, "crm", f"/v1/statistics/{name}.{fmt}", scope.query(period)
        ) as r:
            if r.status != 200:
                body = await r.json(content_type=None) if r.content_length != 0 else None
                raise refused(Answer(r.status, body))
            yield r
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Refused(503, "unreachable", "crm") from exc
