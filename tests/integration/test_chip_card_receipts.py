"""A chip card's sales, made offline and synced by a terminal, get the digital receipt and the
visit threshold message like a sale made online (issue 13, item 4): each once, whatever the
sync replayed, with the card's balances after the sale as the card certified them (what the
till showed). Through the real gateway (the sync session over HTTP), cards, crm,
notifications and the SMTP server; the card lines are certified without a reader
(tests/cardtx.py)."""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from typing import Any

import aiohttp
import asyncpg
import pytest

from shared import clock
from shared.contracts import CardTransactionsSynced, card_transaction_id
from shared.events import new_event
from shared.sync.client import HttpTransport, SyncClient
from tests import harness
from tests.cardtx import MemoryJournal, SimCard
from tests.conftest import BOOKS_START, Network, NetworkFactory, eventually
from tests.messaging import Mailbox
from tests.people import call as _call
from tests.people import customer as _customer
from tests.people import email_consent as _consent
from tests.people import file_of as _file
from tests.people import messages_of as _messages
from tests.people import trigger as _trigger
from tests.watch import publish, watching

pytestmark = pytest.mark.asyncio

CARDS = harness.url("cards")


async def issue_card(net: Network, account: str) -> SimCard:
    """A card of the association's default type, linked to the customer's account (the
    association given an issuer prefix first, as make_network's has none)."""
    r = await net.admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{net.association_id}",
        {
            "name": f"test {net.association_id}",
            "rate_mode": "merchant",
            "taux_client_bps": 300,
            "taux_uc_bps": 50,
            "books_start": BOOKS_START,
            "issuer_prefix": f"{700000 + secrets.randbelow(100000)}",
        },
    )
    assert r.status in (200, 201), r
    r = await net.admin.call(
        "POST",
        f"{CARDS}/v1/associations/{net.association_id}/cards",
        {"issue_id": str(uuid.uuid4()), "account_id": account},
    )
    assert r.status == 201, r
    return SimCard(r.body["number"])


def after_sales(mailbox: Mailbox, email: str) -> list[str]:
    """The texts of the receipts and threshold messages the SMTP server accepted for
    ``email`` (not the enrolment's and the consent's), a no-break space read as a space."""
    return [
        m.get_body(("plain",)).get_content().replace("\xa0", " ")  # type: ignore[union-attr]
        for m in mailbox.to(email)
        if str(m["Subject"]).startswith(("Votre achat", "Votre cagnotte est disponible"))
    ]


async def sync(net: Network, journal: MemoryJournal) -> Any:
    """One sync of the till's journal with the gateway, as the terminal program does it."""
    t = net.terminals[0]
    transport = HttpTransport(harness.url("terminals"), t.terminal_id, t.secret)
    report = await SyncClient(transport).run(journal)
    assert report.ok, report
    return report


async def test_a_chip_cards_sales_get_their_receipt_and_the_threshold_message_once(
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    mailbox: Mailbox,
) -> None:
    net = await make_network(merchants=1)  # the network's 3 %
    mid, aid = str(net.merchants[0]), net.association_id
    assoc = await net.admin.call("GET", f"{CARDS}/v1/associations/{aid}")
    program = await net.admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{aid}/programs/{assoc.body['default_program_id']}",
        {"name": "Cagnotte", "kind": "cagnotte", "visit_threshold": 2},
    )
    assert program.status in (200, 201), program
    account = await _customer(net, http, first_name="Gisèle")
    email = (await _file(http, account))["email"]
    await _consent(http, account, mid)  # the threshold message is marketing
    await _trigger(http, net, merchant_id=mid, kind="receipt", params={"shop_name": "Chez Lili"})
    await _trigger(http, net, merchant_id=mid, kind="threshold_reached", params={"body": "Bravo"})
    card = await issue_card(net, account)

    # Offline: 20.00 € (0.60 € pending, visit 1), then 30.00 € (0.90 €: the threshold of two
    # visits reached, 1.50 € moved to available and the visits counted from zero again).
    terminal = uuid.UUID(net.terminals[0].terminal_id)
    at = clock.now().replace(microsecond=0)
    first = card.certify(
        terminal, 1, "sale", 2000, (0, 60, 0), at, reward_cents=60, window_started_at=at
    )
    card.visits = -1  # the card counts the second visit as the threshold's: 0 after it
    second = card.certify(terminal, 2, "sale", 3000, (150, -60, 0), at, reward_cents=90)
    assert (second.available_after, second.pending_after, second.visits_after) == (150, 0, 0)
    journal = MemoryJournal([first, second])
    async with watching("message.requested.v1", "card.transactions.synced.v1") as watch:
        await sync(net, journal)

        async def arrived() -> bool:
            return len(after_sales(mailbox, email)) >= 3

        await eventually(arrived, what="two receipts and the threshold message by e-mail")
        chunk = await watch.wait_for(lambda d: d.get("terminal_id") == str(terminal))
    asked = [d for d in watch.seen if d.get("account_id") == account]
    receipts = {
        d["variables"]["amount_cents"]: d["variables"] for d in asked if d["template"] == "receipt"
    }
    # the card's balances after each sale, as the card certified them
    assert receipts[2000] | {"occurred_at": None, "referral_code": None} == {
        "first_name": "Gisèle", "shop_name": "Chez Lili", "amount_cents": 2000,
        "reward_cents": 60, "balance_cents": 0, "pending_cents": 60, "occurred_at": None,
        "referral_code": None,
    }  # fmt: skip
    # the customer's referral code (F22), the same on each receipt
    code = receipts[2000]["referral_code"]
    assert (
        re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", code) and receipts[3000]["referral_code"] == code
    )
    assert (receipts[3000]["reward_cents"], receipts[3000]["balance_cents"]) == (90, 150)
    assert receipts[3000]["pending_cents"] == 0
    (reached,) = [d for d in asked if d["template"] == "threshold_reached"]
    assert reached["variables"]["transferred_cents"] == 150 and reached["consent_id"]
    texts = after_sales(mailbox, email)
    assert len(texts) == 3
    assert sum("gagne 0,60 € ; elle est de 0,00 € (et 0,60 € en attente)" in t for t in texts) == 1
    assert sum("gagne 0,90 € ; elle est de 1,50 €." in t for t in texts) == 1
    assert sum("Votre cagnotte est disponible" in t for t in texts) == 1

    # Replayed: the terminal syncs again as if it had lost its acknowledgements (the gateway
    # answers what it committed: nothing new), and the chunk is delivered again under another
    # event id (cards books nothing twice): no second message.
    journal.committed_through = 0
    report = await sync(net, journal)
    assert (report.last_committed_seq, report.inserted) == (2, 0), report
    again = new_event("terminals", CardTransactionsSynced.model_validate(chunk))
    await publish(again)

    async def handled() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM cards.inbox WHERE event_id = $1", uuid.UUID(again.id)
        )
        return bool(n == 1)

    await eventually(handled, what="the chunk handled again by cards")
    await asyncio.sleep(1.5)  # a second receipt, if any, would be on its way by now
    assert len(after_sales(mailbox, email)) == 3
    assert len(await _messages(http, account, "receipt")) == 2
    assert len(await _messages(http, account, "threshold_reached")) == 1
    visits = await db.fetchval(
        "SELECT count(*) FROM crm.visits WHERE sale_id = ANY($1)",
        [card_transaction_id(terminal, s) for s in (1, 2)],
    )
    assert visits == 2
    held = await db.fetchval(
        "SELECT count(*) FROM cards.card_quarantine WHERE card_number = $1", card.number
    )
    assert held == 0
    status, file = await _call(http, "GET", f"{harness.url('crm')}/v1/customers/{account}")
    assert status == 200 and file["visit_count"] == 2
