"""Issue 11, findings 5 and 6: books that say where they differ.

A 1-cent sale is a zero record the reconciliation accepts; a treasurer reconciles their own
association, each failing check names the entries and accounts at fault, and the instance's
run lists the red associations. cards' liability at a date and clearing's balances at that date
count on one basis (when it happened), so a month-end cut-off agrees with late entries.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, time, timedelta
from typing import Any

import aiohttp
import asyncpg
import orjson

from shared import clock
from shared.client import AdminClient, Reply
from shared.clock import PARIS
from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.integration.test_clearing_month import by_hand

CARDS = harness.url("cards")
CLEARING = harness.url("clearing")


def _phone() -> str:
    return "+3362" + "".join(secrets.choice("0123456789") for _ in range(7))


async def _accrual(db: asyncpg.Connection, sale_id: str) -> asyncpg.Record:
    async def booked() -> bool:
        return bool(
            await db.fetchval(
                "SELECT 1 FROM clearing.journal_entries WHERE kind = 'accrual' AND reference_id = $1",
                uuid.UUID(sale_id),
            )
        )

    await eventually(booked, what=f"clearing books sale {sale_id}")
    row = await db.fetchrow(
        "SELECT * FROM clearing.journal_entries WHERE kind = 'accrual' AND reference_id = $1",
        uuid.UUID(sale_id),
    )
    assert row is not None
    return row


async def _reconcile(admin: AdminClient, aid: uuid.UUID | None = None) -> dict[str, Any]:
    if aid is None:
        r = await admin.call("POST", f"{CLEARING}/v1/reconciliation", {"settle_seconds": 0})
    else:
        r = await admin.call(
            "POST", f"{CLEARING}/v1/associations/{aid}/reconciliation", {"settle_seconds": 0}
        )
    assert r.status == 200, r
    body: dict[str, Any] = r.body
    return body


def _failed(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in result["checks"] if not c["ok"]}


async def test_a_one_cent_sale_is_a_zero_record_and_its_association_stays_green(
    services: harness.Services, db: asyncpg.Connection, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=1)
    sale = await net.terminals[0].sale(_phone(), 1)
    assert sale.status == 201, sale
    assert sale.body["reward_cents"] == 0, sale.body

    entry = await _accrual(db, sale.body["sale_id"])
    postings = await db.fetchval(
        "SELECT count(*) FROM clearing.postings WHERE entry_id = $1", entry["id"]
    )
    # The zero record: the sale once in the journal, no money moved.
    assert (postings, entry["reward_cents"], entry["fee_cents"], entry["merchant_cents"]) == (
        0,
        0,
        0,
        0,
    )
    result = await _reconcile(net.admin, net.association_id)
    assert result["ok"] is True, _failed(result)
    assert result["association_id"] == str(net.association_id)
    assert result["red_associations"] == []
    # And it is the association's last run, readable again.
    again = await net.admin.call(
        "GET", f"{CLEARING}/v1/associations/{net.association_id}/reconciliation"
    )
    assert again.status == 200, again
    assert (again.body["id"], again.body["ok"]) == (result["id"], True)


async def test_a_fault_is_named_and_only_its_association_is_red(
    services: harness.Services, db: asyncpg.Connection, make_network: NetworkFactory
) -> None:
    good, bad = await make_network(merchants=1), await make_network(merchants=1)
    # Dated a little before now: the liability check confirms a difference at a cut-off a
    # moment earlier too (reconciliation.EARLIER), which a sale made a few ms ago would miss.
    at = (clock.now() - timedelta(seconds=5)).isoformat()
    for net in (good, bad):
        sale = await net.terminals[0].sale(_phone(), 10_000, occurred_at=at)
        assert sale.status == 201, sale
    entry = await _accrual(db, sale.body["sale_id"])  # bad's sale: 3.00 € reward
    never = await bad.admin.call("GET", f"{CLEARING}/v1/associations/{uuid.uuid4()}/reconciliation")
    assert (never.status, never.body["reason"]) == (404, "never_run"), never

    postings = await db.fetch("SELECT * FROM clearing.postings WHERE entry_id = $1", entry["id"])
    assert postings
    async with by_hand(db):  # the entry loses its postings
        await db.execute("DELETE FROM clearing.postings WHERE entry_id = $1", entry["id"])
    try:
        red = await _reconcile(bad.admin, bad.association_id)
        failed = _failed(red)
        assert red["ok"] is False
        assert red["red_associations"] == [str(bad.association_id)]
        assert {"balanced", "entry_columns", "liability"} <= set(failed), failed
        [balanced] = failed["balanced"]["detail"]
        assert f"entry {entry['id']} (accrual {entry['reference_id']}" in balanced, balanced
        assert "has no postings but says reward 300" in balanced, balanced
        assert failed["balanced"]["associations"] == [str(bad.association_id)]
        # The customer account whose rewards differ is named.
        assert any(
            f"account {entry['account_id']}: rewards 0 here, 300 at cards" in line
            for line in failed["liability"]["detail"]
        ), failed["liability"]

        # The good association's treasurer gets a green light all the same.
        green = await _reconcile(good.admin, good.association_id)
        assert green["ok"] is True, _failed(green)

        # The instance's run lists the red association, not the green one.
        instance = await _reconcile(bad.admin)
        assert instance["ok"] is False
        assert str(bad.association_id) in instance["red_associations"]
        assert str(good.association_id) not in instance["red_associations"]
        last = await bad.admin.call("GET", f"{CLEARING}/v1/reconciliation")
        assert last.status == 200, last
        assert last.body["id"] == instance["id"]
        assert last.body["red_associations"] == instance["red_associations"]
    finally:
        async with by_hand(db):
            await db.executemany(
                "INSERT INTO clearing.postings (id, entry_id, account_id, amount_cents) VALUES ($1, $2, $3, $4)",
                [tuple(p.values()) for p in postings],
            )
    assert (await _reconcile(bad.admin, bad.association_id))["ok"] is True


async def test_an_association_whose_every_entry_clearing_lost_is_red_in_the_instance_run(
    services: harness.Services, db: asyncpg.Connection, make_network: NetworkFactory
) -> None:
    # The instance run compared only the associations clearing had entries for: one whose
    # every entry was lost compared with nothing and stayed green.
    net = await make_network(merchants=1)
    at = (clock.now() - timedelta(seconds=5)).isoformat()  # as in the test above
    sale = await net.terminals[0].sale(_phone(), 10_000, occurred_at=at)
    assert sale.status == 201, sale
    entry = await _accrual(db, sale.body["sale_id"])
    postings = await db.fetch("SELECT * FROM clearing.postings WHERE entry_id = $1", entry["id"])
    async with by_hand(db):
        await db.execute("DELETE FROM clearing.postings WHERE entry_id = $1", entry["id"])
        await db.execute("DELETE FROM clearing.journal_entries WHERE id = $1", entry["id"])
    try:
        red = await _reconcile(net.admin)
        assert str(net.association_id) in red["red_associations"], _failed(red)
        said = f"association {net.association_id}: rewards 0 here, 300 at cards;"
        assert any(line.startswith(said) for line in _failed(red)["liability"]["detail"])
    finally:
        async with by_hand(db):
            await db.execute(
                f"INSERT INTO clearing.journal_entries ({', '.join(entry.keys())}) "
                "SELECT * FROM jsonb_populate_record(NULL::clearing.journal_entries, $1::jsonb)",
                orjson.dumps(dict(entry), default=str).decode(),
            )
            await db.executemany(
                "INSERT INTO clearing.postings (id, entry_id, account_id, amount_cents) "
                "VALUES ($1, $2, $3, $4)",
                [tuple(p.values()) for p in postings],
            )
    assert (await _reconcile(net.admin, net.association_id))["ok"] is True


async def _liability(admin: AdminClient, aid: uuid.UUID, as_of: datetime) -> int:
    async with admin.session.get(
        f"{CARDS}/v1/associations/{aid}/liability",
        params={"as_of": as_of.isoformat()},
        headers=admin.headers,
    ) as r:
        reply = Reply(r.status, await r.json())
    assert reply.status == 200, reply
    return int(reply.body["cagnotte_cents"])


async def _balances(admin: AdminClient, aid: uuid.UUID, at: datetime) -> int:
    async with admin.session.get(
        f"{CLEARING}/v1/associations/{aid}/balances",
        params={"at": at.isoformat()},
        headers=admin.headers,
    ) as r:
        reply = Reply(r.status, await r.json())
    assert reply.status == 200, reply
    return int(reply.body["customer_liability_cents"])


async def test_cards_and_clearing_agree_at_a_month_end_with_entries_written_after_it(
    services: harness.Services,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    make_network: NetworkFactory,
) -> None:
    net = await make_network(merchants=1)
    aid = net.association_id
    month_start = datetime.combine(clock.today_paris().replace(day=1), time(), PARIS)
    # The association's books start the month before, so that a sale of then may be booked.
    previous = (month_start - timedelta(days=1)).date().replace(day=1)
    r = await net.admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{aid}",
        {
            "name": f"test {aid}",
            "rate_mode": "merchant",
            "taux_client_bps": 300,
            "taux_uc_bps": 50,
            "books_start": previous.isoformat(),
        },
    )
    assert r.status == 200, r
    phone = _phone()
    # A till offline at the end of last month syncs today: an entry written after the
    # month-end for a sale made before it; then a sale of this month.
    late = await net.terminals[0].sale(
        phone, 10_000, occurred_at=(month_start - timedelta(hours=12)).isoformat()
    )
    assert late.status == 201, late
    today = await net.terminals[0].sale(phone, 5_000)
    assert today.status == 201, today
    for sale in (late, today):
        await _accrual(db, sale.body["sale_id"])
    # The case: an entry of before the cut-off, written after it. Written is on the services'
    # clock (the sale was sent this month); the database's created_at keeps the real time, which
    # under libfaketime is not the services' (Makefile, test-dates), so it is not what is compared.
    occurred = await db.fetchval(
        "SELECT min(occurred_at) FROM cards.cagnotte_entries WHERE reference_id = $1",
        uuid.UUID(late.body["sale_id"]),
    )
    assert occurred < month_start <= clock.now()

    month_end = month_start - timedelta(microseconds=1)
    assert await _liability(net.admin, aid, month_end) == 300
    assert await _balances(net.admin, aid, month_end) == 300
    now = clock.now()
    assert await _liability(net.admin, aid, now) == await _balances(net.admin, aid, now) == 450
