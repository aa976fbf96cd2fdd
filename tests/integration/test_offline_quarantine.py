"""Offline journals through the real gateway into the quarantine: every line the gateway
acknowledged is booked or held by cards (the reconciliation says so, and says which terminal
when it is not), and a cards service running with its own certificate key holds a transaction
certified with the development key, whose masters are public in the source."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared import clock
from shared.contracts import card_transaction_id
from shared.sync.client import HttpTransport, SyncClient
from tests import harness
from tests.cardtx import CardTxFactory, MemoryJournal
from tests.conftest import Network, NetworkFactory, eventually

pytestmark = pytest.mark.timeout(120)
CARDS = harness.url("cards")
PRODUCTION_CERT_KEY = "7f" * 16  # any key but the development one


async def _network(make_network: NetworkFactory) -> Network:
    """One shop at the network's 3 %, and an issuer prefix so that cards can be issued."""
    net = await make_network(merchants=1)
    r = await net.admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{net.association_id}",
        {
            "name": f"quarantine {net.association_id}",
            "rate_mode": "merchant",
            "taux_client_bps": 300,
            "taux_uc_bps": 50,
            "issuer_prefix": f"{600000 + secrets.randbelow(100000)}",
        },
    )
    assert r.status == 200, r
    return net


async def _issue(net: Network) -> str:
    r = await net.admin.call(
        "POST",
        f"{CARDS}/v1/associations/{net.association_id}/cards",
        {"issue_id": str(uuid.uuid4())},
    )
    assert r.status == 201, r
    number: str = r.body["number"]
    return number


async def _sync(net: Network, factory: CardTxFactory, lines: list[Any]) -> None:
    t = net.terminals[0]
    transport = HttpTransport(harness.url("terminals"), t.terminal_id, t.secret)
    report = await SyncClient(transport).run(MemoryJournal(lines))
    assert report.ok, report


async def _lines_check(net: Network, http: aiohttp.ClientSession, **query: str) -> Any:
    async with http.get(
        f"{CARDS}/v1/card-transactions/reconciliation",
        params={"association_id": str(net.association_id)} | query,
        headers=net.admin.headers,
    ) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def _accounted(db: asyncpg.Connection, terminal: uuid.UUID, n: int) -> bool:
    booked = await db.fetchval(
        "SELECT count(*) FROM cards.card_transactions WHERE terminal_id = $1", terminal
    )
    held = await db.fetchval(
        "SELECT count(*) FROM cards.card_quarantine WHERE terminal_id = $1", terminal
    )
    return bool(booked + held == n)


async def test_every_line_the_gateway_acknowledged_is_booked_or_held(
    make_network: NetworkFactory, db: asyncpg.Connection, http: aiohttp.ClientSession
) -> None:
    net = await _network(make_network)
    terminal = uuid.UUID(net.terminals[0].terminal_id)
    factory = CardTxFactory(terminal, start=clock.now() - timedelta(minutes=30), reward_bps=300)
    card = factory.card(await _issue(net))
    honest = [factory.sale(card, 1000) for _ in range(3)]
    forged = factory.sale(card, 1000).model_copy(update={"reward_cents": 900})
    stranger = factory.sale(None, 1000)  # a card this network never issued
    await _sync(net, factory, [*honest, forged, stranger])
    await eventually(lambda: _accounted(db, terminal, 5), what="cards handling the chunk")

    result = await _lines_check(net, http)
    assert (result["ok"], result["acknowledged"], result["booked"], result["held"]) == (
        True,
        5,
        3,
        2,
    )
    # A held line lost from cards (as a dead-lettered chunk was): the check is red and names
    # the terminal. Moved away and back, so the books stay as they were.
    lost = card_transaction_id(terminal, stranger.seq)
    elsewhere = uuid.uuid4()
    await db.execute(
        "UPDATE cards.card_quarantine SET terminal_id = $2 WHERE transaction_id = $1",
        lost,
        elsewhere,
    )
    try:
        red = await _lines_check(net, http, settle_s="0.5")
    finally:
        await db.execute(
            "UPDATE cards.card_quarantine SET terminal_id = $2 WHERE transaction_id = $1",
            lost,
            terminal,
        )
    assert (red["ok"], red["unaccounted"]) == (False, 1)
    [difference] = red["differences"]
    assert (difference["terminal_id"], difference["acknowledged"], difference["held"]) == (
        str(terminal),
        5,
        1,
    )
    # Clearing's reconciliation carries the check, green again.
    r = await net.admin.call(
        "POST",
        f"{harness.url('clearing')}/v1/reconciliation",
        {"association_id": str(net.association_id), "settle_seconds": 0},
    )
    assert r.status in (200, 201), r
    [check] = [c for c in r.body["checks"] if c["name"] == "card_lines"]
    assert check["ok"], check


async def _metric(http: aiohttp.ClientSession, reason: str) -> float:
    async with http.get(f"{CARDS}/metrics") as r:
        text = await r.text()
    pattern = rf'^comptoir_card_quarantined_total\{{reason="{reason}"\}} ([0-9.e+]+)$'
    m = re.search(pattern, text, re.M)
    return float(m.group(1)) if m else 0.0


@pytest.fixture
async def cards_with_a_production_key(services: harness.Services) -> Any:
    """The cards service restarted with its own certificate master; back on the development
    one afterwards, for the other tests."""
    services.kill("cards")
    services.start("cards", {"COMPTOIR_CARD_CERT_KEY": PRODUCTION_CERT_KEY})
    await services.wait_ready("cards")
    try:
        yield services
    finally:
        services.kill("cards")
        services.start("cards")
        await services.wait_ready("cards")


async def test_a_certificate_made_with_the_development_key_is_held_under_a_production_key(
    make_network: NetworkFactory,
    db: asyncpg.Connection,
    http: aiohttp.ClientSession,
    cards_with_a_production_key: Any,
) -> None:
    net = await _network(make_network)
    terminal = uuid.UUID(net.terminals[0].terminal_id)
    factory = CardTxFactory(terminal, start=clock.now() - timedelta(minutes=30), reward_bps=300)
    card = factory.card(await _issue(net))
    # +500 € on a 1 € purchase, certified with the public development master.
    line = card.sale(terminal, 1, 100, 50_000, factory.clock)
    before = await _metric(http, "bad_certificate")
    await _sync(net, factory, [line])
    await eventually(lambda: _accounted(db, terminal, 1), what="cards handling the chunk")
    held = await db.fetchrow(
        "SELECT reasons, status FROM cards.card_quarantine WHERE transaction_id = $1",
        card_transaction_id(terminal, line.seq),
    )
    assert held is not None and (held["reasons"], held["status"]) == (["bad_certificate"], "held")
    balance = await db.fetchval(
        """SELECT a.balance_cents FROM cards.accounts a JOIN cards.cards c ON c.account_id = a.id
           WHERE c.number = $1""",
        card.number,
    )
    assert balance == 0
    entries = await db.fetchval(
        "SELECT count(*) FROM clearing.journal_entries WHERE reference_id = $1",
        card_transaction_id(terminal, line.seq),
    )
    assert entries == 0
    assert await _metric(http, "bad_certificate") == before + 1
    anomaly = await db.fetchrow(
        "SELECT card_number, terminal_id FROM cards.card_anomalies WHERE transaction_id = $1",
        card_transaction_id(terminal, line.seq),
    )
    assert anomaly is not None and tuple(anomaly) == (card.number, terminal)
    # The alert in the log, at error, naming the card and the terminal.
    logged = [
        line
        for line in cards_with_a_production_key.tail("cards", 400).splitlines()
        if "card_certificate_forged" in line
    ]
    assert any(card.number in line and str(terminal) in line for line in logged), logged
    assert all("error" in line.lower() for line in logged)
