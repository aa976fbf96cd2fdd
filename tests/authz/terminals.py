"""The gateway's back-office routes in the authorisation matrix: a terminal is its merchant's
(the manager, or the association's admin); the lists are the operator's unless filtered by
association (the admin) or merchant (the manager); the GDPR gathering route is internal."""

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
        t.ids["own_association"] = str(world.own.association_id)
        t.ids["own_merchant"] = str(world.own.merchant_id)


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
]
