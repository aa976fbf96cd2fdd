"""Fixtures for the messaging servers: an SMTP server in the tests' process (aiosmtpd) and
Kannel with its fake operator (deploy/messaging.py), both started once for the session,
before the services (tests/conftest.py's ``services`` depends on them).

Registered by ``pytest_plugins`` in tests/conftest.py. The SMTP server keeps every message
it accepted; a test may make it answer the next RCPT or DATA with a temporary (4xx) or
permanent (5xx) refusal, as a real provider does.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiosmtpd.controller import Controller

from deploy.messaging import Kannel, Ports, Sms, send_mo, sms_received
from deploy.smtp_sink import Pipelining
from tests import harness

ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    # When its DATA came (the monotonic clock): the rate a provider sees (a rate limit's test).
    at: float = field(default_factory=time.monotonic)

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class Mailbox(Pipelining):
    """The aiosmtpd handler: what it accepted, and the refusals a test queued. It announces
    PIPELINING, as Postfix does (tests/integration/test_smtp_connections.py tries a server
    that does not)."""

    received: list[Received] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay_s: float = 0.0  # a slow server: each DATA answered after this
    refused_recipients: dict[str, str] = field(default_factory=dict)  # address → RCPT answer

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            answer = self.refused_recipients.get(address)
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        with self.lock:
            if self.refusals:
                return self.refusals.pop(0)
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
            return f"250 2.0.0 Ok: queued as T{len(self.received):06d}"

    def refuse_next(self, *answers: str) -> None:
        """The next DATA commands get these answers (``451 4.3.0 try later``…)."""
        with self.lock:
            self.refusals.extend(answers)

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received if address in r.recipients]

    async def wait_for_subject(
        self, address: str, subject: str, timeout: float = 30
    ) -> EmailMessage:
        """The first e-mail to ``address`` whose subject starts with ``subject``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [m for m in self.to(address) if str(m["Subject"]).startswith(subject)]
            if found:
                return found[0]
            if asyncio.get_running_loop().time() > deadline:
                seen = [m["Subject"] for m in self.to(address)]
                raise AssertionError(f"no e-mail {subject!r} to {address}; seen {seen}")
            await asyncio.sleep(0.1)

    async def wait_for(
        self, address: str, count: int = 1, timeout: float = 30
    ) -> list[EmailMessage]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found := self.to(address)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(found)} e-mail(s) to {address}, {count} awaited")
            await asyncio.sleep(0.1)
        return found


async def status_of(http: aiohttp.ClientSession, message_id: uuid.UUID) -> dict[str, Any]:
    """Where the message stands in notifications ({"status": None} while its request is on
    its way)."""
    async with http.get(
        f"{harness.url('notifications')}/v1/messages/{message_id}", headers=ADMIN
    ) as r:
        if r.status == 404:
            return {"status": None}
        assert r.status == 200, await r.text()
        body: dict[str, Any] = await r.json()
        return body


async def until_status(
    http: aiohttp.ClientSession, message_id: uuid.UUID, status: str, timeout: float = 30
) -> dict[str, Any]:
    """The message's state in notifications, once it has reached ``status``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (found := await status_of(http, message_id))["status"] != status:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"message {message_id} {status} awaited, found {found}")
        await asyncio.sleep(0.1)
    return found


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=harness.smtp_port())
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@dataclass
class KannelHandle:
    kannel: Kannel

    @property
    def dir(self) -> Path:
        return self.kannel.dir

    def sms_to(self, number: str) -> list[Sms]:
        return [s for s in sms_received(self.kannel.smsc_log) if s.to == number]

    async def wait_for(self, number: str, count: int = 1, timeout: float = 30) -> list[Sms]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(found := self.sms_to(number)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(found)} SMS to {number}, {count} awaited")
            await asyncio.sleep(0.1)
        return found

    def customer_sends(self, number: str, text: str) -> None:
        """An SMS from a customer's phone, through the operator to Kannel (MO)."""
        send_mo(self.kannel.dir, number, text)


@pytest.fixture(scope="session")
def kannel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KannelHandle]:
    ports = Ports.from_base(harness.kannel_base())
    mo = f"{harness.url('notifications')}/v1/sms/inbound?token={harness.SMS_CALLBACK_TOKEN}"
    k = Kannel(tmp_path_factory.mktemp("kannel"), ports, mo)
    k.start()
    try:
        yield KannelHandle(k)
    finally:
        k.stop()
