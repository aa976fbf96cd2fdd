"""Finding 2 of issue 11: two returns of one sale, or a return and a cancellation, sent at the
same instant through the real gateway and services, end with exactly what one of them allows.

Each trial gives a fresh customer two sales of 100.00 € (3 % → 3.00 € each, 6.00 € held), so
that the account could pay a second reversal of the same sale: only the sale's history, read
under the lock, can refuse it. Five networks run their trials side by side to keep it short.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass

import aiohttp
import asyncpg
import pytest

from shared.client import Reply, TerminalClient
from tests import harness
from tests.bookkeeping import assert_books_agree
from tests.conftest import Network, NetworkFactory, eventually

TRIALS = 100
LANES = 5
SALE_CENTS = 10_000
REWARD_CENTS = 300  # 3 % of the sale, the network's rate (tests/conftest.py)
BUSY_S = 0.2  # how long the account stays locked while the two returns arrive


@dataclass(frozen=True)
class Trial:
    association_id: uuid.UUID
    phone: str
    sale_id: str
    # (return_id, amount_cents, reason, reply) of the two requests sent together
    sent: tuple[tuple[str, int, str, Reply], tuple[str, int, str, Reply]]


def _phone() -> str:
    return "+3361" + "".join(secrets.choice("0123456789") for _ in range(7))


async def _trial(
    net: Network,
    till: TerminalClient,
    conn: asyncpg.Connection,
    first: tuple[int, str],
    second: tuple[int, str],
) -> Trial:
    phone = _phone()
    for _ in range(2):
        sale = await till.sale(phone, SALE_CENTS)
        assert sale.status == 201, sale
        assert sale.body["reward_cents"] == REWARD_CENTS, sale.body
    sale_id = sale.body["sale_id"]
    plan = [(str(uuid.uuid4()), *first), (str(uuid.uuid4()), *second)]
    # The account is busy (another operation holds its row) while both returns arrive, so
    # that both wait for it: the window a busy till opens at random, opened every time.
    async with conn.transaction():
        await conn.execute(
            "SELECT 1 FROM cards.accounts WHERE association_id = $1 AND phone = $2 FOR UPDATE",
            net.association_id,
            phone,
        )
        sent = asyncio.gather(
            *(till.return_sale(sale_id, amount, reason, rid) for rid, amount, reason in plan)
        )
        await asyncio.sleep(BUSY_S)
    replies = await sent
    a, b = ((*p, r) for p, r in zip(plan, replies, strict=True))
    return Trial(net.association_id, phone, sale_id, (a, b))


async def _run(
    make_network: NetworkFactory, first: tuple[int, str], second: tuple[int, str]
) -> list[Trial]:
    nets = [await make_network(merchants=1) for _ in range(LANES)]

    async def lane(net: Network) -> list[Trial]:
        conn = await asyncpg.connect(harness.DATABASE_URL)
        try:
            return [
                await _trial(net, net.terminals[0], conn, first, second)
                for _ in range(TRIALS // LANES)
            ]
        finally:
            await conn.close()

    return [t for trials in await asyncio.gather(*(lane(n) for n in nets)) for t in trials]


def _reversed_cents(amount_cents: int) -> int:
    """What a return of ``amount_cents`` of one of the trial's sales takes back."""
    return REWARD_CENTS * amount_cents // SALE_CENTS


async def _check(db: asyncpg.Connection, trials: list[Trial]) -> None:
    """Each trial: one request accepted, the other refused as exceeding the sale; the account,
    the cards' reversal entries and clearing's reversal entries show the winner only."""
    winners: dict[str, tuple[int, int]] = {}  # return_id -> (amount, reward reversed)
    losers: list[str] = []
    for t in trials:
        accepted = [s for s in t.sent if s[3].status == 201]
        refused = [s for s in t.sent if s[3].status != 201]
        assert len(accepted) == 1 and len(refused) == 1, [s[3] for s in t.sent]
        rid, amount, _, reply = accepted[0]
        assert reply.body["reward_reversed_cents"] == _reversed_cents(amount), reply.body
        assert reply.body["balance_cents"] == 2 * REWARD_CENTS - _reversed_cents(amount)
        loser = refused[0][3]
        assert (loser.status, loser.body["reason"]) == (422, "return_exceeds_sale"), loser
        winners[rid] = (amount, _reversed_cents(amount))
        losers.append(refused[0][0])

        balance = await db.fetchval(
            """SELECT balance_cents + pending_cents FROM cards.accounts
               WHERE association_id = $1 AND phone = $2""",
            t.association_id,
            t.phone,
        )
        assert balance == 2 * REWARD_CENTS - _reversed_cents(amount), (t, balance)
        cards = await db.fetch(
            """SELECT reference_id, sum(purchase_cents) AS returned, -sum(amount_cents) AS reward
               FROM cards.cagnotte_entries WHERE kind = 'reversal' AND reverses = $1
               GROUP BY reference_id""",
            uuid.UUID(t.sale_id),
        )
        assert [(str(r["reference_id"]), r["returned"], r["reward"]) for r in cards] == [
            (rid, amount, _reversed_cents(amount))
        ], (t, cards)

    refs = [uuid.UUID(r) for r in [*winners, *losers]]

    async def clearing_booked() -> bool:
        n = await db.fetchval(
            """SELECT count(*) FROM clearing.journal_entries
               WHERE kind = 'reversal' AND reference_id = ANY($1::uuid[])""",
            refs,
        )
        return bool(n >= len(winners))

    await eventually(clearing_booked, what="clearing books the accepted returns")
    rows = await db.fetch(
        """SELECT reference_id, count(*) OVER (PARTITION BY reference_id) AS n,
                  amount_cents, reward_cents
           FROM clearing.journal_entries
           WHERE kind = 'reversal' AND reference_id = ANY($1::uuid[])""",
        refs,
    )
    booked = {str(r["reference_id"]): (r["amount_cents"], r["reward_cents"]) for r in rows}
    assert all(r["n"] == 1 for r in rows), rows
    assert booked == winners, "clearing booked other returns than cards accepted"
    for association in {t.association_id for t in trials}:
        await assert_books_agree(db, association)


async def test_two_simultaneous_returns_of_one_sale_reverse_it_once(
    services: harness.Services,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    make_network: NetworkFactory,
) -> None:
    trials = await _run(make_network, (SALE_CENTS, "returned"), (SALE_CENTS, "returned"))
    assert len(trials) == TRIALS
    await _check(db, trials)


async def test_a_return_racing_a_cancellation_ends_as_one_of_them(
    services: harness.Services,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    make_network: NetworkFactory,
) -> None:
    """A cancellation in full and a return of half the sale: either wins, and then the other
    exceeds what is left of the sale."""
    trials = await _run(make_network, (SALE_CENTS, "cancelled"), (SALE_CENTS // 2, "returned"))
    assert len(trials) == TRIALS
    await _check(db, trials)


async def test_the_database_refuses_a_return_beyond_the_sale(
    services: harness.Services, db: asyncpg.Connection, make_network: NetworkFactory
) -> None:
    """The second wall: a reversal written past the handler (here by hand) that would take back
    more than the sale is refused by the database itself (migration 0005)."""
    net = await make_network(merchants=1)
    till = net.terminals[0]
    phone = _phone()
    for _ in range(2):
        sale = await till.sale(phone, SALE_CENTS)
        assert sale.status == 201, sale
    sale_id = uuid.UUID(sale.body["sale_id"])
    half = await till.return_sale(str(sale_id), SALE_CENTS // 2)
    assert half.status == 201, half
    row = await db.fetchrow(
        """SELECT account_id, merchant_id FROM cards.cagnotte_entries
           WHERE kind = 'cagnottage' AND reference_id = $1""",
        sale_id,
    )
    insert = """INSERT INTO cards.cagnotte_entries
                  (account_id, kind, bucket, reference_id, amount_cents, balance_after_cents,
                   purchase_cents, merchant_id, occurred_at, reverses)
                VALUES ($1, 'reversal', 'available', $2, $3, 0, $4, $5, now(), $6)"""
    # What is left of the sale may still be returned (accepted, then rolled back)...
    tx = db.transaction()
    await tx.start()
    try:
        await db.execute(
            insert,
            row["account_id"],
            uuid.uuid4(),
            -150,
            SALE_CENTS // 2,
            row["merchant_id"],
            sale_id,
        )
    finally:
        await tx.rollback()
    # ... one cent more than the sale, or one cent of reward more than it earned, may not.
    for purchase, reward in ((SALE_CENTS // 2 + 1, 150), (SALE_CENTS // 2, 151)):
        with pytest.raises(asyncpg.CheckViolationError, match="exceed"):
            await db.execute(
                insert,
                row["account_id"],
                uuid.uuid4(),
                -reward,
                purchase,
                row["merchant_id"],
                sale_id,
            )
