"""notifications' SMTP connections against a real server (aiosmtpd), with and without PIPELINING
(RFC 2920), and the server of the sink of make run (which reads DATA whole): MAIL, RCPT and
DATA go in one write when the server announces it, one at a time when it does not; either way the message arrives as written (a line starting with a dot too),
each refusal — at MAIL, at RCPT, at the end of DATA — is the provider's answer and the
connection serves the next message, and a connection the server closed is a temporary failure
followed by a new connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller

from deploy.smtp_sink import Pipelining, sink_controller
from services.notifications.adapters.smtp import SmtpPool
from services.notifications.domain.messages import accepted
from shared.settings import Settings
from tests import harness

pytestmark = pytest.mark.asyncio

RAW = (
    b"From: a@example.org\r\nTo: b@example.org\r\nSubject: Ligne\r\n\r\n"
    b"Bonjour,\r\n.\r\n..deux points\r\n.une ligne qui commence par un point\r\nFin\r\n"
)


@dataclass
class Server:
    """What a plain aiosmtpd accepted, and what it refuses or cuts."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse_mail: str | None = None
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    refuse_data: str | None = None
    close_at_data: bool = False

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse_mail:
            return self.refuse_mail
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.close_at_data:
            self.close_at_data = False
            server.transport.close()
            return "421 closing"
        if self.refuse_data:
            return self.refuse_data
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return f"250 2.0.0 Ok: queued as Q{len(self.received)}"


@dataclass
class PipeliningServer(Pipelining, Server):
    pass


@pytest_asyncio.fixture(params=["pipelining", "one-at-a-time", "the sink's server"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Server, SmtpPool]]:
    """aiosmtpd with and without PIPELINING, and the sink's (PIPELINING, DATA read whole)."""
    handler = Server() if request.param == "one-at-a-time" else PipeliningServer()
    port = harness.BASE_PORT + 42
    controller = (
        sink_controller(handler, "127.0.0.1", port)
        if request.param == "the sink's server"
        else Controller(handler, hostname="127.0.0.1", port=port)
    )
    controller.start()
    pool = SmtpPool(Settings(smtp_port=port, smtp_pool_size=1, smtp_timeout_s=5))
    try:
        yield handler, pool
    finally:
        await pool.close()
        controller.stop()


async def test_the_message_arrives_as_written_and_the_connection_is_kept(
    server: tuple[Server, SmtpPool],
) -> None:
    handler, pool = server
    answers = [await pool.send("a@example.org", f"b{i}@example.org", RAW) for i in range(3)]
    assert answers == [accepted(f"2.0.0 Ok: queued as Q{i + 1}") for i in range(3)]
    assert [r[:2] for r in handler.received] == [
        ("a@example.org", [f"b{i}@example.org"]) for i in range(3)
    ]
    assert all(r[2] == RAW for r in handler.received)  # the dots un-doubled by the server
    connection = pool.idle.get_nowait()
    assert connection.pipelining is isinstance(handler, Pipelining)
    pool.idle.put_nowait(connection)
    assert pool.idle.qsize() == 1  # one connection for the three


async def test_each_refusal_is_the_providers_answer_and_the_next_message_goes(
    server: tuple[Server, SmtpPool],
) -> None:
    handler, pool = server
    handler.refuse_rcpt["gone@example.org"] = "550 5.1.1 <gone@example.org> User unknown"
    gone = await pool.send("a@example.org", "gone@example.org", RAW)
    assert (gone.ok, gone.temporary) == (False, False)
    assert gone.reason is not None and "550 5.1.1" in gone.reason
    handler.refuse_mail = "451 4.3.0 Try later"
    later = await pool.send("a@example.org", "b@example.org", RAW)
    assert (later.ok, later.temporary) == (False, True) and "451" in (later.reason or "")
    handler.refuse_mail = None
    handler.refuse_data = "554 5.7.1 Spam"
    spam = await pool.send("a@example.org", "b@example.org", RAW)
    assert (spam.ok, spam.temporary) == (False, False) and "554" in (spam.reason or "")
    handler.refuse_data = None
    ok = await pool.send("a@example.org", "b@example.org", RAW)
    assert ok.ok and handler.received == [("a@example.org", ["b@example.org"], RAW)]
    assert pool.idle.qsize() == 1  # the same connection served all four


async def test_a_connection_the_server_closed_is_a_temporary_failure_then_a_new_one(
    server: tuple[Server, SmtpPool],
) -> None:
    handler, pool = server
    handler.close_at_data = True
    cut = await pool.send("a@example.org", "b@example.org", RAW)
    assert (cut.ok, cut.temporary) == (False, True)
    await asyncio.sleep(0.05)
    again = await pool.send("a@example.org", "b@example.org", RAW)
    assert again.ok and len(handler.received) == 1
