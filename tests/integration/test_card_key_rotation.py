"""Card master key rotation through the real gateway and cards service (docs/terminal-protocol.md,
"Rotating the masters"): after key version 2 becomes current, a card personalised under
version 1 keeps booking, a card of version 2 books, and a line claiming a key version the
keyring does not hold is held as ``unknown_key_version``, told apart from a certificate that
does not verify under a version it holds (``bad_certificate``)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from shared import clock
from shared.card.crypto import DEV_MASTERS
from shared.contracts import card_transaction_id
from tests import harness
from tests.cardtx import CardTxFactory, SimCard
from tests.conftest import NetworkFactory, eventually
from tests.integration.test_offline_quarantine import _accounted, _issue, _network, _sync

pytestmark = pytest.mark.timeout(180)
V2_CERT = bytes.fromhex("5a17" * 8)  # the version-2 cert master of this test's network


async def _restart_cards(services: harness.Services, env: dict[str, str] | None = None) -> None:
    services.kill("cards")
    services.start("cards", env)
    await services.wait_ready("cards")


@pytest.fixture
async def cards_after_rotation(services: harness.Services) -> Any:
    """Cards restarted with a keyring of two versions, 2 current; back on the development
    master alone afterwards, for the other tests."""
    keyring = f"1:{DEV_MASTERS['cert'].hex()},2:{V2_CERT.hex()}"
    try:
        yield lambda: _restart_cards(
            services, {"COMPTOIR_CARD_CERT_KEYS": keyring, "COMPTOIR_CARD_KEY_VERSION": "2"}
        )
    finally:
        await _restart_cards(services)


async def _held(db: asyncpg.Connection, terminal: uuid.UUID, seq: int) -> Any:
    return await db.fetchval(
        "SELECT reasons FROM cards.card_quarantine WHERE transaction_id = $1",
        card_transaction_id(terminal, seq),
    )


async def _booked(db: asyncpg.Connection, terminal: uuid.UUID) -> set[int]:
    rows = await db.fetch(
        "SELECT seq FROM cards.card_transactions WHERE terminal_id = $1", terminal
    )
    return {r["seq"] for r in rows}


async def test_a_card_of_the_old_key_version_still_books_after_rotation_and_a_forged_version_is_held(
    make_network: NetworkFactory, db: asyncpg.Connection, cards_after_rotation: Any
) -> None:
    net = await _network(make_network)
    terminal = uuid.UUID(net.terminals[0].terminal_id)
    factory = CardTxFactory(terminal, start=clock.now() - timedelta(minutes=30), reward_bps=300)
    old = factory.card(await _issue(net))  # personalised under version 1 (development master)
    before = factory.sale(old, 1000)
    await _sync(net, factory, [before])
    await eventually(lambda: _accounted(db, terminal, 1), what="the line before rotation")
    assert await _booked(db, terminal) == {before.seq}

    await cards_after_rotation()
    new = SimCard(await _issue(net), key_version=2, cert_master=V2_CERT)
    forged_version = SimCard(await _issue(net), key_version=7, cert_master=V2_CERT)
    wrong_master = SimCard(await _issue(net), key_version=2)  # v2, certified with v1's master
    lines = [
        factory.sale(old, 2000),  # version 1, after the rotation
        factory.sale(new, 3000),
        factory.sale(forged_version, 4000),
        factory.sale(wrong_master, 5000),
    ]
    await _sync(net, factory, lines)
    await eventually(lambda: _accounted(db, terminal, 5), what="the lines after rotation")

    assert await _booked(db, terminal) == {before.seq, lines[0].seq, lines[1].seq}
    assert await _held(db, terminal, lines[2].seq) == ["unknown_key_version"]
    assert await _held(db, terminal, lines[3].seq) == ["bad_certificate"]
    detail = await db.fetchval(
        "SELECT detail FROM cards.card_anomalies WHERE transaction_id = $1 AND kind = $2",
        card_transaction_id(terminal, lines[2].seq),
        "unknown_key_version",
    )
    assert detail == "key version 7 is not in the cards service's keyring (it holds 1, 2)"
    balance = await db.fetchval(
        """SELECT a.balance_cents FROM cards.accounts a JOIN cards.cards c ON c.account_id = a.id
           WHERE c.number = $1""",
        old.number,
    )
    assert balance == old.available == (1000 + 2000) * 300 // 10_000
