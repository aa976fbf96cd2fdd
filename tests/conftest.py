from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import aio_pika
import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from shared import clock
from shared.broker import QUEUES
from shared.client import AdminClient, TerminalClient
from tests import harness

if TYPE_CHECKING:
    from tests.messaging import KannelHandle, Mailbox

# tests.webhooks: the webhook receivers (receiver, tls_receiver).
pytest_plugins = ["tests.browser", "tests.chipcards", "tests.messaging", "tests.webhooks"]

SCHEMAS = ("terminals", "cards", "clearing", "crm", "notifications", "portal", "itest")


async def reset_infrastructure() -> None:
    """An empty test database and test vhost: every run starts from nothing."""
    conn = await asyncpg.connect(harness.DATABASE_URL)
    try:
        for s in SCHEMAS:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')
    finally:
        await conn.close()
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for spec in QUEUES.values():
            for name in (spec.name, f"{spec.name}.dead"):
                await channel.queue_delete(name)
        # itest.messages: an earlier suite's stand-in for notifications' queue.
        for name in ("itest.events", "itest.events.dead", "itest.messages"):
            await channel.queue_delete(name)


@pytest_asyncio.fixture(scope="session")
async def clean_infrastructure() -> None:
    await reset_infrastructure()


@pytest_asyncio.fixture(scope="session")
async def services(
    clean_infrastructure: None,
    tmp_path_factory: pytest.TempPathFactory,
    mailbox: Mailbox,
    kannel: KannelHandle,
) -> AsyncIterator[harness.Services]:
    """The five services and the portal, with the messaging servers started before them."""
    logs = tmp_path_factory.mktemp("service-logs")
    procs = harness.Services(logs)
    for name in harness.SERVICES:
        procs.start(name)
    try:
        await procs.wait_ready()
        yield procs
        await procs.usual_clock()  # after the calendar tests: the books at today's date
        await books_are_green()
    finally:
        codes = procs.stop_all()
        print("service exit codes:", codes, "logs in", logs)


# Associations whose cagnotte a test wrote straight into one service's tables, past its API
# (a shortcut to set up a state): the other services never heard of it, so their books cannot
# agree, and the reconciliation after the suite leaves them out, by name.
WRITTEN_BY_HAND: set[uuid.UUID] = set()


async def books_are_green(within: float = 30) -> None:
    """After the last test, the reconciliation of every association is green: whatever the
    tests sent, refused or broke (and put back), no money was lost, doubled or invented. Left
    out: the associations of ``WRITTEN_BY_HAND``, and those only clearing knows, made of
    events the tests of clearing forged as if cards had sent them. The events of the last
    tests may still be on their way: it is run again until green or ``within`` seconds have
    passed, and the last verdict's failing checks are the error."""
    conn = await asyncpg.connect(harness.DATABASE_URL)
    try:
        known = {r["id"] for r in await conn.fetch("SELECT id FROM cards.associations")}
    finally:
        await conn.close()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        admin = AdminClient(http, harness.ADMIN_TOKEN)
        while True:
            r = await admin.call(
                "POST", f"{harness.url('clearing')}/v1/reconciliation", {"settle_seconds": 0}
            )
            assert r.status == 200, r
            failed = [c for c in r.body["checks"] if not c["ok"]]
            red = {uuid.UUID(a) for a in r.body["red_associations"]}
            # A failing check that names no association is the whole instance's.
            unnamed = [c["name"] for c in failed if not c["associations"]]
            wrong = (red & known) - WRITTEN_BY_HAND
            if (not wrong and not unnamed) or loop.time() > deadline:
                break
            await asyncio.sleep(1)
    assert not wrong and not unnamed, f"red after the suite: {sorted(map(str, wrong))} {failed}"


@dataclass
class Calendar:
    """A test's own calendar: the five services and this process on one clock that starts at
    the instant the test chose and runs (``COMPTOIR_CLOCK``), whatever today's date is. The
    portal stays on the usual clock (harness.CALENDAR_SERVICES): a test on a calendar does
    not use it (its scope tokens would be dated on another day than the services' clock)."""

    services: harness.Services
    moved: bool = False

    async def today(self) -> None:
        """The services on their usual clock. The calendar tests run one after the other and
        the services keep the clock of the one before until a test moves it: a test that
        acts before its first ``move_to`` starts with this."""
        await self.services.usual_clock()

    async def move_to(self, at: datetime, env: dict[str, str] | None = None) -> None:
        """Restart the services with their clock at ``at`` (and ``env``, e.g. crm's daily jobs
        on) and set this process's clock (which signs the terminals' requests) to the same
        instant as they start. The services' clocks are anchored to this one's start
        (``clock.anchored``): each process loads a few seconds after the one before under
        load, and unanchored each would start the calendar then, so two services' instants
        of the same moment would differ by those seconds."""
        self.moved = True
        extra = dict(env or {})

        def start_clocks() -> None:  # once the old processes are gone, before the new start
            clock.install(clock.StartedClock(at))
            extra[clock.ENV] = clock.anchored(at)

        await self.services.move_clock(extra, start_clocks)

    async def move_shortly_before(self, at: datetime, env: dict[str, str] | None = None) -> None:
        """``move_to`` a little before ``at``: the services are to be ready before ``at``, so
        that the test sees them act at ``at`` and not before. The margin follows this machine's
        last restart (half as long again, plus 2 s) rather than 10 s, waited out after the
        restart on a machine that restarts them in 3; never more than 10 s (the margin these
        tests had), nor when no restart was timed yet."""
        last = self.services.last_start_s
        margin = 10.0 if last is None else min(10.0, 2.0 + 1.5 * last)
        await self.move_to(at - timedelta(seconds=margin), env)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests on a calendar of their own run last, one after the other (a stable sort:
    otherwise in their usual order): each moves the services' clock, which restarts them,
    and run together none has to give the services their usual clock back for the next."""
    items.sort(key=_calendar_order)


def _calendar_order(item: pytest.Item) -> int:
    """0 without a calendar; 1 for a calendar test that starts on the usual clock
    (``calendar.today()``, marked ``from_today``): run first of the calendar tests, the
    first of them finds the services on it still, and needs no restart; 2 for the others."""
    if "calendar" not in getattr(item, "fixturenames", ()):
        return 0
    return 1 if item.get_closest_marker("from_today") else 2


@pytest_asyncio.fixture
async def calendar(services: harness.Services) -> AsyncIterator[Calendar]:
    """Gives this process its usual clock back after the test; the services get theirs
    back (a restart) only before a test without a calendar needs them (``usual_clock``)."""
    previous = clock.current()
    cal = Calendar(services)
    try:
        yield cal
    finally:
        if cal.moved:
            clock.install(previous)


@pytest_asyncio.fixture(autouse=True)
async def usual_clock(request: pytest.FixtureRequest) -> None:
    """A test that uses the services without a calendar of its own finds them on their usual
    clock: restarted if a test before moved it."""
    if "services" in request.fixturenames and "calendar" not in request.fixturenames:
        services: harness.Services = request.getfixturevalue("services")
        await services.usual_clock()


@pytest_asyncio.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
        yield s


@pytest_asyncio.fixture
async def db(clean_infrastructure: None) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(harness.DATABASE_URL)
    yield conn
    await conn.close()


@dataclass
class Network:
    association_id: uuid.UUID
    merchants: list[uuid.UUID]
    terminals: list[TerminalClient]
    admin: AdminClient


NetworkFactory = Callable[..., Awaitable[Network]]
# Before any date a test books (shared/rules/dates.py refuses what is dated before it).
BOOKS_START = "2020-01-01"


@pytest.fixture
def make_network(services: harness.Services, http: aiohttp.ClientSession) -> NetworkFactory:
    """A fresh association per test, so tests never see each other's money."""

    async def make(
        merchants: int = 2,
        rate_mode: str = "merchant",
        taux_client_bps: int = 300,
        taux_uc_bps: int = 50,
        merchant_rates: list[int | None] | None = None,
    ) -> Network:
        admin = AdminClient(http, harness.ADMIN_TOKEN)
        aid = uuid.uuid4()
        r = await admin.call(
            "PUT",
            f"{harness.url('cards')}/v1/associations/{aid}",
            {
                "name": f"test {aid}",
                "rate_mode": rate_mode,
                "taux_client_bps": taux_client_bps,
                "taux_uc_bps": taux_uc_bps,
                # Tests book sales months back to close those months: books opened before.
                "books_start": BOOKS_START,
            },
        )
        assert r.status == 201, r
        mids, terms = [], []
        for i in range(merchants):
            mid, tid = uuid.uuid4(), uuid.uuid4()
            rate = (merchant_rates or [None] * merchants)[i]
            r = await admin.call(
                "PUT",
                f"{harness.url('cards')}/v1/associations/{aid}/merchants/{mid}",
                {"name": f"merchant {i}", "taux_client_bps": rate},
            )
            assert r.status == 201, r
            secret = secrets.token_hex(24)
            r = await admin.call(
                "PUT",
                f"{harness.url('terminals')}/v1/terminals/{tid}",
                {
                    "association_id": str(aid),
                    "merchant_id": str(mid),
                    "shop_id": str(mid),
                    "label": f"till {i}",
                    "secret": secret,
                },
            )
            assert r.status == 201, r
            mids.append(mid)
            terms.append(TerminalClient(http, harness.url("terminals"), str(tid), secret))
        return Network(aid, mids, terms, admin)

    return make


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 30, what: str = "condition"
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
