"""Real processes for end-to-end and fault tests: the five services and the portal, each
`python -m`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from shared import db

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("terminals", "cards", "clearing", "crm", "notifications", "portal")
# The services a test's calendar moves (conftest's Calendar): not the portal, which no
# calendar test uses (nothing calls it, it hears no event) and whose start would add a
# sixth of each move's time; it stays on the usual clock.
CALENDAR_SERVICES = tuple(s for s in SERVICES if s != "portal")
# Each one's port above the base: +5 and +6 are the spare ports some tests take (a receiver,
# a second crm), the sync line is +10.
OFFSETS = {"terminals": 0, "cards": 1, "clearing": 2, "crm": 3, "notifications": 4, "portal": 8}
# Another base lets two suites run side by side (each with its own database and vhost too).
BASE_PORT = int(os.environ.get("COMPTOIR_TEST_PORT_BASE", "18080"))
ADMIN_TOKEN = "test-admin-token"
DATE_WINDOW_DAYS = 1000
DATABASE_URL = os.environ.get(
    "COMPTOIR_DATABASE_URL", "postgresql://comptoir:comptoir@127.0.0.1:5432/comptoir_test"
)
AMQP_URL = os.environ.get("COMPTOIR_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/comptoir_test")
# How long the services may take to be ready: on a loaded 2-core machine five services migrating
# at once took over 30 s; a service that exits is reported at once, whatever the timeout.
READY_TIMEOUT_S = float(os.environ.get("COMPTOIR_TEST_READY_TIMEOUT_S", "120"))


# Each service connects with its own role, as in production (deploy/postgres/service-roles.sql,
# created by deploy/ensure-infra.sh); COMPTOIR_TEST_DB_ROLES=0: all with DATABASE_URL's owner.
DB_ROLES = os.environ.get("COMPTOIR_TEST_DB_ROLES", "1") != "0"


def service_database_url(service: str) -> str:
    return db.service_role_url(DATABASE_URL, service) if DB_ROLES else DATABASE_URL


def port(service: str) -> int:
    return BASE_PORT + OFFSETS[service]


def line_port() -> int:
    """The gateway's sync line (raw TCP, modem-style framing)."""
    return BASE_PORT + 10


def smtp_port() -> int:
    """The in-process SMTP server of the tests (tests/messaging.py)."""
    return BASE_PORT + 20


def kannel_base() -> int:
    """Kannel's five ports from here (deploy/messaging.py's Ports.from_base)."""
    return BASE_PORT + 21


# How long the portal's kiosk shows a card (COMPTOIR_KIOSK_SHOWN_S, 20 s in production): the
# kiosk's browser test waits it out once; 8 s still leaves a loaded machine time to check the
# card's page (axe-core, a screenshot) and press Terminé before it clears itself.
KIOSK_SHOWN_S = 8
# crm's campaign job's pass in the tests (COMPTOIR_CAMPAIGN_POLL_S, 5 s in production): a
# test that checks a campaign did not go waits a few of these passes.
CAMPAIGN_POLL_S = 0.5
# notifications' first retry of a webhook (COMPTOIR_WEBHOOK_FIRST_RETRY_S, 5 s in production).
WEBHOOK_FIRST_RETRY_S = 2
SMS_CALLBACK_TOKEN = "test-sms-token"
TRUSTED_PROXY = "127.0.0.2"


def url(service: str) -> str:
    return f"http://127.0.0.1:{port(service)}"


async def metric_total(
    http: aiohttp.ClientSession, base_url: str, name: str, **labels: str | tuple[str, ...]
) -> float:
    """The sum of a Prometheus counter's samples at ``base_url``/metrics whose labels match
    (a value, or any of a tuple of values)."""
    async with http.get(base_url + "/metrics") as r:
        text = await r.text()
    wanted = {k: (v,) if isinstance(v, str) else v for k, v in labels.items()}
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) in v for k, v in wanted.items())
    )


async def requests_served(
    http: aiohttp.ClientSession, service: str, method: str, route: str
) -> float:
    """The requests a service answered so far on a route (every status): how many calls a
    page made, read around it."""
    return await metric_total(
        http, url(service), "comptoir_http_requests_total", method=method, route=route
    )


@dataclass
class Services:
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Started on a test's calendar (conftest's Calendar, move_clock) and not yet put back on
    # the usual clock (usual_clock).
    clock_moved: bool = False
    # How long the last restart took from its processes' start to all ready (seconds): what a
    # test that must find them ready before an instant allows for (Calendar.move_shortly_before).
    last_start_s: float | None = None

    def env(self, service: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "COMPTOIR_PORT": str(port(service)),
            "COMPTOIR_DATABASE_URL": service_database_url(service),
            "COMPTOIR_AMQP_URL": AMQP_URL,
            "COMPTOIR_ADMIN_TOKEN": ADMIN_TOKEN,
            # The development card and terminal keys: refused outside development.
            "COMPTOIR_ENV": "development",
            "COMPTOIR_LOG_LEVEL": "INFO",
            "COMPTOIR_OUTCOME_TIMEOUT_S": "3",
            "COMPTOIR_SYNC_LINE_PORT": str(line_port()),
            "COMPTOIR_CARDS_URL": f"http://127.0.0.1:{port('cards')}",
            "COMPTOIR_TERMINALS_URL": f"http://127.0.0.1:{port('terminals')}",
            "COMPTOIR_CLEARING_URL": f"http://127.0.0.1:{port('clearing')}",
            "COMPTOIR_CRM_URL": f"http://127.0.0.1:{port('crm')}",
            "COMPTOIR_NOTIFICATIONS_URL": f"http://127.0.0.1:{port('notifications')}",
            # The portal's links (a password's) point at the portal.
            "COMPTOIR_PORTAL_URL": f"http://127.0.0.1:{port('portal')}",
            # a reverse proxy of the tests (test_portal_behind_a_proxy): its requests leave
            # from this loopback address
            "COMPTOIR_PORTAL_TRUSTED_PROXIES": TRUSTED_PROXY,
            "COMPTOIR_KIOSK_SHOWN_S": str(KIOSK_SHOWN_S),
            # crm's signed links point at crm itself (its public routes).
            "COMPTOIR_PUBLIC_URL": f"http://127.0.0.1:{port('crm')}",
            # crm's retention purge is run by its own test, on a day and a term it chooses: a
            # suite that moves the services' clock would otherwise erase other tests' customers.
            "COMPTOIR_RETENTION_DAYS": "0",
            # Likewise crm's daily triggers: their tests run the days they choose (the API's
            # POST /v1/triggers/{id}/days/{day}), not the days the services' clocks show.
            "COMPTOIR_DAILY_CHECK_S": "0",
            # The tests close periods and reconcile through the API, when they choose.
            "COMPTOIR_CLOSE_AFTER_HOURS": "0",
            "COMPTOIR_RECONCILE_EVERY_S": "0",
            # Dates within reason: the suite books sales months back to close those months, so
            # its window is wider than the 45 days of production (DATE_WINDOW_DAYS);
            # tests/integration/test_dates_within_reason.py goes beyond it.
            "COMPTOIR_DATE_MAX_AGE_DAYS": str(DATE_WINDOW_DAYS),
            # The messaging servers of the suite (tests/messaging.py): aiosmtpd in the tests'
            # process, Kannel with its fake operator.
            "COMPTOIR_SMTP_PORT": str(smtp_port()),
            "COMPTOIR_SMS_SENDSMS_URL": f"http://127.0.0.1:{kannel_base() + 4}/cgi-bin/sendsms",
            "COMPTOIR_SMS_CALLBACK_TOKEN": SMS_CALLBACK_TOKEN,
            "COMPTOIR_SEND_POLL_S": "0.2",
            # crm's campaign job looks for campaigns to send every 5 s in production; a test
            # that sends one would wait for it
            "COMPTOIR_CAMPAIGN_POLL_S": str(CAMPAIGN_POLL_S),
            "COMPTOIR_SEND_RETRY_S": "0.5",
            # A sender killed holding claims: another takes them after this (tests wait it).
            "COMPTOIR_SEND_LEASE_S": "8",
            # A webhook's first retry comes 5 s after a failed attempt in production; the tests
            # that take a receiver down wait for it. 2 s leaves them the time to bring it back
            # up between the first attempt and the retry.
            "COMPTOIR_WEBHOOK_FIRST_RETRY_S": str(WEBHOOK_FIRST_RETRY_S),
            # notifications looks for webhook deliveries due every second in production (no
            # wake-up on a new one): each delivery a test waits for waited half of it.
            "COMPTOIR_WEBHOOK_POLL_S": "0.2",
        }
        env.pop("COMPTOIR_FAILPOINTS", None)
        env.update(extra or {})
        return env

    def start(self, service: str, extra_env: dict[str, str] | None = None) -> None:
        log = open(self.logs / f"{service}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.procs[service] = subprocess.Popen(
            [sys.executable, "-m", f"services.{service}"],
            cwd=ROOT,
            env=self.env(service, extra_env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def start_replica(
        self, service: str, port: int, extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """A second process of ``service`` on ``port`` (a replica-safety test stops it)."""
        log = open(self.logs / f"{service}-{port}.log", "ab")  # noqa: SIM115 - as in start
        return subprocess.Popen(
            [sys.executable, "-m", f"services.{service}"],
            cwd=ROOT,
            env=self.env(service, {**(extra_env or {}), "COMPTOIR_PORT": str(port)}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    @staticmethod
    async def wait_replica(proc: subprocess.Popen[bytes], port: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as s:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"the replica on {port} exited with {proc.returncode}")
                try:
                    async with s.get(f"http://127.0.0.1:{port}/ready") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the replica on {port} is not ready")
                await asyncio.sleep(0.1)

    async def wait_ready(self, *services: str, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or READY_TIMEOUT_S)
        async with aiohttp.ClientSession() as s:
            for name in services or tuple(self.procs):
                while True:
                    proc = self.procs[name]
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"{name} exited with {proc.returncode}: {self.tail(name)}"
                        )
                    try:
                        async with s.get(url(name) + "/ready") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{name} not ready: {self.tail(name)}")
                    await asyncio.sleep(0.1)

    async def move_clock(self, extra_env: dict[str, str], on_start: Callable[[], None]) -> None:
        """Restart the services a test's calendar moves (CALENDAR_SERVICES) with
        ``extra_env`` (its ``COMPTOIR_CLOCK``); ``on_start`` is called once the old processes
        are gone, just before the new ones start (it sets the clock they are anchored to)."""
        self.clock_moved = True  # before: a restart that fails half-way is undone all the same
        await self._restart(extra_env, on_start)

    async def usual_clock(self) -> None:
        """The services a calendar moved back on the usual clock (a restart), if one did."""
        if self.clock_moved:
            await self._restart(None, None)
            self.clock_moved = False

    async def _restart(
        self, extra_env: dict[str, str] | None, on_start: Callable[[], None] | None
    ) -> None:
        """Stop CALENDAR_SERVICES gracefully and start them again with ``extra_env``; what
        they hold is in the database and the broker."""
        running = [
            p for name, p in self.procs.items() if name in CALENDAR_SERVICES and p.poll() is None
        ]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        # Waited in threads: the event loop goes on (the test's own connections stay served).
        await asyncio.gather(*(asyncio.to_thread(p.wait, 30) for p in running))
        if on_start is not None:
            on_start()
        started = time.monotonic()
        for name in CALENDAR_SERVICES:
            self.start(name, extra_env)
        await self.wait_ready()
        self.last_start_s = time.monotonic() - started

    def kill(self, service: str, sig: int = signal.SIGKILL) -> int:
        proc = self.procs[service]
        proc.send_signal(sig)
        return proc.wait(timeout=30)

    def tail(self, service: str, lines: int = 15) -> str:
        path = self.logs / f"{service}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def stop_all(self) -> dict[str, int | None]:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, p in self.procs.items():
            try:
                codes[name] = p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                codes[name] = None
        return codes
