"""The gateway's edge against the running services (issue 11): terminal input validated
strictly before anything is acknowledged (finding 12), blacklist changes that no terminal
paging through UPDATES can miss (finding 11), and a request whose event cards set aside
ends failed instead of pending for ever (build item 5)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

import aio_pika
import aiohttp
import asyncpg
import orjson
import pytest

from shared import signing
from shared.client import AdminClient, TerminalClient
from shared.events import pack
from shared.sync.client import HttpTransport, LineTransport, SyncClient, SyncRefused
from tests import harness
from tests.cardtx import CardTxFactory, MemoryJournal
from tests.conftest import NetworkFactory, eventually

pytestmark = pytest.mark.timeout(180)
TRANSPORTS = ("http", "line")
CARDS = harness.url("cards")


def _transport(kind: str, t: TerminalClient) -> HttpTransport | LineTransport:
    if kind == "http":
        return HttpTransport(harness.url("terminals"), t.terminal_id, t.secret)
    return LineTransport("127.0.0.1", harness.line_port(), t.terminal_id, t.secret)


async def _committed(db: asyncpg.Connection, terminal_id: str) -> list[int]:
    return [
        r["seq"]
        for r in await db.fetch(
            "SELECT seq FROM terminals.offline_transactions WHERE terminal_id = $1 ORDER BY seq",
            uuid.UUID(terminal_id),
        )
    ]


async def _session(tr: HttpTransport | LineTransport, terminal_id: str) -> str:
    hello = await tr.call("hello", {"terminal_id": terminal_id, **MemoryJournal().hello()})
    return str(hello["session_id"])


# --- Strict input (finding 12) -----------------------------------------------------------------

# What a lax reading took: a string for an integer, a boolean for a counter, a time without
# offset, a time as a number or as digits (read as a Unix time).
LOOSE = [
    ("amount_cents", "100"),
    ("seq", "3"),
    ("atc", True),
    ("occurred_at", "2026-12-01T10:00:00"),
    ("occurred_at", 1764583200),
    ("occurred_at", "1764583200"),
]


@pytest.mark.parametrize("kind", TRANSPORTS)
async def test_a_chunk_with_one_loose_line_is_refused_whole_before_it_is_acknowledged(
    kind: str, make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    t = net.terminals[0]
    lines = CardTxFactory(uuid.UUID(t.terminal_id))
    honest = [lines.sale(amount_cents=1000 + i).model_dump(mode="json") for i in range(4)]
    assert honest[2]["seq"] == 3 and honest[2]["atc"] == 1
    for field, value in LOOSE:
        tr = _transport(kind, t)
        try:
            sid = await _session(tr, t.terminal_id)
            chunk = [*honest[:2], {**honest[2], field: value}, honest[3]]
            with pytest.raises(SyncRefused) as refused:
                await tr.call("chunk", {"session_id": sid, "transactions": chunk})
            assert refused.value.code == "malformed", (field, value, refused.value)
            if kind == "http":
                assert refused.value.status == 422
        finally:
            await tr.aclose()
        # Nothing of the chunk acknowledged: the terminal keeps its four lines.
        assert await _committed(db, t.terminal_id) == [], (field, value)
    tr = _transport(kind, t)
    try:
        sid = await _session(tr, t.terminal_id)
        reply = await tr.call("chunk", {"session_id": sid, "transactions": honest})
        assert (reply["inserted"], reply["committed_through"]) == (4, 4)
    finally:
        await tr.aclose()


async def test_an_online_sale_with_loose_types_is_refused_with_a_code(
    make_network: NetworkFactory,
) -> None:
    net = await make_network(merchants=1)
    t = net.terminals[0]
    base: dict[str, Any] = {"customer": {"phone": "0612345678"}, "amount_cents": 1000}
    for loose in (
        {"amount_cents": "1000"},
        {"amount_cents": 1000.0},
        {"quantity": True},
        {"occurred_at": 1764583200},
        {"occurred_at": "1764583200"},
        {"occurred_at": "2026-12-01T10:00:00"},
    ):
        r = await t.request("POST", "/v1/sales", {"sale_id": str(uuid.uuid4()), **base, **loose})
        assert r.status == 422, (loose, r)
        assert r.body["code"] == "malformed", (loose, r.body)


async def test_a_body_over_one_mib_gets_a_413_with_its_code(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    t = net.terminals[0]
    body = b'{"session_id": "' + b"x" * (1 << 20) + b'"}'
    for path in ("/v1/sync/chunk", "/v1/sales"):
        headers = signing.headers(t.terminal_id, t.secret, "POST", path, body)
        async with http.post(harness.url("terminals") + path, data=body, headers=headers) as r:
            assert r.status == 413
            assert r.content_type == "application/problem+json"
            assert (await r.json())["code"] == "body_too_large"


async def test_every_refusal_of_an_online_request_carries_its_code_and_reason(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    # The fuzz run's finding: 401, 404 and 409 answers to /v1/sales had a title and no code.
    net = await make_network(merchants=1)
    t = net.terminals[0]
    sale = {"sale_id": str(uuid.uuid4()), "customer": {"phone": "0612345678"}, "amount_cents": 1000}
    body = orjson.dumps(sale)
    url = harness.url("terminals") + "/v1/sales"

    async def send(headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        h = {**headers, "Content-Type": "application/json"}
        async with http.post(url, data=body, headers=h) as r:
            assert r.content_type == "application/problem+json"
            return r.status, await r.json()

    signed = signing.headers(t.terminal_id, t.secret, "POST", "/v1/sales", body)
    stranger = signing.headers(str(uuid.uuid4()), t.secret, "POST", "/v1/sales", body)
    forged = signing.headers(t.terminal_id, "not the secret", "POST", "/v1/sales", body)
    old = {**signed, signing.TIMESTAMP: str(int(signed[signing.TIMESTAMP]) - 3600)}
    answers = {
        "unsigned": await send({}),
        "unknown_terminal": await send(stranger),
        "bad_signature": await send(forged),
        "stale": await send(old),
    }
    async with http.post(url, data=body, headers=signed) as first:
        assert first.status == 201, await first.text()
    answers["replay"] = await send(signed)  # the same nonce again
    other = {**sale, "amount_cents": 2000}
    answers["id_conflict"] = (r := await t.request("POST", "/v1/sales", other)).status, r.body
    missing = await t.request("GET", f"/v1/sales/{uuid.uuid4()}")
    answers["unknown_request"] = missing.status, missing.body
    for code, (status, problem) in answers.items():
        assert status in (401, 404, 409), (code, status, problem)
        assert problem["code"] == problem["reason"] == code, problem


# --- Blacklist changes in one snapshot (finding 11) ---------------------------------------------


async def _association_with_terminals(
    http: aiohttp.ClientSession, terminals: int
) -> tuple[AdminClient, uuid.UUID, list[TerminalClient]]:
    admin = AdminClient(http, harness.ADMIN_TOKEN)
    aid, mid = uuid.uuid4(), uuid.uuid4()
    r = await admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{aid}",
        {
            "name": f"blacklist {aid.hex[:6]}",
            "rate_mode": "merchant",
            "taux_client_bps": 300,
            "taux_uc_bps": 50,
            "issuer_prefix": f"{900000 + secrets.randbelow(100000)}",
        },
    )
    assert r.status == 201, r
    r = await admin.call(
        "PUT", f"{CARDS}/v1/associations/{aid}/merchants/{mid}", {"name": "Le Bistrot"}
    )
    assert r.status == 201, r
    out = []
    for i in range(terminals):
        tid, secret = uuid.uuid4(), secrets.token_hex(24)
        r = await admin.call(
            "PUT",
            f"{harness.url('terminals')}/v1/terminals/{tid}",
            {
                "association_id": str(aid),
                "merchant_id": str(mid),
                "shop_id": str(mid),
                "label": f"till {i}",
                "secret": secret,
            },
        )
        assert r.status == 201, r
        out.append(TerminalClient(http, harness.url("terminals"), str(tid), secret))
    return admin, aid, out


async def test_terminals_paging_through_updates_while_cards_are_blocked_end_with_every_change(
    http: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    admin, aid, terminals = await _association_with_terminals(http, 4)
    numbers = []
    for _ in range(60):
        r = await admin.call(
            "POST", f"{CARDS}/v1/associations/{aid}/cards", {"issue_id": str(uuid.uuid4())}
        )
        assert r.status == 201, r
        numbers.append(r.body["number"])
    journals = [MemoryJournal() for _ in terminals]
    blocking = True

    async def block(chunk: list[str]) -> None:
        for n in chunk:
            r = await admin.call("POST", f"{CARDS}/v1/cards/{n}/block", {"reason": "lost"})
            assert r.status == 200, r

    async def page_through(t: TerminalClient, journal: MemoryJournal) -> int:
        runs = 0
        while blocking:
            report = await SyncClient(_transport("http", t), blacklist_page=2).run(journal)
            assert report.ok, report
            runs += 1
        return runs

    syncs = [
        asyncio.create_task(page_through(t, j)) for t, j in zip(terminals, journals, strict=True)
    ]
    await asyncio.gather(*(block(numbers[i::8]) for i in range(8)))

    async def all_at_gateway() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM terminals.blacklist WHERE association_id = $1", aid
        )
        return bool(n == len(numbers))

    await eventually(all_at_gateway, 30, "every change at the gateway")
    blocking = False
    runs = await asyncio.gather(*syncs)
    assert all(r > 0 for r in runs)
    # One more sync each, from where each terminal stands: every change is there.
    for t, journal in zip(terminals, journals, strict=True):
        report = await SyncClient(_transport("http", t), blacklist_page=2).run(journal)
        assert report.ok
        assert sorted(journal.blacklist) == sorted(numbers), sorted(
            set(numbers) - set(journal.blacklist)
        )


async def _insert_change(conn: asyncpg.Connection, version: int, association: uuid.UUID) -> None:
    """A blacklist change as the gateway's consumer writes it (outcomes.on_blacklist)."""
    await conn.execute(
        """INSERT INTO terminals.blacklist (version, card_number, association_id, action, reason,
               changed_at)
           VALUES ($1, $2, $3, 'add', 'lost', now()) ON CONFLICT (version) DO NOTHING""",
        version,
        f"{version:016d}",
        association,
    )


async def test_a_blacklist_change_committed_after_a_later_one_still_reaches_the_terminal(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    """The consumer handles several broker messages at once, so the gateway can commit
    version n+2 before n+1. A terminal that synced between them moved its cursor past n+1,
    which no later sync brought (finding 11: versions lost for good)."""
    net = await make_network(merchants=1)
    t = net.terminals[0]
    journal = MemoryJournal()
    assert (await SyncClient(_transport("http", t), blacklist_page=2).run(journal)).ok
    base = await db.fetchval(
        "SELECT greatest(coalesce(max(version), 0), 2000000000000) FROM terminals.blacklist"
    )
    first, second = base + 1, base + 2
    early = await asyncpg.connect(harness.DATABASE_URL)
    late = await asyncpg.connect(harness.DATABASE_URL)
    try:
        slow = early.transaction()
        await slow.start()
        await _insert_change(early, first, net.association_id)  # not committed yet
        fast = asyncio.create_task(_insert_change(late, second, net.association_id))
        await asyncio.sleep(0.5)  # the later change commits (or waits its turn)
        between = await SyncClient(_transport("http", t), blacklist_page=2).run(journal)
        assert between.ok
        await slow.commit()
        await fast
    finally:
        await early.close()
        await late.close()
    after = await SyncClient(_transport("http", t), blacklist_page=2).run(journal)
    assert after.ok
    assert {f"{first:016d}", f"{second:016d}"} <= set(journal.blacklist), journal.blacklist


# --- A request whose event cards set aside (build item 5) ---------------------------------------


async def test_a_sale_cards_cannot_process_ends_failed_and_the_terminal_is_told(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    net = await make_network(merchants=1)
    t = net.terminals[0]
    sale_id = uuid.uuid4()
    # The gateway recorded the request (as api.Gateway.submit does) and its event reaches
    # cards in a shape cards cannot read (a gateway of another version, a bug): cards sets
    # it aside.
    await db.execute(
        """INSERT INTO terminals.requests (id, kind, terminal_id, body_sha256)
           VALUES ($1, 'sale', $2, $3)""",
        sale_id,
        uuid.UUID(t.terminal_id),
        b"\x00" * 32,
    )
    pending = await t.request("GET", f"/v1/sales/{sale_id}")
    assert (pending.status, pending.body["status"]) == (202, "pending")
    envelope = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "terminals",
        "type": "comptoir.sale.recorded.v1",
        "subject": f"sale/{sale_id}",
        "time": "2026-12-05T10:00:00+00:00",
        "datacontenttype": "application/json",
        "data": {"sale_id": str(sale_id), "amount_cents": "not an amount"},
    }
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange("comptoir.events")
        await exchange.publish(
            aio_pika.Message(
                pack([orjson.dumps(envelope).decode()]),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key="sale.recorded.v1",
        )

    async def decided() -> bool:
        status = await db.fetchval("SELECT status FROM terminals.requests WHERE id = $1", sale_id)
        return bool(status != "pending")

    await eventually(decided, 20, "the request decided")
    answer = await t.request("GET", f"/v1/sales/{sale_id}")
    assert answer.status == 422, answer
    assert answer.body["reason"] == "not_processed"
    assert answer.body["event_id"] == envelope["id"]
    row = await db.fetchrow(
        "SELECT status, http_status FROM terminals.requests WHERE id = $1", sale_id
    )
    assert (row["status"], row["http_status"]) == ("failed", 422)
    # cards kept the event with its reason for an operator.
    kept = await db.fetchval(
        "SELECT count(*) FROM cards.dead_letters WHERE event_id = $1", envelope["id"]
    )
    assert kept == 1


async def test_an_event_another_service_sets_aside_does_not_fail_a_request(
    make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    """Only cards decides a terminal's request: clearing setting aside an event of the same
    subject (after cards answered) must not turn the answer into a failure."""
    net = await make_network(merchants=1)
    t = net.terminals[0]
    r = await t.sale("0612345678", 2000)
    assert r.status == 201, r
    sale_id = uuid.UUID(r.body["sale_id"])
    await db.execute(
        """INSERT INTO terminals.requests (id, kind, terminal_id, body_sha256)
           VALUES ($1, 'sale', $2, $3)""",
        other := uuid.uuid4(),
        uuid.UUID(t.terminal_id),
        b"\x00" * 32,
    )
    connection = await aio_pika.connect(harness.AMQP_URL)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange("comptoir.events")
        for subject, service in ((f"sale/{sale_id}", "cards"), (f"sale/{other}", "clearing")):
            notice = {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": service,
                "type": "comptoir.event.dead_lettered.v1",
                "subject": subject,
                "time": "2026-12-05T10:00:00+00:00",
                "datacontenttype": "application/json",
                "data": {
                    "service": service,
                    "event_id": str(uuid.uuid4()),
                    "event_type": "comptoir.sale.recorded.v1",
                    "event_source": "terminals",
                    "subject": subject,
                    "reason": "handler failed: ValueError('x')",
                },
            }
            await exchange.publish(
                aio_pika.Message(
                    pack([orjson.dumps(notice).decode()]),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key="event.dead_lettered.v1",
            )
    await asyncio.sleep(1.5)
    answered = await t.request("GET", f"/v1/sales/{sale_id}")
    assert (answered.status, answered.body["status"]) == (201, "accepted")
    still = await t.request("GET", f"/v1/sales/{other}")
    assert (still.status, still.body["status"]) == (202, "pending")
