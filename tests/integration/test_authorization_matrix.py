"""The authorisation matrix (issue 15, build item 2): every back-office route of the five
services × every role × its own data, another merchant's and another association's, called on
the running services with a scope token; each call is let through or refused exactly as
shared/access.allows says. A route of a service's OpenAPI document missing from the table
fails the test (tests/authz/)."""

from __future__ import annotations

import asyncio
import importlib
from types import ModuleType
from typing import Any
from uuid import UUID

import aiohttp
import orjson
import pytest

from shared.access import Principal, allows, dev_token
from tests import harness
from tests.authz.matrix import Row, Target, World, principals
from tests.conftest import NetworkFactory
from tests.people import new_email, new_phone

SERVICES = ("terminals", "cards", "clearing", "crm", "notifications")
pytestmark = pytest.mark.timeout(600)


def table(service: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"tests.authz.{service}")
    except ModuleNotFoundError:
        return None


def rows(service: str) -> list[Row]:
    module = table(service)
    return list(getattr(module, "ROWS", [])) if module else []


async def back_office_operations(http: aiohttp.ClientSession, service: str) -> set[tuple[str, str]]:
    async with http.get(harness.url(service) + "/openapi.json") as r:
        assert r.status == 200
        doc = await r.json()
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if op.get("security")
    }


@pytest.mark.parametrize("service", SERVICES)
async def test_every_back_office_route_is_in_the_table(
    services: harness.Services, http: aiohttp.ClientSession, service: str
) -> None:
    documented = await back_office_operations(http, service)
    listed = [(r.method, r.path) for r in rows(service)]
    assert len(listed) == len(set(listed)), "a route is listed twice"
    missing = sorted(documented - set(listed))
    unknown = sorted(set(listed) - documented)
    assert not missing, f"{service}: routes missing from tests/authz/{service}.py: {missing}"
    assert not unknown, f"{service}: rows for routes that do not exist: {unknown}"


async def _account(net: Any, till: int) -> str:
    r = await net.terminals[till].enrol(new_phone(), email=new_email())
    assert r.status == 201, r
    return str(r.body["account_id"])


@pytest.fixture
async def world(make_network: NetworkFactory, http: aiohttp.ClientSession) -> World:
    a = await make_network(merchants=2)
    b = await make_network(merchants=1)
    x, x2, y = await asyncio.gather(_account(a, 0), _account(a, 1), _account(b, 0))
    return World(
        own=Target("own", a.association_id, a.merchants[0], UUID(x)),
        other_merchant=Target("other_merchant", a.association_id, a.merchants[1], UUID(x2)),
        other_association=Target("other_association", b.association_id, b.merchants[0], UUID(y)),
        networks={"own": a, "other_association": b},
    )


async def _call(
    http: aiohttp.ClientSession, service: str, row: Row, target: Target, p: Principal
) -> tuple[int, str | None]:
    req = row.request(target)
    data = None if req.body is None else orjson.dumps(req.body)
    headers = {"Authorization": f"Bearer {dev_token(p)}", "Content-Type": "application/json"}
    async with http.request(
        row.method, harness.url(service) + req.path, data=data, params=req.query, headers=headers
    ) as r:
        raw = await r.read()
        reason = None
        if r.content_type == "application/problem+json":
            reason = orjson.loads(raw).get("reason")
        return r.status, reason


@pytest.mark.parametrize("service", SERVICES)
async def test_each_role_reaches_its_scope_and_nothing_else(
    services: harness.Services, http: aiohttp.ClientSession, world: World, service: str
) -> None:
    module = table(service)
    if module is None or not rows(service):
        pytest.fail(f"tests/authz/{service}.py has no rows")
    prepare = getattr(module, "prepare", None)
    if prepare is not None:
        await prepare(world, http)
    wrong: list[str] = []
    everyone = principals(world)
    for row in rows(service):
        for target in world.targets:
            a, m, x = row.expected_scope(target)
            verdicts = [(p, allows(p, row.need, a, m, x)) for p in everyone]
            # The refusals first: a route let through may delete the target's resource.
            for p, allowed in sorted(verdicts, key=lambda v: v[1]):
                status, reason = await _call(http, service, row, target, p)
                refused = status == 403 and reason == "out_of_scope"
                ok = (status not in (401, 403) and status < 500) if allowed else refused
                if not ok:
                    wrong.append(
                        f"{row.method} {row.path} [{row.need.value}] as {p.role} on "
                        f"{target.label}: {status} {reason} "
                        f"(expected {'through' if allowed else 'out_of_scope'})"
                    )
    assert not wrong, f"{len(wrong)} wrong answers:\n" + "\n".join(wrong)
