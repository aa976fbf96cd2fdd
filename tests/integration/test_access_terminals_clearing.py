"""The scope of the gateway's and clearing's back-office routes with real scope tokens, for the
cases the matrix does not spell out: what a filtered list holds, a terminal that cannot be
taken over, and the signed-in person recorded with a close and an adjustment (issue 15)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg

from shared import clock
from shared.access import Principal, dev_token
from shared.client import AdminClient, Reply
from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.people import new_phone

TERMINALS = harness.url("terminals")
CLEARING = harness.url("clearing")


def _as(http: aiohttp.ClientSession, p: Principal) -> AdminClient:
    return AdminClient(http, dev_token(p))


def _refused(r: Reply) -> bool:
    return r.status == 403 and r.body["reason"] == "out_of_scope"


async def test_a_manager_lists_its_own_terminals_and_cannot_take_another_merchants(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=2)
    aid, (mine, theirs) = net.association_id, net.merchants
    mine_till, their_till = (t.terminal_id for t in net.terminals)
    manager = _as(http, Principal("manager@shop", "manager", aid, mine))
    admin = _as(http, Principal("admin@asso", "association_admin", aid))

    own = f"association_id={aid}&merchant_id={mine}"
    for path in ("/v1/terminals", "/v1/sync/registry"):
        listed = await manager.call("GET", f"{TERMINALS}{path}?{own}")
        assert listed.status == 200, listed
        assert [t.get("id") or t.get("terminal_id") for t in listed.body] == [mine_till]
        # The whole network's, or the whole association's: not a manager's.
        assert _refused(await manager.call("GET", f"{TERMINALS}{path}"))
        assert _refused(await manager.call("GET", f"{TERMINALS}{path}?association_id={aid}"))
        # The association's admin sees both of its merchants' terminals, and no one else's.
        both = await admin.call("GET", f"{TERMINALS}{path}?association_id={aid}")
        assert both.status == 200, both
        assert {t.get("id") or t.get("terminal_id") for t in both.body} == {mine_till, their_till}
    assert (await manager.call("GET", f"{TERMINALS}/v1/terminals/{mine_till}/sync")).status == 200
    assert _refused(await manager.call("GET", f"{TERMINALS}/v1/terminals/{their_till}/sync"))

    # The other merchant's terminal, claimed for the manager's own merchant: refused, unchanged.
    claim = {
        "association_id": str(aid),
        "merchant_id": str(mine),
        "shop_id": str(mine),
        "label": "taken",
    }
    assert _refused(await manager.call("PUT", f"{TERMINALS}/v1/terminals/{their_till}", claim))
    after = await admin.call("GET", f"{TERMINALS}/v1/terminals?association_id={aid}")
    held = {t["id"]: (t["merchant_id"], t["label"]) for t in after.body}
    assert held[their_till] == (str(theirs), "till 1")
    # A new terminal for the manager's own merchant is the manager's to register.
    new = await manager.call("PUT", f"{TERMINALS}/v1/terminals/{uuid.uuid4()}", claim)
    assert new.status == 201 and new.body["secret"], new


async def test_a_close_and_an_adjustment_record_the_signed_in_person_not_the_body(
    services: harness.Services,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
    make_network: NetworkFactory,
) -> None:
    net, other = await make_network(merchants=1), await make_network(merchants=1)
    aid, (mid,) = net.association_id, net.merchants
    # A sale three months back: the books start that month, which can then be closed.
    start = clock.now().date().replace(day=1) - timedelta(days=80)
    month = start.strftime("%Y-%m")
    at = datetime.combine(start.replace(day=2), datetime.min.time(), UTC).isoformat()
    sale = await net.terminals[0].sale(new_phone(), 2_000, occurred_at=at)
    assert sale.status == 201, sale

    async def booked() -> bool:
        found = await db.fetchval(
            "SELECT 1 FROM clearing.journal_entries WHERE reference_id = $1",
            uuid.UUID(sale.body["sale_id"]),
        )
        return bool(found)

    await eventually(booked, what="clearing books the sale")
    treasurer = _as(http, Principal("treasurer@asso", "association_admin", aid))
    stranger = _as(http, Principal("treasurer@other", "association_admin", other.association_id))
    manager = _as(http, Principal("manager@shop", "manager", aid, mid))

    close = f"{CLEARING}/v1/associations/{aid}/periods/{month}/close"
    assert _refused(await stranger.call("POST", close, {}))
    assert _refused(await manager.call("POST", close, {}))
    closed = await treasurer.call("POST", close, {"actor": "somebody else"})
    assert closed.status == 201, closed
    periods = await treasurer.call("GET", f"{CLEARING}/v1/associations/{aid}/periods")
    assert [(c["period"], c["closed_by"]) for c in periods.body["closes"]] == [
        (month, "treasurer@asso")
    ]

    adjustment_id = uuid.uuid4()
    adjustment = {
        "adjustment_id": str(adjustment_id),
        "period": month,
        "amount_cents": 150,
        "reason": "a till counted twice",
    }
    url = f"{CLEARING}/v1/merchants/{mid}/adjustments"
    assert _refused(await manager.call("POST", url, adjustment))  # the association's books
    made = await treasurer.call("POST", url, adjustment)
    assert made.status == 201, made
    note = await db.fetchval(
        "SELECT note FROM clearing.journal_entries WHERE reference_id = $1",
        adjustment_id,
    )
    assert note == "a till counted twice (treasurer@asso)"

    # The merchant's own statement is its manager's; another association's merchant's is not
    # (once clearing knows that merchant: before, it answers 404 to anyone).
    async def known() -> bool:
        found = await db.fetchval(
            "SELECT 1 FROM clearing.merchants WHERE id = $1", other.merchants[0]
        )
        return bool(found)

    await eventually(known, what="clearing knows the other association's merchant")
    statement = await manager.call("GET", f"{CLEARING}/v1/merchants/{mid}/statements/{month}")
    assert statement.status == 200 and statement.body["status"] == "closed", statement
    theirs = f"{CLEARING}/v1/merchants/{other.merchants[0]}/statements/{month}"
    assert _refused(await manager.call("GET", theirs))
