"""The five services run on the calendar they are given (COMPTOIR_CLOCK), not on the machine's:
the gateway dates a sale and judges a signature's timestamp by it, clearing says whether a
month is over by it. This is what lets every dated test choose its dates whatever today is."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import date, datetime, timedelta

import aiohttp
import asyncpg

from shared import clock, signing
from shared.clock import PARIS
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually

CLEARING = harness.url("clearing")
IN_MAY = datetime(2031, 5, 20, 10, 0, tzinfo=PARIS)
IN_JUNE = datetime(2031, 6, 2, 10, 0, tzinfo=PARIS)


async def test_the_services_date_judge_and_close_on_the_calendar_they_are_given(
    calendar: Calendar,
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
) -> None:
    await calendar.move_to(IN_MAY)
    net = await make_network(merchants=1)
    admin, aid, (till,) = net.admin, net.association_id, net.terminals
    phone = "+33611000901"
    assert (await till.enrol(phone, first_name="Léa", last_name="Roux")).status in (200, 201)

    # A sale sent without a date is dated by the gateway: 20 May 2031, not today.
    sale_id = str(uuid.uuid4())
    sold = await till.sale(phone, 1000, sale_id=sale_id)
    assert sold.status == 201, sold
    occurred = await db.fetchval(
        "SELECT occurred_at FROM cards.cagnotte_entries WHERE reference_id = $1",
        uuid.UUID(sale_id),
    )
    assert IN_MAY <= occurred < IN_MAY + timedelta(minutes=5), occurred

    async def booked() -> bool:
        period = await db.fetchval(
            "SELECT period FROM clearing.journal_entries WHERE association_id = $1", aid
        )
        return bool(period == date(2031, 5, 1))

    await eventually(booked, what="the sale in clearing's May 2031")

    # A request signed by the machine's clock is years off the gateway's: stale.
    body = json.dumps(
        {"sale_id": str(uuid.uuid4()), "customer": {"phone": phone}, "amount_cents": 100}
    ).encode()
    machine_ts = str(int(clock.SystemClock().now().timestamp()))
    nonce = secrets.token_hex(16)
    headers = {
        signing.TERMINAL: till.terminal_id,
        signing.TIMESTAMP: machine_ts,
        signing.NONCE: nonce,
        signing.SIGNATURE: signing.sign(till.secret, "POST", "/v1/sales", machine_ts, nonce, body),
        "Content-Type": "application/json",
    }
    async with http.post(harness.url("terminals") + "/v1/sales", data=body, headers=headers) as r:
        assert r.status == 401, await r.text()
        assert (await r.json())["title"] == "Stale request"

    # May 2031 is not over on 20 May; it is on 2 June.
    close = f"{CLEARING}/v1/associations/{aid}/periods/2031-05/close"
    early = await admin.call("POST", close, {"actor": "test"})
    assert (early.status, early.body["reason"]) == (409, "period_not_over"), early
    await calendar.move_to(IN_JUNE)
    closed = await admin.call("POST", close, {"actor": "test"})
    assert closed.status == 201, closed
    assert closed.body["periods"] == ["2031-05"]
