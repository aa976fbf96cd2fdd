"""The sign-in limit per client address behind a reverse proxy (docs/access.md): the tests'
portal trusts a proxy at 127.0.0.2 (harness.TRUSTED_PROXY). Its requests are counted against
the client its X-Forwarded-For names, so one client's failures do not lock out every other
client behind the same proxy; a client that is not the proxy cannot dodge its own limit by
writing the header. Each test speaks from a loopback address of its own, so that its
failures do not count against the suite's 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from tests import harness
from tests.portal import Browser

pytestmark = pytest.mark.timeout(180)
# COMPTOIR_LOGIN_MAX_PER_ADDRESS's default: failed sign-ins an address may make in the window
PER_ADDRESS = 30


@pytest_asyncio.fixture
async def from_address() -> AsyncIterator[object]:
    sessions: list[aiohttp.ClientSession] = []

    def open_from(local: str) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(local, 0)))
        sessions.append(session)
        return session

    yield open_from
    for s in sessions:
        await s.close()


async def _fail(browser: Browser, forwarded: str) -> int:
    """One failed sign-in of an unknown e-mail (each a new one: the per-account limit never
    trips), its status."""
    page = await browser.request(
        "POST",
        "/sign-in",
        {
            "email": f"nobody-{uuid.uuid4().hex[:8]}@example.org",
            "password": "wrong",
            "csrf": browser.csrf,
        },
        headers={"X-Forwarded-For": forwarded},
    )
    return page.status


async def test_behind_the_trusted_proxy_each_client_has_its_own_limit(
    services: harness.Services, from_address: object
) -> None:
    proxy = Browser(from_address(harness.TRUSTED_PROXY))  # type: ignore[operator]
    await proxy.get("/sign-in")
    statuses = [await _fail(proxy, "203.0.113.7") for _ in range(PER_ADDRESS)]
    assert statuses == [401] * PER_ADDRESS
    assert await _fail(proxy, "203.0.113.7") == 429  # that client, held
    assert await _fail(proxy, "203.0.113.8") == 401  # another client behind the same proxy
    # what the client wrote before the proxy's own hop is not believed
    assert await _fail(proxy, "198.51.100.1, 203.0.113.7") == 429


async def test_a_client_that_is_not_the_proxy_cannot_dodge_its_limit_with_the_header(
    services: harness.Services, from_address: object
) -> None:
    client = Browser(from_address("127.0.0.3"))  # type: ignore[operator]
    await client.get("/sign-in")
    statuses = [await _fail(client, f"203.0.113.{i}") for i in range(PER_ADDRESS)]
    assert statuses == [401] * PER_ADDRESS
    assert await _fail(client, "192.0.2.99") == 429
