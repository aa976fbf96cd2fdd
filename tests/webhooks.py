"""A webhook subscriber's server for the tests: a real aiohttp server over TLS, with a
certificate from a CA made for the test (the services trust it through
COMPTOIR_WEBHOOK_CA_FILE), that records every POST and answers what the test says; it can go
down (its port closed: connections refused) and come back on the same port. And notifications'
webhooks API as the back office calls it: subscribe, the delivery log, a delivery's state."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.notifications.domain import webhooks as rules
from shared import clock
from tests import harness
from tests.conftest import Network, eventually
from tests.people import call

NOTIFICATIONS = harness.url("notifications")


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_tls(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA (its certificate written to ``folder``/ca.pem, for the services) and the server
    context of a certificate it signed for 127.0.0.1."""
    # TLS checks validity against the operating system's time (faked by libfaketime in
    # make test-dates, as the services' is), not against the test's calendar.
    now = clock.SystemClock().now() - dt.timedelta(days=1)
    until = now + dt.timedelta(days=3650)  # the services' clock may be years ahead
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("comptoir test CA"))
        .issuer_name(_name("comptoir test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST to /{hook} and answers ``answer``; ``tls`` None: plain HTTP."""

    tls: ssl.SSLContext | None = None
    answer: int = 200
    delay: float = 0.0  # seconds before answering
    got: list[Received] = field(default_factory=list)
    port: int = 0
    runner: web.AppRunner | None = None

    async def _take(self, request: web.Request) -> web.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.got.append(Received(request.path, headers, await request.read()))
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.answer, text="ok")

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/{hook}", self._take)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(
            self.runner, "127.0.0.1", self.port, ssl_context=self.tls, reuse_address=True
        )
        await site.start()
        if not self.port:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def down(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def url(self, hook: str) -> str:
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}/{hook}"

    def to(self, hook: str) -> list[Received]:
        return [r for r in self.got if r.path == f"/{hook}"]

    def with_amount(self, hook: str, cents: int) -> list[Received]:
        return [r for r in self.to(hook) if r.json()["data"].get("amount_cents") == cents]

    async def wait(self, hook: str, count: int, timeout: float = 20) -> list[Received]:
        async def arrived() -> bool:
            return len(self.to(hook)) >= count

        await eventually(arrived, timeout, f"{count} deliveries to /{hook}")
        return self.to(hook)


# --- notifications' webhooks API, as the back office calls it ---------------------------------


async def subscribe(
    http: aiohttp.ClientSession, net: Network, url: str, types: list[str], **extra: Any
) -> dict[str, Any]:
    body = {"association_id": str(net.association_id), "url": url, "event_types": types}
    status, sub = await call(
        http, "POST", f"{NOTIFICATIONS}/v1/webhook-subscriptions", body | extra
    )
    assert status == 201, sub
    assert sub["secret"].startswith("whsec_")
    return sub  # type: ignore[no-any-return]


def verified(got: Received, *secrets: str) -> dict[str, Any]:
    """The delivery's JSON once each secret verifies its signature (the HMAC recomputed here,
    as a receiver does)."""
    for secret in secrets:
        assert rules.verify(secret, got.headers, got.body, clock.now()), got.headers
    assert got.headers["webhook-id"].startswith("msg_")
    return got.json()  # type: ignore[no-any-return]


async def deliveries(http: aiohttp.ClientSession, sub: dict[str, Any]) -> list[dict[str, Any]]:
    status, found = await call(
        http, "GET", f"{NOTIFICATIONS}/v1/webhook-subscriptions/{sub['id']}/deliveries"
    )
    assert status == 200, found
    return found  # type: ignore[no-any-return]


async def delivery_log(http: aiohttp.ClientSession, delivery_id: str) -> dict[str, Any]:
    status, found = await call(http, "GET", f"{NOTIFICATIONS}/v1/webhook-deliveries/{delivery_id}")
    assert status == 200, found
    return found  # type: ignore[no-any-return]


async def only_delivery(http: aiohttp.ClientSession, sub: dict[str, Any], **match: Any) -> str:
    """The id of the subscription's one delivery whose payload data has ``match``."""
    found: list[str] = []

    async def there() -> bool:
        found[:] = [
            d["id"]
            for d in await deliveries(http, sub)
            if match.items() <= json.loads(d["body"])["data"].items()
        ]
        return len(found) == 1

    await eventually(there, what=f"the delivery of {match}")
    return found[0]


async def settled_as(
    http: aiohttp.ClientSession, delivery_id: str, status: str, attempts: int
) -> dict[str, Any]:
    log: dict[str, Any] = {}

    async def settled() -> bool:
        log.update(await delivery_log(http, delivery_id))
        return bool(log["status"] == status and log["attempts"] >= attempts)

    await eventually(settled, 30, f"{delivery_id} {status} after {attempts} attempts")
    return log


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A plain-HTTP receiver (allowed to 127.0.0.1 in development only)."""
    r = Receiver()
    await r.up()
    try:
        yield r
    finally:
        await r.down()


@pytest_asyncio.fixture
async def tls_receiver(tmp_path: Path) -> AsyncIterator[tuple[Receiver, dict[str, str]]]:
    """A receiver over TLS, and the services' setting that makes them trust its CA."""
    ca_file, context = make_tls(tmp_path)
    r = Receiver(tls=context)
    await r.up()
    try:
        yield r, {"COMPTOIR_WEBHOOK_CA_FILE": str(ca_file)}
    finally:
        await r.down()
