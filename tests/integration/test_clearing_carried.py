"""A position the close could not settle (a shop without bank details) is carried: the next
close settles it with that month's own figures, reading only its month, and the
reconciliation says what the close held is what the whole journal says is due.

Rate mode merchant, taux client 3 %, taux UC 0.5 %:

| month     | line                              | shop A          | shop B          | operator |
|-----------|-----------------------------------|-----------------|-----------------|----------|
| August    | Alice buys 100.00 at A            | +3.00 + 0.50    |                 | -0.50    |
| August    | Alice spends 2.00 of it at B      |                 | -2.00           |          |
| close     | A collected, operator paid        | 0               | -2.00 held      | 0        |
| September | Bob buys 50.00 at B               |                 | +1.50 + 0.25    | -0.25    |
| close     | B paid 2.00 - 1.75, operator paid |                 | 0               | 0        |

On its own calendar whatever today's date: the services' clock is in August 2026 while the
association starts and August is sold, then in September, then in October for the closes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.integration.test_clearing_month import _iban, _ok, _reconcile

CLEARING = harness.url("clearing")


def _on(month: int, day: int) -> str:
    return datetime(2026, month, day, 10, tzinfo=UTC).isoformat()


async def test_a_held_position_is_settled_by_the_next_close(
    calendar: Calendar, make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    await calendar.move_to(datetime(2026, 8, 20, 10, tzinfo=UTC))
    net = await make_network(merchants=2, taux_client_bps=300, taux_uc_bps=50)
    admin, aid = net.admin, net.association_id
    shop_a, shop_b = net.merchants
    ta, tb = net.terminals
    await _ok(await ta.enrol("+33611000101", first_name="Alice", last_name="Martin"), 201, 200)
    await _ok(await ta.enrol("+33611000102", first_name="Bob", last_name="Durand"), 201, 200)

    async def bank_details(kind: str, party: uuid.UUID, n: int, **extra: str) -> None:
        body = {"holder": f"{kind} {n}", "iban": _iban(n), "bic": "BNPAFRPPXXX", **extra}
        await _ok(await admin.call("PUT", f"{CLEARING}/v1/bank-details/{kind}/{party}", body))

    await bank_details("association", aid, 1, creditor_id="FR72ZZZ123456")
    await bank_details("operator", uuid.UUID(int=0), 2)
    await bank_details("merchant", shop_a, 3, mandate_id="A-1", mandate_signed_on="2026-01-15")

    async def booked(month: int, count: int) -> None:
        async def check() -> bool:
            n = await db.fetchval(
                """SELECT count(*) FROM clearing.journal_entries
                   WHERE association_id = $1 AND period = $2""",
                aid,
                datetime(2026, month, 1).date(),
            )
            return bool(n == count)

        await eventually(check, what=f"{count} entries of 2026-{month:02d} in clearing")

    async def close(period: str) -> dict[str, Any]:
        url = f"{CLEARING}/v1/associations/{aid}/periods/{period}/close"
        closed = await _ok(await admin.call("POST", url, {"actor": "test"}), 201)
        settlement: dict[str, Any] = closed["settlement"]
        return settlement

    await _ok(await ta.sale("+33611000101", 10_000, occurred_at=_on(8, 5)), 201)
    await _ok(await tb.redeem("+33611000101", 200, occurred_at=_on(8, 10)), 201)
    await booked(8, 2)
    await calendar.move_to(datetime(2026, 9, 10, 10, tzinfo=UTC))
    august = await close("2026-08")
    assert august["status"] == "ready"
    assert (august["collections_count"], august["collections_cents"]) == (1, 350)
    assert (august["transfers_count"], august["transfers_cents"]) == (1, 50)
    assert [(h["party_id"], h["amount_cents"], h["reason"]) for h in august["held"]] == [
        (str(shop_b), -200, "no bank details")
    ]

    await bank_details("merchant", shop_b, 4, mandate_id="B-1", mandate_signed_on="2026-01-15")
    await _ok(await tb.sale("+33611000102", 5_000, occurred_at=_on(9, 7)), 201)
    await booked(9, 1)
    await calendar.move_to(datetime(2026, 10, 2, 10, tzinfo=UTC))
    september = await close("2026-09")
    assert september["status"] == "ready" and september["held"] == []
    assert september["collections_count"] == 0
    # B: 2.00 owed since August less 1.75 due for September; the operator: 0.25.
    assert (september["transfers_count"], september["transfers_cents"]) == (2, 25 + 25)
    transfers = await db.fetch(
        """SELECT merchant_id, amount_cents FROM clearing.journal_entries
           WHERE association_id = $1 AND kind = 'settlement' AND period = '2026-09-01'
             AND merchant_id IS NOT NULL""",
        aid,
    )
    assert [(r["merchant_id"], r["amount_cents"]) for r in transfers] == [(shop_b, -25)]
    assert (await _reconcile(admin, aid))["ok"] is True

    # What a close held, changed by hand, no longer matches the journal: the check says so.
    row = await db.fetchrow(
        "SELECT id, held FROM clearing.settlements WHERE association_id = $1 AND period = $2",
        aid,
        datetime(2026, 9, 1).date(),
    )
    forged = [
        {"party_kind": "merchant", "party_id": str(shop_a), "amount_cents": 99, "reason": "x"}
    ]
    await db.execute(
        "UPDATE clearing.settlements SET held = $2::jsonb WHERE id = $1",
        row["id"],
        orjson.dumps(forged).decode(),
    )
    try:
        red = await _reconcile(admin, aid)
    finally:
        await db.execute(
            "UPDATE clearing.settlements SET held = $2::jsonb WHERE id = $1", row["id"], row["held"]
        )
    failed = {c["name"]: c for c in red["checks"] if not c["ok"]}
    assert set(failed) == {"held_positions"}, red
    assert failed["held_positions"]["difference"] == 99
    assert str(shop_a) in failed["held_positions"]["detail"][0]
    assert (await _reconcile(admin, aid))["ok"] is True
