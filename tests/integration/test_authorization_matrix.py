"""The authorisation matrix (issue 15, build item 2): every back-office route of the five
services × every role × its own data, another merchant's and another association's, called on
the running services with a scope token; each call is let through or refused exactly as
shared/access.allows says. A route of a service's OpenAPI document missing from the table
fails the test (tests/authz/)."""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from uuid import UUID

import aiohttp
import orjson
import pytest

from shared.access import Principal, dev_token
from tests import harness
from tests.authz.matrix import Row, Target, World, principals
from tests.conftest import NetworkFactory
from tests.messaging import Mailbox
from tests.people import new_email, new_phone

# The portal takes no scope token: it is called from signed-in sessions (tests/authz/portal.py).
SERVICES = ("terminals", "cards", "clearing", "crm", "notifications", "portal")
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
        if {"admin": []} in op.get("security", [])  # the scope token's, not another bearer
    }


@pytest.mark.parametrize("service", SERVICES)
async def test_every_back_office_route_is_in_the_table(
    services: harness.Services, http: aiohttp.ClientSession, service: str
) -> None:
    documented = await back_office_operations(http, service)
    variants = [(r.method, r.path, r.variant) for r in rows(service)]
    assert len(variants) == len(set(variants)), "a route is listed twice (give it a variant)"
    listed = [(r.method, r.path) for r in rows(service)]
    missing = sorted(documented - set(listed))
    unknown = sorted(set(listed) - documented)
    assert not missing, f"{service}: routes missing from tests/authz/{service}.py: {missing}"
    assert not unknown, f"{service}: rows for routes that do not exist: {unknown}"


async def _account(net: Any, till: int) -> tuple[str, str]:
    email = new_email()
    r = await net.terminals[till].enrol(new_phone(), email=email)
    assert r.status == 201, r
    return str(r.body["account_id"]), email


@pytest.fixture
async def world(make_network: NetworkFactory, http: aiohttp.ClientSession) -> World:
    a = await make_network(merchants=2)
    b = await make_network(merchants=1)
    (x, email), (x2, _), (y, _) = await asyncio.gather(
        _account(a, 0), _account(a, 1), _account(b, 0)
    )
    return World(
        own=Target("own", a.association_id, a.merchants[0], UUID(x), {"email": email}),
        other_merchant=Target("other_merchant", a.association_id, a.merchants[1], UUID(x2)),
        other_association=Target("other_association", b.association_id, b.merchants[0], UUID(y)),
        networks={"own": a, "other_association": b},
    )


# Sequences (a row in a target) under way at once: the services are five processes on two
# cores, and more only queue there. COMPTOIR_MATRIX_CONCURRENCY=1: one at a time (a row that
# fails only when run beside others depends on another row's doing).
CONCURRENCY = int(os.environ.get("COMPTOIR_MATRIX_CONCURRENCY", "6"))
# COMPTOIR_MATRIX_SHOW=1 (with -s): every answer let through, to see that a row's allowed calls
# reach the route's work (a 200), not only its checks (a 404 or 422 is let through too).
SHOW = os.environ.get("COMPTOIR_MATRIX_SHOW") == "1"
# A token per principal, issued again when it has lived this long (they live 300 s).
TOKEN_REUSE_S = 120.0


class Tokens:
    """The principals' credentials as headers: their scope tokens, signed once and reused
    while young; for the portal, the signed-in sessions ``sessions`` made."""

    def __init__(self, sessions: dict[Principal, dict[str, str]] | None = None) -> None:
        self._held: dict[Principal, tuple[float, str]] = {}
        self._sessions = sessions

    def __call__(self, p: Principal) -> dict[str, str]:
        if self._sessions is not None:
            return self._sessions[p]
        now = time.monotonic()
        held = self._held.get(p)
        if held is None or now - held[0] > TOKEN_REUSE_S:
            held = self._held[p] = (now, dev_token(p))
        return {"Authorization": f"Bearer {held[1]}"}


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str | None
    detail: str | None


async def _call(
    http: aiohttp.ClientSession, service: str, row: Row, target: Target, auth: dict[str, str]
) -> Answer:
    req = row.request(target)
    data = None if req.body is None else orjson.dumps(req.body)
    headers = {**auth, "Content-Type": "application/json"}
    async with http.request(
        row.method, harness.url(service) + req.path, data=data, params=req.query, headers=headers
    ) as r:
        raw = await r.read()
        if r.content_type != "application/problem+json":
            return Answer(r.status, None, None)
        problem = orjson.loads(raw)
        return Answer(r.status, problem.get("reason"), problem.get("detail"))


def _verdict(row: Row, target: Target, p: Principal, allowed: bool, a: Answer) -> str | None:
    """None when the answer is the expected one; else the line that says what went wrong."""
    refused = a.status == 403 and a.reason == "out_of_scope"
    if (a.status not in (401, 403) and a.status < 500) if allowed else refused:
        return None
    expected = "through" if allowed else "out_of_scope"
    return (
        f"{row.label} [{row.need.value}] as {p.role} on {target.label}: {a.status} "
        f"{a.reason} (expected {expected}){': ' + a.detail if a.detail else ''}"
    )


async def _sequence(
    http: aiohttp.ClientSession,
    service: str,
    row: Row,
    target: Target,
    everyone: list[Principal],
    tokens: Tokens,
) -> list[str]:
    """The row in the target: the refusals at once, then those let through one by one
    (operator last: a route that deletes leaves the others something to act on)."""
    refused = [p for p in everyone if not row.lets_through(p, target)]
    allowed = sorted(
        (p for p in everyone if row.lets_through(p, target)), key=lambda p: p.is_operator
    )
    answers = await asyncio.gather(*(_call(http, service, row, target, tokens(p)) for p in refused))
    wrong = [_verdict(row, target, p, False, ans) for p, ans in zip(refused, answers, strict=True)]
    for p in allowed:
        answer = await _call(http, service, row, target, tokens(p))
        wrong.append(_verdict(row, target, p, True, answer))
        if SHOW:
            print(f"  {row.label} as {p.role} on {target.label}: {answer.status} {answer.reason}")
    return [w for w in wrong if w is not None]


async def _run(
    http: aiohttp.ClientSession, service: str, table_rows: list[Row], world: World, tokens: Tokens
) -> list[str]:
    everyone = principals(world)
    gate = asyncio.BoundedSemaphore(CONCURRENCY)

    async def one(row: Row, target: Target) -> list[str]:
        async with gate:
            return await _sequence(http, service, row, target, everyone, tokens)

    wrong: list[str] = []
    for batch in ([r for r in table_rows if not r.last], [r for r in table_rows if r.last]):
        found = await asyncio.gather(*(one(r, t) for r in batch for t in world.targets))
        wrong += [w for ws in found for w in ws]
    return wrong


@pytest.mark.parametrize("service", SERVICES)
async def test_each_role_reaches_its_scope_and_nothing_else(
    services: harness.Services,
    http: aiohttp.ClientSession,
    mailbox: Mailbox,
    world: World,
    service: str,
) -> None:
    module = table(service)
    if module is None or not rows(service):
        pytest.fail(f"tests/authz/{service}.py has no rows")
    prepare = getattr(module, "prepare", None)
    started = time.monotonic()
    if prepare is not None:
        await prepare(world, http)
    sessions = getattr(module, "sessions", None)
    tokens = Tokens(None if sessions is None else await sessions(world, http, mailbox))
    prepared = time.monotonic()
    wrong = await _run(http, service, rows(service), world, tokens)
    calls = len(rows(service)) * len(world.targets) * len(principals(world))
    print(
        f"matrix {service}: {len(rows(service))} rows, {calls} calls in "
        f"{time.monotonic() - prepared:.1f} s (prepared in {prepared - started:.1f} s)"
    )
    assert not wrong, f"{len(wrong)} wrong answers:\n" + "\n".join(sorted(wrong))
