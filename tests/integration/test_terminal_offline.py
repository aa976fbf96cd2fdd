"""The whole offline path: a virtual chip card in the PC/SC reader (pcscd + vpcd), the
terminal program at two shops of one association, their syncs with the gateway (one over IP,
one over the line), and the server's books, blacklist, clone detection and dormancy."""

from __future__ import annotations

import secrets
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from shared import clock
from shared.client import TerminalClient
from terminal.adapters.journal import Journal
from terminal.app import Desk
from terminal.pcsc import PcscReader
from terminal.terminal import Terminal
from tests import harness
from tests.chipcards import VirtualCard
from tests.conftest import Network, NetworkFactory, eventually

CARDS = harness.url("cards")


@pytest.fixture
def reader(sam: object) -> Iterator[PcscReader]:
    r = PcscReader()
    yield r
    r.close()


def desk(directory: Path, terminal: TerminalClient, reader: PcscReader, lang: str = "fr") -> Desk:
    journal = Journal(directory / "terminal.db")
    journal.set(
        terminal_id=terminal.terminal_id,
        secret=terminal.secret,
        gateway=harness.url("terminals"),
        line=f"127.0.0.1:{harness.line_port()}",
    )
    return Desk(Terminal(journal, reader), lang)  # type: ignore[arg-type]


async def configured(d: Desk, transport: str = "ip") -> None:
    """The first sync configures the terminal for its shop (F14); the parameters reach the
    gateway from the cards service within a second of the catalogue's change."""

    async def done() -> bool:
        ok, _ = await d.sync_once(transport)
        return ok and d.journal.get("params") is not None

    await eventually(done, 20, "the terminal's first configuration")


async def issue(net: Network) -> dict[str, Any]:
    r = await net.admin.call(
        "POST",
        f"{CARDS}/v1/associations/{net.association_id}/cards",
        {"issue_id": str(uuid.uuid4())},
    )
    assert r.status == 201, r
    r = await net.admin.call("GET", f"{CARDS}/v1/cards/{r.body['number']}")
    assert r.status == 200, r
    return dict(r.body)


async def account(net: Network, card: dict[str, Any]) -> dict[str, Any]:
    r = await net.admin.call("GET", f"{CARDS}/v1/accounts/{card['account_id']}")
    assert r.status == 200, r
    return dict(r.body)


def virtual(make: Any, card: dict[str, Any]) -> VirtualCard:
    card_: VirtualCard = make(
        card["number"],
        card_type_id=uuid.UUID(card["card_type_id"]),
        expires_on=date.fromisoformat(card["expires_on"])
        if card["expires_on"]
        else date(2099, 1, 1),
    )
    return card_


@pytest.fixture
async def shops(
    make_network: NetworkFactory, reader: PcscReader, tmp_path: Path
) -> tuple[Network, Desk, Desk]:
    # Shop A gives 5 %, shop B the network's 3 %.
    net = await make_network(merchants=2, merchant_rates=[500, None])
    r = await net.admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{net.association_id}",
        {
            "name": f"offline {net.association_id}",
            "rate_mode": "merchant",
            "taux_client_bps": 300,
            "taux_uc_bps": 50,
            "issuer_prefix": f"{700000 + secrets.randbelow(100000)}",
        },
    )
    assert r.status in (200, 201), r
    a = desk(tmp_path / "a", net.terminals[0], reader)
    b = desk(tmp_path / "b", net.terminals[1], reader, "en")
    await configured(a)
    await configured(b, "line")
    return net, a, b


async def test_a_card_spent_offline_at_two_shops_ends_equal_on_the_server(
    shops: tuple[Network, Desk, Desk], virtual_card: Any
) -> None:
    net, a, b = shops
    card = await issue(net)
    chip = virtual(virtual_card, card)
    assert (await a.handle("vente 20"))[0].startswith("Vente 20,00 € enregistrée : +1,00 €")
    assert (await b.handle("sale 30"))[0].startswith("Sale €30.00 recorded: +€0.90 cagnotte")
    assert await b.handle("pay 1") == ["Paid €1.00 from the cagnotte. Left €0.90"]
    on_card = chip.state()
    assert (on_card.available, on_card.atc) == (90, 3)
    # B syncs first, over the line: its redemption reaches the server before A's sale.
    assert (await b.handle("sync line"))[0].startswith("Sync done: 2 transactions sent")
    assert (await a.handle("synchro"))[0].startswith("Synchronisation terminée : 1 transactions")

    async def equal() -> bool:
        acc = await account(net, card)
        return (acc["balance_cents"], acc["pending_cents"]) == (on_card.available, on_card.pending)

    await eventually(equal, 20, "the server's balances equal to the card's")
    r = await net.admin.call("GET", f"{CARDS}/v1/card-anomalies?card_number={card['number']}")
    assert r.status == 200 and r.body["anomalies"] == [], r.body


async def test_a_card_declared_lost_is_refused_offline_after_the_next_sync(
    shops: tuple[Network, Desk, Desk], virtual_card: Any
) -> None:
    net, a, _ = shops
    card = await issue(net)
    virtual(virtual_card, card)
    assert (await a.handle("carte"))[0].startswith(f"Carte {card['number']} — cagnotte 0,00 €")
    r = await net.admin.call("POST", f"{CARDS}/v1/cards/{card['number']}/block", {"reason": "lost"})
    assert r.status == 200, r
    # Offline, the terminal does not know yet.
    assert (await a.handle("vente 10"))[0].startswith("Vente 10,00 €")

    async def refused() -> bool:
        await a.handle("synchro")
        return await a.handle("carte") == ["Carte refusée : déclarée perdue"]

    await eventually(refused, 20, "the lost card refused after a sync")
    assert await a.handle("vente 10") == ["Carte refusée : déclarée perdue"]


async def test_a_cloned_card_spending_at_two_shops_is_caught_and_blacklisted(
    shops: tuple[Network, Desk, Desk], virtual_card: Any, tmp_path: Path
) -> None:
    net, a, b = shops
    card = await issue(net)
    original = virtual(virtual_card, card)
    await a.handle("vente 10")
    original.eject()
    copy_path = tmp_path / "copy.json"
    shutil.copy(original.path, copy_path)
    clone = VirtualCard(copy_path)
    original.insert()
    await a.handle("vente 40")
    original.eject()
    clone.insert()  # the copy has the same counter as the original had: ATC 2 again
    assert (await b.handle("sale 40"))[0].startswith("Sale €40.00 recorded")
    clone.eject()
    assert original.state().atc == clone.state().atc == 2
    await a.handle("synchro")
    await b.handle("sync")

    async def caught() -> bool:
        r = await net.admin.call("GET", f"{CARDS}/v1/card-anomalies?card_number={card['number']}")
        return any(x["kind"] == "clone" for x in r.body["anomalies"])

    await eventually(caught, 20, "the clone detected")
    r = await net.admin.call("GET", f"{CARDS}/v1/cards/{card['number']}")
    assert (r.body["status"], r.body["blacklisted"]) == ("cloned", True)
    original.insert()

    async def refused() -> bool:
        await a.handle("synchro")
        return await a.handle("carte") == ["Carte refusée : copie frauduleuse détectée"]

    await eventually(refused, 20, "the cloned card refused by the terminal")


async def test_a_dormant_card_is_refused_offline_with_its_reason_as_online(
    shops: tuple[Network, Desk, Desk], virtual_card: Any, db: asyncpg.Connection
) -> None:
    net, a, _ = shops
    r = await net.admin.call("GET", f"{CARDS}/v1/associations/{net.association_id}")
    assert r.status == 200, r
    days = r.body["dormant_after_days"]
    # The parameters the terminal received carry the association's dormancy period.
    assert a.journal.get("params")["dormant_after_days"] == days
    card = await issue(net)
    chip = virtual(virtual_card, card)
    chip.eject()
    last = clock.now().date() - timedelta(days=days + 10)
    chip.rewrite(lambda s: replace(s, last_used_on=last))
    chip.insert()
    refusal = (
        f"Carte refusée : inutilisée depuis le {last.isoformat()} (plus de {days} jours), "
        "à réactiver par l'association"
    )
    assert await a.handle("carte") == [refusal]
    assert await a.handle("vente 10") == [refusal]
    assert chip.state().atc == 0  # nothing written on the card, nothing in the journal
    # The server, which knows the same last use, refuses it online for the same reason.
    await db.execute(
        "UPDATE cards.cards SET last_used_at = $2 WHERE number = $1",
        card["number"],
        clock.now() - timedelta(days=days + 10),
    )
    online = await net.terminals[0].sale(None, 1000, card_number=card["number"])
    assert online.body["reason"] == "card_dormant", online
    # A card used within the period is served offline as before.
    chip.eject()
    chip.rewrite(lambda s: replace(s, last_used_on=clock.now().date() - timedelta(days=days - 10)))
    chip.insert()
    assert (await a.handle("vente 10"))[0].startswith("Vente 10,00 €")
