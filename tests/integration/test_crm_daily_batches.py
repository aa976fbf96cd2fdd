"""The daily triggers over files written straight into crm's tables, more than a batch per day
(issue 13, item 8: each day's candidates found through migration 0005's indexes, their files,
consents and caps read for a whole batch at once): each of the six daily triggers (birthday,
not seen for three months, visits spacing out; the network's and a merchant's) reaches exactly
the customers that the domain's rules, asked one person at a time, say it should — their
birthday or a spouse's or a child's (a 29 February on a 28th), the last visit, the usual
interval, the consent of the trigger's channel, scope and address, the frequency cap counted
across the triggers run before it — and nobody erased."""

from __future__ import annotations

import calendar
import random
import uuid
from datetime import date, datetime, timedelta
from typing import Any, cast

import aiohttp
import asyncpg
import pytest

from services.crm.domain import triggers as rules
from services.crm.domain.consent import Consent, may_send
from shared import clock
from tests import harness
from tests.conftest import WRITTEN_BY_HAND, NetworkFactory
from tests.people import call as _call

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")
CUSTOMERS = 450  # the network's triggers find more than a batch (200) each
MAX_MESSAGES = 2


def _next_plain_28_february(today: date) -> date:
    """The next 28 February of a year without a 29th: the leaplings are told that day."""
    year = today.year
    while calendar.isleap(year) or date(year, 2, 28) < today:
        year += 1
    return date(year, 2, 28)


def _customers(
    rng: random.Random, association: uuid.UUID, merchant: uuid.UUID, day: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[Any, ...]]]:
    """Customers, half of them in the merchant's file, each likely to meet each trigger."""
    noon = rules.start_of(day) + timedelta(hours=12)
    window = rules.start_of(rules.months_before(day, 3))

    def born(year: int) -> date:
        pick = rng.random()
        if pick < 0.35:
            return date(year, 2, 28)
        if pick < 0.5:
            return date(rng.choice((1984, 1996, 2012)), 2, 29)
        return date(year, 1, 1) + timedelta(days=rng.randrange(365))

    def visits() -> tuple[int, datetime, datetime]:
        """(count, first, last): the last in the absence window or not, spacing out or not."""
        n = rng.randint(1, 6)
        last = window + timedelta(hours=rng.randint(1, 22))
        if rng.random() < 0.4:
            last -= timedelta(days=rng.randint(2, 40))
        if n >= 3 and rng.random() < 0.6:  # due on ``day``: last + usual * 2 = noon
            return n, last - (noon - last) / 2 * (n - 1), last
        return n, last - timedelta(days=rng.randint(0, 300)), last

    files, in_file, consents = [], [], []
    for i in range(CUSTOMERS):
        account = uuid.uuid4()
        n, first, last = visits()
        f = {
            "account_id": account,
            "email": f"daily{i}-{account.hex[:6]}@example.fr",
            "birth_date": born(1970) if rng.random() < 0.6 else None,
            "spouse_birthday": born(1972) if rng.random() < 0.3 else None,
            "children_birthdays": [born(2010) for _ in range(rng.choice((0, 0, 1, 2)))],
            "visit_count": n,
            "enrolled_at": first,
            "last_visit_at": last,
            "erased_at": noon - timedelta(days=400) if rng.random() < 0.04 else None,
        }
        files.append(f)
        if rng.random() < 0.5:
            mn, mfirst, mlast = visits()
            in_file.append(
                {"account_id": account, "visit_count": mn, "first": mfirst, "last": mlast}
            )
        for scope in (None, merchant):
            if rng.random() < 0.6:
                status = rng.choice(("confirmed", "confirmed", "confirmed", "withdrawn"))
                # a consent given for an old address does not follow a new one
                address = f["email"] if rng.random() < 0.9 else "old@example.fr"
                consents.append(
                    (uuid.uuid4(), account, association, "email", scope, status, address)
                )
    return files, in_file, consents


async def _write(
    db: asyncpg.Connection,
    association: uuid.UUID,
    merchant: uuid.UUID,
    files: list[dict[str, Any]],
    in_file: list[dict[str, Any]],
    consents: list[tuple[Any, ...]],
    history: dict[uuid.UUID, int],
) -> None:
    now = clock.now()
    await db.executemany(
        """INSERT INTO crm.customers (account_id, association_id, email, first_name,
                  birth_date, spouse_birthday, children_birthdays, visit_count, enrolled_at,
                  last_visit_at, erased_at)
           VALUES ($1, $2, $3, 'Lou', $4, $5, $6, $7, $8, $9, $10)""",
        [
            (
                f["account_id"],
                association,
                f["email"],
                f["birth_date"],
                f["spouse_birthday"],
                f["children_birthdays"],
                f["visit_count"],
                f["enrolled_at"],
                f["last_visit_at"],
                f["erased_at"],
            )
            for f in files
        ],
    )
    await db.executemany(
        """INSERT INTO crm.merchant_customers (account_id, merchant_id, visit_count,
                  first_visit_at, last_visit_at, joined_at, joined_how)
           VALUES ($1, $2, $3, $4, $5, $4, 'visit')""",
        [(m["account_id"], merchant, m["visit_count"], m["first"], m["last"]) for m in in_file],
    )
    await db.executemany(
        """INSERT INTO crm.consents (id, account_id, association_id, channel, merchant_id,
                  status, address, wording, requested_at, confirmed_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'J''accepte', $8, $8, $8)""",
        [(*c, now - timedelta(days=60)) for c in consents],
    )
    await db.executemany(
        """INSERT INTO crm.customer_messages (message_id, account_id, channel, category,
                  template, status, requested_at, updated_at)
           VALUES ($1, $2, 'email', 'marketing', 'newsletter', 'delivered', $3, $3)""",
        [
            (uuid.uuid4(), account, now - timedelta(days=1, minutes=k))
            for account, count in history.items()
            for k in range(count)
        ],
    )


def _expected(
    kind: str,
    merchant: uuid.UUID | None,
    day: date,
    files: list[dict[str, Any]],
    in_file: dict[uuid.UUID, dict[str, Any]],
    consents: dict[uuid.UUID, list[Consent]],
    sent: dict[uuid.UUID, int],
) -> tuple[int, set[uuid.UUID]]:
    """How many customers of the scope the trigger's day concerns, and whom it reaches,
    person by person, by the domain's rules."""
    out, concerned = set(), 0
    start, end = rules.absent_window(day, 3)
    for f in files:
        account = f["account_id"]
        if f["erased_at"] is not None or (merchant is not None and account not in in_file):
            continue
        m = in_file.get(account)
        n, first, last = (
            (f["visit_count"], f["enrolled_at"], f["last_visit_at"])
            if merchant is None or m is None
            else (m["visit_count"], m["first"], m["last"])
        )
        if kind == "birthday":
            reached = bool(
                rules.whose_birthday(
                    day, f["birth_date"], f["spouse_birthday"], f["children_birthdays"]
                )
            )
        elif kind == "we_miss_you":
            reached = start <= last < end
        else:
            reached = rules.spacing_out_on(day, n, first, last, 2)
        concerned += reached
        consent = may_send(consents.get(account, []), "email", merchant, f["email"])
        if reached and consent is not None and not rules.capped(sent[account], MAX_MESSAGES):
            out.add(account)
            sent[account] += 1
    return concerned, out


async def test_each_daily_trigger_reaches_whom_the_rules_say_over_several_batches(
    make_network: NetworkFactory, http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    rng = random.Random(13)
    # A network cards knows (a trigger's merchant must be the association's), its customer
    # files written straight into crm's tables.
    net = await make_network(merchants=1)
    association, merchant = net.association_id, net.merchants[0]
    WRITTEN_BY_HAND.add(association)
    day = _next_plain_28_february(clock.today_paris())
    files, in_file, consents = _customers(rng, association, merchant, day)
    history = {f["account_id"]: rng.choice((0, 0, 1, 2)) for f in files}
    await _write(db, association, merchant, files, in_file, consents, history)
    status, _ = await _call(
        http,
        "PUT",
        f"{CRM}/v1/associations/{association}/marketing-cap",
        {"max_messages": MAX_MESSAGES, "per_days": 30},
    )
    assert status == 200
    held: dict[uuid.UUID, list[Consent]] = {}
    for c in consents:
        held.setdefault(c[1], []).append(Consent(c[0], c[3], c[4], c[5], c[6]))
    files_of = {m["account_id"]: m for m in in_file}
    sent = dict(history)
    triggers = []
    try:
        for scope in (None, merchant):
            for kind, params in (
                ("birthday", {"offer_text": "Un café", "voucher_days": 366}),
                ("we_miss_you", {"months": 3}),
                ("spacing_out", {"factor": 2}),
            ):
                trigger = uuid.uuid4()
                triggers.append(trigger)
                body = {
                    "association_id": str(association),
                    "merchant_id": str(scope) if scope else None,
                    "kind": kind,
                    "channel": "email",
                    "params": params,
                }
                status, saved = await _call(http, "PUT", f"{CRM}/v1/triggers/{trigger}", body)
                assert status == 200, saved
                concerned, want = _expected(kind, scope, day, files, files_of, held, sent)
                run = f"{CRM}/v1/triggers/{trigger}/days/{day.isoformat()}"
                status, ran = await _call(http, "POST", run)
                assert (status, ran["sent"]) == (200, len(want)), (kind, scope, ran)
                found = await db.fetch(
                    "SELECT account_id, message_id FROM crm.customer_messages "
                    "WHERE account_id = ANY($1::uuid[]) AND template = $2 AND requested_at > $3",
                    [f["account_id"] for f in files],
                    rules.TEMPLATES[cast(rules.Kind, kind)],
                    clock.now() - timedelta(hours=1),
                )
                got = {
                    r["account_id"]
                    for r in found
                    if r["message_id"] == rules.message_id(trigger, r["account_id"], day)
                }
                assert got == want, (kind, scope, len(got), len(want))
                if scope is None and kind != "spacing_out":
                    assert concerned > 200  # more than one batch
                # the day once: asked again, nothing more
                assert (await _call(http, "POST", run))[1]["sent"] is None
        assert sum(sent.values()) - sum(history.values()) > 200
        assert any(rules.capped(n, MAX_MESSAGES) for n in sent.values())
    finally:
        for trigger in triggers:  # no other test's clock runs them
            await db.execute("UPDATE crm.triggers SET enabled = false WHERE id = $1", trigger)
