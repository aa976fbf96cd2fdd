"""The gateway's back-office routes in the authorisation matrix: a terminal is its merchant's
(the manager, or the association's admin); the lists are the operator's unless filtered by
association (the admin) or merchant (the manager); the GDPR gathering route is internal. The
front desk's bookings (issue 15, CARD) are the merchant's staff's and manager's."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import aiohttp

from shared.access import Need
from shared.client import AdminClient
from tests import harness
from tests.authz.matrix import (
    Request,
    Row,
    Target,
    World,
    association_only,
    merchant_only,
    no_association,
)
from tests.people import new_email


def _body(t: Target, label: str = "matrix till") -> dict[str, Any]:
    return {
        "association_id": str(t.association_id),
        "merchant_id": str(t.merchant_id),
        "shop_id": str(t.merchant_id),
        "label": label,
    }


async def prepare(world: World, http: aiohttp.ClientSession) -> None:
    """A terminal in each target, and one that the rows try to move into the own merchant."""
    admin = AdminClient(http, harness.ADMIN_TOKEN)
    for t in world.targets:
        for name in ("terminal", "terminal_moved"):
            tid = str(uuid.uuid4())
            r = await admin.call(
                "PUT",
                f"{harness.url('terminals')}/v1/terminals/{tid}",
                {**_body(t, name), "secret": secrets.token_hex(24)},
            )
            assert r.status == 201, r
            t.ids[name] = tid
        # A desk sale in each target (an e-mail nobody holds: refused, but answered), so that
        # the rows read one answer that exists.
        sale = str(uuid.uuid4())
        r = await admin.call(
            "POST",
            f"{harness.url('terminals')}/v1/merchants/{t.merchant_id}/desk/sales",
            _desk_body("sale", sale),
        )
        assert r.status == 422, r
        t.ids["desk_sale"] = sale
        t.ids["own_association"] = str(world.own.association_id)
        t.ids["own_merchant"] = str(world.own.merchant_id)


def _desk_body(kind: str, request_id: str) -> dict[str, Any]:
    """A desk request no one is hurt by: a customer by an e-mail nobody holds (refused), a
    return of a sale that does not exist (refused), an enrolment by a new e-mail."""
    nobody = {"email": new_email()}
    if kind == "sale":
        return {"sale_id": request_id, "customer": nobody, "amount_cents": 1250}
    if kind == "redemption":
        return {"redemption_id": request_id, "customer": nobody, "amount_cents": 100}
    if kind == "return":
        return {
            "return_id": request_id,
            "sale_id": str(uuid.uuid4()),
            "amount_cents": 100,
            "reason": "returned",
        }
    return {"enrolment_id": request_id, "email": new_email()}


def _desk(kind: str) -> list[Row]:
    path = f"/v1/merchants/{{merchant_id}}/desk/{kind}s"

    def post(t: Target) -> Request:
        return Request(
            f"/v1/merchants/{t.merchant_id}/desk/{kind}s", _desk_body(kind, str(uuid.uuid4()))
        )

    def get(t: Target) -> Request:
        known = t.ids["desk_sale"] if kind == "sale" else str(uuid.uuid4())
        return Request(f"/v1/merchants/{t.merchant_id}/desk/{kind}s/{known}")

    return [
        Row("POST", path, Need.STAFF, post, scope=merchant_only),
        Row("GET", path + "/{request_id}", Need.STAFF, get, scope=merchant_only),
    ]


def _filtered(t: Target, merchant: bool) -> dict[str, str]:
    q = {"association_id": str(t.association_id)}
    if merchant:
        q["merchant_id"] = str(t.merchant_id)
    return q


def _moved(t: Target) -> Request:
    """The target's terminal claimed for the own merchant: the target's scope is needed too."""
    body = {
        **_body(t),
        "association_id": t.ids["own_association"],
        "merchant_id": t.ids["own_merchant"],
        "shop_id": t.ids["own_merchant"],
    }
    return Request(f"/v1/terminals/{t.ids['terminal_moved']}", body)


def _lists(path: str) -> list[Row]:
    return [
        Row("GET", path, Need.OPERATOR, lambda t: Request(path), scope=no_association),
        Row(
            "GET",
            path,
            Need.ASSOCIATION,
            lambda t: Request(path, query=_filtered(t, False)),
            scope=association_only,
            variant="association",
        ),
        Row(
            "GET",
            path,
            Need.MANAGER,
            lambda t: Request(path, query=_filtered(t, True)),
            scope=merchant_only,
            variant="merchant",
        ),
    ]


ROWS: list[Row] = [
    Row(
        "PUT",
        "/v1/terminals/{terminal_id}",
        Need.MANAGER,
        lambda t: Request(f"/v1/terminals/{t.ids['terminal']}", _body(t)),
        scope=merchant_only,
    ),
    Row(
        "PUT",
        "/v1/terminals/{terminal_id}",
        Need.MANAGER,
        lambda t: Request(f"/v1/terminals/{uuid.uuid4()}", _body(t)),
        scope=merchant_only,
        variant="new",
    ),
    Row(
        "PUT",
        "/v1/terminals/{terminal_id}",
        Need.MANAGER,
        _moved,
        scope=merchant_only,
        variant="moved to the own merchant",
    ),
    *_lists("/v1/terminals"),
    Row(
        "GET",
        "/v1/terminals/{terminal_id}/sync",
        Need.MANAGER,
        lambda t: Request(f"/v1/terminals/{t.ids['terminal']}/sync"),
        scope=merchant_only,
    ),
    *_lists("/v1/sync/registry"),
    Row(
        "GET",
        "/v1/people/{account_id}/enrolments",
        Need.OPERATOR,
        lambda t: Request(f"/v1/people/{t.account_id}/enrolments"),
        scope=no_association,
    ),
    *(row for kind in ("sale", "redemption", "return", "enrolment") for row in _desk(kind)),
]
