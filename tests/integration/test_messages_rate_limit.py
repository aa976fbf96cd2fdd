"""The provider's rate limit holds across replicas: two notifications processes sending to the
real SMTP server, each set to the provider's rate, together stay within it as the server
measures it (a token bucket of a second's burst), instead of each sending its own share."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest_asyncio

from shared.events import new_event
from tests import harness
from tests.integration.test_messages_email import exchange, publish, request
from tests.messaging import Mailbox

__all__ = ["exchange"]
RATE = 8  # e-mails a second: the provider's contract in this test
# Claims this small make both replicas take part of every campaign (500 would let the first
# replica to look claim all of it).
BATCH = 4
LIMITED = {"COMPTOIR_SMTP_RATE_PER_S": str(RATE), "COMPTOIR_SEND_BATCH": str(BATCH)}


@pytest_asyncio.fixture
async def two_replicas(services: harness.Services) -> AsyncIterator[None]:
    """notifications as two replicas, both limited to RATE; the usual one back afterwards."""
    services.kill("notifications", signal.SIGTERM)
    services.start("notifications", LIMITED)
    port = harness.BASE_PORT + 5  # free: the five services, then the line at +10
    second = services.start_replica("notifications", port, LIMITED)
    try:
        await services.wait_ready("notifications")
        await services.wait_replica(second, port)
        yield
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.to_thread(second.wait, 30)
        services.kill("notifications", signal.SIGTERM)
        services.start("notifications")
        await services.wait_ready("notifications")


async def test_two_replicas_together_send_at_the_providers_rate(
    two_replicas: None, exchange: aio_pika.abc.AbstractExchange, mailbox: Mailbox
) -> None:
    n, tag = 40, uuid.uuid4().hex[:8]
    await publish(
        exchange, [new_event("crm", request(f"q{i}-{tag}@example.org")) for i in range(n)]
    )

    def mine() -> list[float]:
        return sorted(m.at for m in list(mailbox.received) if tag in m.recipients[0])

    deadline = time.monotonic() + 60
    while len(mine()) < n:
        assert time.monotonic() < deadline, f"{len(mine())} of {n} sent"
        await asyncio.sleep(0.1)
    times = mine()
    # What the server received by each instant stays within the bucket: a second's burst, then
    # RATE a second (one more for the timing between the database's clock and the server's).
    for i, at in enumerate(times):
        allowed = RATE + RATE * (at - times[0]) + 1
        assert i + 1 <= allowed, (
            f"{i + 1} e-mails within {at - times[0]:.2f} s: more than {RATE}/s and a burst of "
            f"{RATE} (all {n} in {times[-1] - times[0]:.2f} s)"
        )
    # And the campaign did go at the rate, not slower: (n - burst) / RATE seconds, give or take.
    assert times[-1] - times[0] < (n - RATE) / RATE + 2.0
