"""The birthday offer as a double rate (issue 13, item 4): on the customer's birthday crm asks
cards to grant that account its own promotion for N days, once whatever the replicas or a day
run again; the customer earns twice at the till during those days (the booked line says it
was the birthday offer), another customer the normal rate, the same customer after the N days
the normal rate. Offline, the terminal does not know the promotion: a chip card's sale earns
the normal rate, and is booked, not held as suspicious. The message says the offer, in the
real SMTP server's mailbox."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from services.crm.domain import triggers as rules
from shared import clock
from shared.contracts import card_transaction_id
from tests import harness
from tests.cardtx import MemoryJournal
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.integration.test_chip_card_receipts import issue_card, sync
from tests.messaging import Mailbox
from tests.people import call as _call
from tests.people import customer as _customer
from tests.people import email_consent as _consent
from tests.people import file_of as _file
from tests.people import messages_of as _messages
from tests.people import trigger as _trigger
from tests.watch import watching

pytestmark = pytest.mark.asyncio

CARDS = harness.url("cards")
CRM = harness.url("crm")


async def _booked_rate(db: asyncpg.Connection, sale_id: uuid.UUID) -> tuple[int, str] | None:
    """The rate and its source of a sale, as clearing booked it for the statements."""
    row = await db.fetchrow(
        """SELECT rate_bps, rate_source FROM clearing.journal_entries
           WHERE kind = 'accrual' AND reference_id = $1""",
        sale_id,
    )
    return None if row is None else (row["rate_bps"], row["rate_source"])


@pytest.mark.from_today
async def test_a_birthday_doubles_that_customers_rate_for_n_days_granted_once(
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    mailbox: Mailbox,
    calendar: Calendar,
) -> None:
    await calendar.today()
    net = await make_network(merchants=1)  # the network's 3 %
    till = net.terminals[0]
    day = clock.today_paris()
    born = date(1984, day.month, day.day)  # a leap year: any day of the year is a birthday
    ana = await _customer(net, http, first_name="Ana", birth_date=born.isoformat())
    other = await _customer(net, http, birth_date=(born - timedelta(days=100)).isoformat())
    for a in (ana, other):
        await _consent(http, a, None)
    trigger = await _trigger(
        http,
        net,
        kind="birthday",
        params={
            "shop_name": "Les Halles",
            "rate_multiplier": 2,
            "rate_days": 2,
            "offer_text": "Bon anniversaire !",
        },
    )
    # a voucher and a rate at once: refused
    status, problem = await _call(
        http,
        "PUT",
        f"{CRM}/v1/triggers/{uuid.uuid4()}",
        {
            "association_id": str(net.association_id),
            "channel": "email",
            "kind": "birthday",
            "params": {"rate_multiplier": 2, "voucher_cents": 500},
        },
    )
    assert (status, problem["reason"]) == (422, "malformed")

    run = f"{CRM}/v1/triggers/{trigger}/days/{day.isoformat()}"
    async with watching("message.requested.v1") as watch:
        # two replicas on the same day: one sends and grants, the other finds the day done
        (s1, a), (s2, b) = await asyncio.gather(_call(http, "POST", run), _call(http, "POST", run))
        assert (s1, s2) == (200, 200), (a, b)
        assert sorted([a["sent"], b["sent"]], key=lambda x: x is None) == [1, None]
        m = await watch.wait_for(lambda d: d["template"] == "birthday_offer")
    assert m["account_id"] == ana and m["category"] == "marketing"
    v = m["variables"]
    assert (v["rate_multiplier"], v["who"], v["offer"]) == (2, ["customer"], "Bon anniversaire !")
    assert v["rate_until"] == (day + timedelta(days=1)).isoformat()
    assert "voucher_code" not in v
    # the message, as the customer reads it (after the enrolment's and the consent's)
    address = (await _file(http, ana))["email"]

    def birthday_mails() -> list[str]:
        return [
            m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            for m in mailbox.to(address)
            if str(m["Subject"]).startswith("Joyeux anniversaire")
        ]

    async def told() -> bool:
        return bool(birthday_mails())

    await eventually(told, what="the birthday e-mail")
    (text,) = birthday_mails()
    assert "vos achats vous rapportent 2 fois plus dans votre cagnotte" in text, text

    async def granted() -> list[Any]:
        r = await net.admin.call("GET", f"{CARDS}/v1/accounts/{ana}/promotions")
        assert r.status == 200, r
        return list(r.body)

    (promotion,) = await granted()
    assert promotion["id"] == str(rules.rate_promotion_id(uuid.UUID(trigger), uuid.UUID(ana), day))
    assert (promotion["reason"], promotion["multiplier"]) == (
        "birthday",
        {"numerator": 2, "denominator": 1},
    )
    assert promotion["merchant_id"] is None
    # the day asked for again (its row lost, as after a crash before it was written): the
    # same message, the same promotion, nothing granted twice
    await db.execute("DELETE FROM crm.daily_runs WHERE job = $1", rules.job(uuid.UUID(trigger)))
    status, again = await _call(http, "POST", run)
    assert (status, again["sent"]) == (200, 1), again
    assert len(await granted()) == 1
    assert len(await _messages(http, ana, "birthday_offer")) == 1
    assert await _messages(http, other, "birthday_offer") == []

    # at the till: Ana earns 6 % (3 % x 2), the other customer 3 %
    phones = {a: (await _file(http, a))["phone"] for a in (ana, other)}
    doubled = await till.sale(phones[ana], 10_000)
    normal = await till.sale(phones[other], 10_000)
    assert doubled.status == normal.status == 201, (doubled, normal)
    assert (doubled.body["reward_cents"], normal.body["reward_cents"]) == (600, 300)

    async def booked() -> bool:
        ids = [uuid.UUID(r.body["sale_id"]) for r in (doubled, normal)]
        return all([await _booked_rate(db, s) for s in ids])

    await eventually(booked, what="clearing booking the sales")
    # the statement's rate column says why Ana's rate was doubled
    assert await _booked_rate(db, uuid.UUID(doubled.body["sale_id"])) == (
        600,
        "promotion.birthday",
    )
    assert await _booked_rate(db, uuid.UUID(normal.body["sale_id"])) == (300, "rate.network")

    # offline, the terminal does not know Ana's promotion: her chip card earns 3 %, and the
    # line is booked as the card says, not held for earning less than online
    card = await issue_card(net, ana)
    terminal = uuid.UUID(till.terminal_id)
    line = card.sale(terminal, 1, 2000, 60, clock.now().replace(microsecond=0))
    await sync(net, MemoryJournal([line]))
    offline_id = card_transaction_id(terminal, 1)

    async def synced() -> bool:
        return await _booked_rate(db, offline_id) is not None

    await eventually(synced, what="the chip card's sale booked")
    assert await _booked_rate(db, offline_id) == (300, "rate.network")
    held = await db.fetchval(
        "SELECT count(*) FROM cards.card_quarantine WHERE card_number = $1", card.number
    )
    assert held == 0

    # two days later, the services restarted on that day with crm's own daily job, which
    # catches up the days since the birthday: nothing granted or told again; Ana earns 3 %
    await calendar.move_to(
        rules.start_of(day + timedelta(days=2)) + timedelta(hours=10),
        {"COMPTOIR_DAILY_CHECK_S": "1"},
    )

    async def caught_up() -> bool:
        found = await db.fetch(
            "SELECT day FROM crm.daily_runs WHERE job = $1 AND finished_at IS NOT NULL",
            rules.job(uuid.UUID(trigger)),
        )
        return sorted(r["day"] for r in found) == [day + timedelta(days=d) for d in range(3)]

    await eventually(caught_up, what="the days since the birthday run by crm's job")
    assert len(await granted()) == 1
    assert len(await _messages(http, ana, "birthday_offer")) == 1
    later = await till.sale(phones[ana], 10_000)
    assert later.status == 201, later
    assert later.body["reward_cents"] == 300

    async def later_booked() -> bool:
        return await _booked_rate(db, uuid.UUID(later.body["sale_id"])) is not None

    await eventually(later_booked, what="the sale after the offer booked")
    assert await _booked_rate(db, uuid.UUID(later.body["sale_id"])) == (300, "rate.network")


async def test_an_accounts_promotion_is_granted_once_per_id_and_its_terms_checked(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    other = await make_network(merchants=1)
    account = await _customer(net, http)
    starts = rules.start_of(clock.today_paris())
    body: dict[str, Any] = {
        "reason": "birthday",
        "merchant_id": str(net.merchants[0]),
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(days=3)).isoformat(),
        "multiplier": {"numerator": 3, "denominator": 2},
    }
    url = f"{CARDS}/v1/accounts/{account}/promotions/{uuid.uuid4()}"
    first = await net.admin.call("PUT", url, body)
    again = await net.admin.call("PUT", url, body)
    assert (first.status, again.status) == (201, 200), (first, again)
    assert again.body == first.body
    longer = body | {"ends_at": (starts + timedelta(days=4)).isoformat()}
    reused = await net.admin.call("PUT", url, longer)
    assert (reused.status, reused.body["reason"]) == (409, "id_reused")
    fresh = f"{CARDS}/v1/accounts/{account}/promotions/{uuid.uuid4()}"
    for wrong, why in (
        (body | {"multiplier": {"numerator": 1}}, "malformed"),
        (body | {"ends_at": body["starts_at"]}, "malformed"),
        (body | {"reason": "whim"}, "malformed"),
    ):
        r = await net.admin.call("PUT", fresh, wrong)
        assert (r.status, r.body["reason"]) == (422, why), r
    elsewhere = await net.admin.call("PUT", fresh, body | {"merchant_id": str(other.merchants[0])})
    assert elsewhere.status == 409, elsewhere
    nobody = await net.admin.call(
        "PUT", f"{CARDS}/v1/accounts/{uuid.uuid4()}/promotions/{uuid.uuid4()}", body
    )
    assert (nobody.status, nobody.body["reason"]) == (404, "unknown_account")
    listed = await net.admin.call("GET", f"{CARDS}/v1/accounts/{account}/promotions")
    assert [p["id"] for p in listed.body] == [first.body["id"]]
