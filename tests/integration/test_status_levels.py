"""Customer status levels (issue 14, item 2), against the real services with the clock set by
the test: an association's level "Privilège" (500 € spent or 12 visits over 12 months, 6 %
instead of the network's 3 %, 10 days of grace); two customers cross it, the day's review
raises both at once; each earns the higher rate at the till online and, with a chip card, in
the offline terminal program once it has downloaded the card's level (a sale made before that
download is booked at the rate the terminal had, not held as suspect); the customer who
consented to e-mails is told, the other not; a year later the sales have left the window and
the level goes after the grace, told again."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from services.cards.domain.cards import add_months
from shared import clock
from shared.clock import PARIS
from shared.contracts import card_transaction_id
from tests import harness
from tests.conftest import Calendar, Network, NetworkFactory, eventually
from tests.growth import GRACE_DAYS, level_terms, offline_desk, rate_when_booked, synced_until
from tests.messaging import Mailbox
from tests.people import call, card_issued, file_of
from tests.people import customer as _customer
from tests.people import email_consent as _consent
from tests.people import messages_of as _messages

pytestmark = pytest.mark.asyncio

CARDS = harness.url("cards")
CRM = harness.url("crm")


async def _level_segment(http: aiohttp.ClientSession, net: Network, code: str) -> int:
    """The size of the association's customers holding level ``code`` (crm's segments)."""
    url = f"{CRM}/v1/associations/{net.association_id}/segments/size"
    status, size = await call(http, "POST", url, {"level_codes": [code]})
    assert status == 200, size
    return int(size["size"])


@pytest.mark.from_today
async def test_a_customer_crosses_a_level_earns_more_online_and_offline_and_is_told_with_consent(
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    mailbox: Mailbox,
    calendar: Calendar,
    tmp_path: Path,
) -> None:
    await calendar.today()
    net = await make_network(merchants=1)
    till = net.terminals[0]
    ana = await _customer(net, http, first_name="Ana")
    bob = await _customer(net, http, first_name="Bob")
    await _consent(http, ana, None)  # Ana agreed to the association's e-mails; Bob did not
    card = await card_issued(
        http, net.association_id, ana, "Martin", f"levels {net.association_id}"
    )
    card = (await net.admin.call("GET", f"{CARDS}/v1/cards/{card['number']}")).body
    phones = {a: (await file_of(http, a))["phone"] for a in (ana, bob)}

    level_id = str(uuid.uuid4())
    made = await net.admin.call("PUT", f"{CARDS}/v1/levels/{level_id}", level_terms(net))
    again = await net.admin.call("PUT", f"{CARDS}/v1/levels/{level_id}", level_terms(net))
    assert (made.status, again.status) == (201, 200), (made, again)
    assert made.body["taux_client_bps"] == 600 and made.body["multiplier"] is None
    for wrong, why in (
        (level_terms(net, min_spent_cents=None, min_visits=None), "malformed"),
        (level_terms(net, multiplier={"numerator": 2}), "malformed"),
        (level_terms(net, code="Privilège"), "malformed"),
    ):
        r = await net.admin.call("PUT", f"{CARDS}/v1/levels/{uuid.uuid4()}", wrong)
        assert (r.status, r.body["reason"]) == (422, why), r
    taken = await net.admin.call("PUT", f"{CARDS}/v1/levels/{uuid.uuid4()}", level_terms(net))
    assert (taken.status, taken.body["reason"]) == (409, "level_conflict"), taken
    moved = await net.admin.call(
        "PUT", f"{CARDS}/v1/levels/{level_id}", level_terms(net, code="gold", rank=2)
    )
    assert (moved.status, moved.body["reason"]) == (409, "level_mismatch"), moved
    listed = await net.admin.call("GET", f"{CARDS}/v1/associations/{net.association_id}/levels")
    assert [lv["code"] for lv in listed.body["levels"]] == ["privilege"]

    # The terminal takes its parameters before anyone holds the level.
    desk = offline_desk(tmp_path, net, card)
    await synced_until(desk, "the terminal's first parameters", lambda p: p.get("levels"))
    assert desk.journal.get("params")["card_levels"] == []

    # Ana and Bob spend 500 € each at 3 %.
    for account in (ana, bob):
        r = await till.sale(phones[account], 50_000)
        assert (r.status, r.body["reward_cents"]) == (201, 1500), r
    today = clock.today_paris()
    reviews = f"{CARDS}/v1/associations/{net.association_id}/level-reviews"
    review = f"{reviews}/{today.isoformat()}"
    first = await net.admin.call("POST", review)
    assert (first.status, first.body["changes"]) == (200, 2), first
    second = await net.admin.call("POST", review)
    assert (second.status, second.body["changes"]) == (200, None), second  # once a day
    future = await net.admin.call("POST", f"{reviews}/{today + timedelta(days=1)}")
    assert (future.status, future.body["reason"]) == (422, "future_day"), future
    held = await net.admin.call("GET", f"{CARDS}/v1/accounts/{ana}/levels")
    assert [(lv["code"], lv["below_since"]) for lv in held.body["levels"]] == [("privilege", None)]

    # Online: 6 %, and the statement says it was the level.
    higher = await till.sale(phones[ana], 10_000)
    assert (higher.status, higher.body["reward_cents"]) == (201, 600), higher
    assert await rate_when_booked(db, uuid.UUID(higher.body["sale_id"])) == (
        600,
        "level.privilege",
    )

    # Offline, before the terminal's next download: the rate it knows, booked as such.
    out = await desk.handle("vente 100")
    assert out[0].startswith("Vente 100,00 € enregistrée : +3,00 €"), out
    terminal = uuid.UUID(till.terminal_id)
    await synced_until(
        desk,
        "the card's level in the terminal's parameters",
        lambda p: [c["card_number"] for c in p.get("card_levels", [])] == [card["number"]],
    )
    assert await rate_when_booked(db, card_transaction_id(terminal, 1)) == (300, "rate.network")
    # After it: the level's 6 %, as online, checked by the server and booked.
    out = await desk.handle("vente 100")
    assert out[0].startswith("Vente 100,00 € enregistrée : +6,00 €"), out
    ok, _ = await desk.sync_once("ip")
    assert ok
    assert await rate_when_booked(db, card_transaction_id(terminal, 2)) == (
        600,
        "level.privilege",
    )
    held_back = await db.fetchval(
        "SELECT count(*) FROM cards.card_quarantine WHERE card_number = $1", card["number"]
    )
    assert held_back == 0

    # crm keeps both levels and tells Ana, who consented, and not Bob.
    async def told() -> bool:
        return len(await _messages(http, ana, "level_changed")) == 1

    await eventually(told, what="Ana told of her level")
    address = (await file_of(http, ana))["email"]
    mail = await mailbox.wait_for_subject(address, "Vous êtes désormais client Privilège")
    assert "Bonjour Ana" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for account in (ana, bob):
        status, kept = await call(http, "GET", f"{CRM}/v1/customers/{account}/levels")
        assert status == 200, kept
        assert [(lv["level_code"], lv["level_name"]) for lv in kept["levels"]] == [
            ("privilege", "Privilège")
        ]
    assert await _messages(http, bob, "level_changed") == []
    assert await _level_segment(http, net, "privilege") == 2  # a segment of the level's holders
    assert await _level_segment(http, net, "gold") == 0

    # A year and 15 days later, the services restarted with their daily review on: the days
    # since are caught up; the sales left the window a year after them, and the level went
    # GRACE_DAYS after that, told to Ana again.
    later = today + timedelta(days=15)
    later = add_months(later, 12)
    await calendar.move_to(
        datetime.combine(later, time(10), PARIS), {"COMPTOIR_DAILY_CHECK_S": "1"}
    )

    async def reviewed() -> bool:
        return bool(
            await db.fetchval(
                "SELECT count(*) FROM cards.level_reviews WHERE association_id = $1 AND day = $2",
                net.association_id,
                later,
            )
        )

    await eventually(reviewed, 60, "the days caught up by the cards service's review")
    for account in (ana, bob):
        r = await net.admin.call("GET", f"{CARDS}/v1/accounts/{account}/levels")
        assert r.body["levels"] == [], r
    below = add_months(today, 12)  # the first day whose window no longer holds the sales

    async def crm_knows() -> bool:
        rows = await db.fetch(
            "SELECT level_code, changed_at FROM crm.customer_levels WHERE account_id = $1",
            uuid.UUID(ana),
        )
        return [r["level_code"] for r in rows] == [None]

    await eventually(crm_knows, what="crm told of the downgrade")
    changed_at = await db.fetchval(
        "SELECT changed_at FROM crm.customer_levels WHERE account_id = $1", uuid.UUID(ana)
    )
    assert changed_at.astimezone(PARIS).date() == below + timedelta(days=GRACE_DAYS)

    async def told_again() -> bool:
        return len(await _messages(http, ana, "level_changed")) == 2

    await eventually(told_again, what="Ana told her level ended")
    ended = await mailbox.wait_for_subject(address, "Votre statut client a changé")
    text = ended.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Votre statut Privilège a pris fin" in text, text
    assert await _messages(http, bob, "level_changed") == []

    async def nobody_holds_it() -> bool:  # Bob's downgrade may reach crm after Ana's
        return await _level_segment(http, net, "privilege") == 0

    await eventually(nobody_holds_it, what="the level's segment empty after the downgrades")
    back = await till.sale(phones[ana], 10_000)
    assert (back.status, back.body["reward_cents"]) == (201, 300), back


async def test_a_merchants_level_with_a_multiplier_counts_that_merchants_visits_only(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=2)
    shop, _ = net.merchants
    ana, bea = await _customer(net, http), await _customer(net, http)
    phones = {a: (await file_of(http, a))["phone"] for a in (ana, bea)}
    body = level_terms(
        net,
        merchant_id=str(shop),
        code="habitue",
        name="Habitué",
        min_spent_cents=None,
        min_visits=3,
        taux_client_bps=None,
        multiplier={"numerator": 3, "denominator": 2},
    )
    status, made = await call(http, "PUT", f"{CARDS}/v1/levels/{uuid.uuid4()}", body)
    assert status == 201, made
    elsewhere = await make_network(merchants=1)
    status, wrong = await call(
        http,
        "PUT",
        f"{CARDS}/v1/levels/{uuid.uuid4()}",
        body | {"merchant_id": str(elsewhere.merchants[0])},
    )
    assert (status, wrong["reason"]) == (422, "merchant_not_in_association"), wrong
    shop_till, other_till = net.terminals
    # Ana: two visits at the shop, two elsewhere; Bea: three at the shop.
    for phone, till in (
        [(phones[ana], shop_till)] * 2
        + [(phones[ana], other_till)] * 2
        + [(phones[bea], shop_till)] * 3
    ):
        assert (await till.sale(phone, 1000)).status == 201
    day = clock.today_paris().isoformat()
    url = f"{CARDS}/v1/associations/{net.association_id}/level-reviews/{day}"
    status, reviewed = await call(http, "POST", url)
    assert (status, reviewed["changes"]) == (200, 1), reviewed
    status, held = await call(http, "GET", f"{CARDS}/v1/accounts/{ana}/levels")
    assert held["levels"] == []
    status, held = await call(http, "GET", f"{CARDS}/v1/accounts/{bea}/levels")
    assert [(lv["code"], lv["merchant_id"], lv["multiplier"]) for lv in held["levels"]] == [
        ("habitue", str(shop), {"numerator": 3, "denominator": 2})
    ]
    at_shop = await shop_till.sale(phones[bea], 10_000)
    at_other = await other_till.sale(phones[bea], 10_000)
    assert (at_shop.body["reward_cents"], at_other.body["reward_cents"]) == (450, 300)
