"""Postal addresses in bank details, through the running clearing service: refused without one
for a bank outside the EEA, stored, shown, and written into the direct-debit file of the next
close, which the ISO 20022 schema accepts.

A Swiss shop (taux client 3 %, taux UC 0.5 %) sells 100.00 in August 2026: it owes 3.50,
collected from its Swiss euro account by SEPA direct debit. On their own calendar whatever
today's date: the services' clock is in August 2026 for the sales, in September for the close.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import sepaxml
import xmlschema

from services.clearing.domain import bank
from services.clearing.domain.sepa import PAIN_008_NS
from shared.client import Reply
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually

CLEARING = harness.url("clearing")
SELLING = datetime(2026, 8, 20, 10, tzinfo=UTC)
CLOSING = datetime(2026, 9, 2, 10, tzinfo=UTC)
CH_IBAN = "CH9300762011623852957"
ZURICH = {
    "street": "Bahnhofstrasse",
    "building_number": "45",
    "postcode": "8001",
    "town": "Zürich",
    "country": "ch",
}


def _fr_iban(n: int) -> str:
    bban = f"3000400001{n:011d}12"
    return f"FR{bank.iban_check_digits('FR', bban)}{bban}"


def _problem(reply: Reply, field: str) -> str:
    assert reply.status == 422, reply
    assert (reply.body["field"], reply.body["reason"]) == (field, f"invalid_{field}"), reply
    detail: str = reply.body["detail"]
    return detail


async def test_an_address_is_required_outside_the_eea_and_reaches_the_direct_debit_file(
    calendar: Calendar,
    make_network: NetworkFactory,
    db: asyncpg.Connection,
    http: aiohttp.ClientSession,
) -> None:
    await calendar.move_to(SELLING)
    net = await make_network(merchants=1, taux_client_bps=300, taux_uc_bps=50)
    admin, aid, (shop,), (till,) = net.admin, net.association_id, net.merchants, net.terminals

    async def put(kind: str, party: uuid.UUID, **body: Any) -> Reply:
        return await admin.call("PUT", f"{CLEARING}/v1/bank-details/{kind}/{party}", body)

    swiss = {
        "holder": "Confiserie Sprüngli",
        "iban": CH_IBAN,
        "bic": "UBSWCHZH80A",
        "mandate_id": "CPT-CH-1",
        "mandate_signed_on": "2026-01-15",
    }
    detail = _problem(await put("merchant", shop, **swiss), "address")
    assert "outside the EEA" in detail
    _problem(await put("merchant", shop, **swiss, address={**ZURICH, "country": "XX"}), "address")

    stored = await put("merchant", shop, **swiss, address=ZURICH)
    assert stored.status == 200, stored
    assert stored.body["address"] == {
        "street": "Bahnhofstrasse",
        "building_number": "45",
        "postcode": "8001",
        "town": "Zurich",
        "country": "CH",
    }
    # A French bank needs none; the association gives its own anyway.
    operator = await put("operator", uuid.UUID(int=0), holder="Comptoir", iban=_fr_iban(2))
    assert operator.status == 200 and operator.body["address"] is None, operator
    association = await put(
        "association",
        aid,
        holder="Association",
        iban=_fr_iban(1),
        creditor_id="FR72ZZZ123456",
        address={"town": "Brest", "country": "FR"},
    )
    assert association.status == 200, association

    phone = "+33611000301"
    enrolled = await till.enrol(phone, first_name="Heidi", last_name="Muller")
    assert enrolled.status in (200, 201), enrolled
    sold = await till.sale(
        phone, 10_000, occurred_at=datetime(2026, 8, 5, 10, tzinfo=UTC).isoformat()
    )
    assert sold.status == 201, sold

    async def booked() -> bool:
        n = await db.fetchval(
            """SELECT count(*) FROM clearing.journal_entries
               WHERE association_id = $1 AND period = $2""",
            aid,
            date(2026, 8, 1),
        )
        return bool(n == 1)

    await eventually(booked, what="the August sale in clearing")
    await calendar.move_to(CLOSING)
    closed = await admin.call(
        "POST", f"{CLEARING}/v1/associations/{aid}/periods/2026-08/close", {"actor": "test"}
    )
    assert closed.status == 201, closed
    settlement = closed.body["settlement"]
    assert (settlement["collections_count"], settlement["collections_cents"]) == (1, 350)

    async with http.get(
        CLEARING + settlement["direct_debit_path"],
        headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}"},
    ) as r:
        assert r.status == 200, await r.text()
        xml = await r.text()
    schemas = Path(sepaxml.__file__).parent / "schemas"
    xmlschema.XMLSchema(str(schemas / "pain.008.001.08.xsd")).validate(xml)
    ns = {"p": PAIN_008_NS}
    root = ET.fromstring(xml)
    debtor = root.find(".//p:DrctDbtTxInf/p:Dbtr/p:PstlAdr", ns)
    assert debtor is not None
    assert [(c.tag.split("}")[1], c.text) for c in debtor] == [
        ("StrtNm", "Bahnhofstrasse"),
        ("BldgNb", "45"),
        ("PstCd", "8001"),
        ("TwnNm", "Zurich"),
        ("Ctry", "CH"),
    ]
    creditor = root.find(".//p:PmtInf/p:Cdtr/p:PstlAdr", ns)
    assert creditor is not None
    assert [(c.tag.split("}")[1], c.text) for c in creditor] == [
        ("TwnNm", "Brest"),
        ("Ctry", "FR"),
    ]


async def test_a_party_a_bank_outside_the_eea_could_not_take_is_held_with_the_reason(
    calendar: Calendar, make_network: NetworkFactory, db: asyncpg.Connection
) -> None:
    """The association gives no address: a transfer to the Swiss shop is held (the payer's
    address goes with it). The operator's British details were stored before addresses were
    asked for: held too. The French shop's collection goes out."""
    await calendar.move_to(SELLING)
    net = await make_network(merchants=2, taux_client_bps=300, taux_uc_bps=50)
    admin, aid, (shop_fr, shop_ch), (till_fr, till_ch) = (
        net.admin,
        net.association_id,
        net.merchants,
        net.terminals,
    )

    async def put(kind: str, party: uuid.UUID, **body: Any) -> None:
        r = await admin.call("PUT", f"{CLEARING}/v1/bank-details/{kind}/{party}", body)
        assert r.status == 200, r

    await put(
        "association", aid, holder="Association", iban=_fr_iban(1), creditor_id="FR72ZZZ123456"
    )
    await put(
        "merchant",
        shop_fr,
        holder="Boulangerie",
        iban=_fr_iban(3),
        mandate_id="CPT-FR-1",
        mandate_signed_on="2026-01-15",
    )
    await put("merchant", shop_ch, holder="Confiserie", iban=CH_IBAN, address=ZURICH)
    # The operator's details are the network's, shared by every test: put back afterwards.
    before = await db.fetchrow(
        "SELECT * FROM clearing.bank_details WHERE party_kind = 'operator' AND party_id = $1",
        uuid.UUID(int=0),
    )
    await db.execute(
        """INSERT INTO clearing.bank_details (party_kind, party_id, holder, iban)
           VALUES ('operator', $1, 'Comptoir Ltd', 'GB82WEST12345698765432')
           ON CONFLICT (party_kind, party_id) DO UPDATE
           SET iban = EXCLUDED.iban, address_town = NULL, address_country = NULL,
               address_street = NULL, address_building_number = NULL, address_postcode = NULL""",
        uuid.UUID(int=0),
    )
    try:
        phone = "+33611000302"
        await till_fr.enrol(phone, first_name="Anna", last_name="Keller")
        august = datetime(2026, 8, 5, 10, tzinfo=UTC)
        assert (await till_fr.sale(phone, 10_000, occurred_at=august.isoformat())).status == 201
        later = august.replace(day=6).isoformat()
        assert (await till_ch.redeem(phone, 200, occurred_at=later)).status == 201

        async def booked() -> bool:
            n = await db.fetchval(
                "SELECT count(*) FROM clearing.journal_entries WHERE association_id = $1", aid
            )
            return bool(n == 2)

        await eventually(booked, what="the August sale and redemption in clearing")
        await calendar.move_to(CLOSING)
        closed = await admin.call(
            "POST", f"{CLEARING}/v1/associations/{aid}/periods/2026-08/close", {"actor": "test"}
        )
        assert closed.status == 201, closed
        settlement = closed.body["settlement"]
    finally:
        await db.execute(
            "DELETE FROM clearing.bank_details WHERE party_kind = 'operator' AND party_id = $1",
            uuid.UUID(int=0),
        )
        if before is not None:
            await db.execute(
                f"INSERT INTO clearing.bank_details ({', '.join(before.keys())}) "
                f"VALUES ({', '.join(f'${i}' for i in range(1, len(before) + 1))})",
                *before.values(),
            )
    assert (settlement["collections_count"], settlement["collections_cents"]) == (1, 350)
    assert settlement["transfers_count"] == 0
    assert sorted(
        (h["party_kind"], h["amount_cents"], h["reason"]) for h in settlement["held"]
    ) == [
        ("merchant", -200, "the association has no postal address (bank outside the EEA)"),
        ("operator", -50, "no postal address (bank outside the EEA)"),
    ]
