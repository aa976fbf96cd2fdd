"""A month of an association worked by hand, through the five real services: three shops,
cross-shop redemptions, a partner association (a share of its members' purchases, a member's
donation), a sale synced after the close, an adjustment of the closed month. Its statements,
its XLSX and CSV exports and its SEPA files agree to the cent with the figures below; the
reconciliation is green, and red (with its metric) once an entry is removed by hand.

October 2026, rate_mode merchant, taux UC 0.5 % everywhere:

| shop        | taux client | sales                         | rewards   | fees     |
|-------------|-------------|-------------------------------|-----------|----------|
| boulangerie | 2.5 %       | Alice 80.00, Bob 50.00        | 2.00+1.25 | 0.40+0.25|
| librairie   | 3 %         | Bob 120.00                    | 3.60      | 0.60     |
| fleuriste   | 2 %         | Chloé 50.00                   | 1.00      | 0.25     |

Redemptions: Alice 1.50 at the librairie, Bob 4.80 at the fleuriste. Chloé gives 0.60 of her
cagnotte to the Club (dated 25/10). The Club's partnerships: boulangerie 5 %, librairie 10 %
of its members' purchases; Bob is a member: 5 % × 50.00 = 2.50, 10 % × 120.00 = 12.00.

| shop        | cagnottages + fees | décagnottages | partner | net (+ pays) |
|-------------|--------------------|---------------|---------|--------------|
| boulangerie | 3.25 + 0.65 = 3.90 | 0             | 2.50    | +6.40        |
| librairie   | 3.60 + 0.60 = 4.20 | 1.50          | 12.00   | +14.70       |
| fleuriste   | 1.00 + 0.25 = 1.25 | 4.80          | 0       | -3.55        |

Settlement: direct debits 6.40 + 14.70 = 21.10; transfers fleuriste 3.55, Club 2.50 + 12.00
+ 0.60 = 15.10, operator 0.65 + 0.60 + 0.25 = 1.50: 20.15. The 0.95 left in the bank is what
customers are owed: Alice 0.50, Bob 0.05, Chloé 0.40.

After the close: Alice's 60.00 at the fleuriste on 30/10 (a till that was off) books in
November with its date (reward 1.20, fee 0.30); the librairie's October is corrected by +5.00.

The month is worked on its own calendar, whatever today's date: the services' clock (and this
process's) is on 31 October 2026 while the association is created and October is sold, then on
10 November 2026 for the close, when October is over and November is not.
"""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import aiohttp
import asyncpg
import openpyxl
import orjson
import sepaxml
import xmlschema
from prometheus_client.parser import text_string_to_metric_families

from services.clearing.domain import bank
from services.clearing.service.statements import detail_rows
from shared.client import AdminClient, Reply
from shared.clock import PARIS
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually

OCT = datetime(2026, 10, 1, tzinfo=UTC)
SELLING = datetime(2026, 10, 31, 12, 0, tzinfo=PARIS)  # the last day of October
CLOSING = datetime(2026, 11, 10, 10, 0, tzinfo=PARIS)  # October over, November not
SCHEMAS = Path(sepaxml.__file__).parent / "schemas"
CLEARING = harness.url("clearing")
CARDS = harness.url("cards")


def _at(day: int, hour: int = 10) -> str:
    return OCT.replace(day=day, hour=hour).isoformat()


def _iban(n: int) -> str:
    bban = f"3000400001{n:011d}12"
    return f"FR{bank.iban_check_digits('FR', bban)}{bban}"


async def _ok(reply: Reply, *statuses: int) -> Any:
    assert reply.status in (statuses or (200, 201)), reply
    return reply.body


def _euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


async def _reconcile(admin: AdminClient, aid: uuid.UUID) -> dict[str, Any]:
    body = {"settle_seconds": 0, "association_id": str(aid)}
    result: dict[str, Any] = await _ok(
        await admin.call("POST", f"{CLEARING}/v1/reconciliation", body), 200
    )
    return result


async def _gauge(http: aiohttp.ClientSession, check: str) -> float:
    async with http.get(f"{CLEARING}/metrics") as r:
        text = await r.text()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "comptoir_reconciliation_ok" and s.labels.get("check") == check:
                return s.value
    raise AssertionError(f"no comptoir_reconciliation_ok{{check={check}}}")


@contextlib.asynccontextmanager
async def by_hand(db: asyncpg.Connection) -> AsyncIterator[None]:
    """What someone with the tables' owner's password could do: past the append-only triggers."""
    triggers = (
        "clearing.journal_entries journal_entries_append_only",
        "clearing.journal_entries journal_entries_open_period",
        "clearing.postings postings_append_only",
    )
    async with db.transaction():
        for t in triggers:
            await db.execute("ALTER TABLE {} DISABLE TRIGGER {}".format(*t.split()))
        yield
        for t in triggers:
            await db.execute("ALTER TABLE {} ENABLE TRIGGER {}".format(*t.split()))


async def test_a_month_worked_by_hand(
    calendar: Calendar,
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
) -> None:
    await calendar.move_to(SELLING)
    net = await make_network(
        merchants=3, rate_mode="merchant", taux_client_bps=300, merchant_rates=[250, 300, 200]
    )
    admin, aid = net.admin, net.association_id
    boulangerie, librairie, fleuriste = net.merchants
    tb, tl, tf = net.terminals
    for i, mid in enumerate(net.merchants):
        await _ok(
            await admin.call(
                "PUT",
                f"{CARDS}/v1/associations/{aid}/merchants/{mid}",
                {
                    "name": ("Boulangerie", "Librairie", "Fleuriste")[i],
                    "taux_client_bps": [250, 300, 200][i],
                },
            )
        )

    # The customers, enrolled with their names.
    phones = {"alice": "+33611000001", "bob": "+33611000002", "chloe": "+33611000003"}
    names = {"alice": ("Alice", "Martin"), "bob": ("Bob", "Durand"), "chloe": ("Chloé", "Petit")}
    accounts: dict[str, str] = {}
    for who, phone in phones.items():
        first, last = names[who]
        body = await _ok(await tb.enrol(phone, first_name=first, last_name=last), 201, 200)
        accounts[who] = body["account_id"]

    # The partner association, its partnerships and its member, and everyone's bank details.
    club = uuid.uuid4()
    await _ok(
        await admin.call(
            "PUT", f"{CLEARING}/v1/associations/{aid}/partners/{club}", {"name": "Club de foot"}
        ),
        201,
    )

    async def merchants_known() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM clearing.merchants WHERE association_id = $1", aid
        )
        holders = await db.fetchval(
            "SELECT count(*) FROM clearing.holders WHERE association_id = $1", aid
        )
        partner = await db.fetchval(
            "SELECT count(*) FROM cards.partners WHERE partner_id = $1", club
        )
        return bool(n == 3 and holders == 3 and partner == 1)

    await eventually(merchants_known, what="clearing to know the shops and the holders")
    for mid, rate in ((boulangerie, 500), (librairie, 1000)):
        await _ok(
            await admin.call(
                "PUT",
                f"{CLEARING}/v1/partners/{club}/partnerships/{mid}",
                {"rate_bps": rate, "starts_on": "2026-09-01"},
            )
        )
    await _ok(
        await admin.call(
            "PUT",
            f"{CLEARING}/v1/partners/{club}/members/{accounts['bob']}",
            {"since": "2026-10-01"},
        )
    )
    parties: list[tuple[str, uuid.UUID, dict[str, Any]]] = [
        (
            "association",
            aid,
            {"holder": "Association des commerçants", "creditor_id": "FR72ZZZ123456"},
        ),
        (
            "merchant",
            boulangerie,
            {
                "holder": "Boulangerie Éloïse",
                "mandate_id": "CPT-BOUL-1",
                "mandate_signed_on": "2026-01-15",
            },
        ),
        (
            "merchant",
            librairie,
            {
                "holder": "Librairie du Marché",
                "mandate_id": "CPT-LIBR-1",
                "mandate_signed_on": "2026-01-15",
            },
        ),
        (
            "merchant",
            fleuriste,
            {"holder": "Fleuriste", "mandate_id": "CPT-FLEU-1", "mandate_signed_on": "2026-01-15"},
        ),
        ("partner", club, {"holder": "Club de foot"}),
        ("operator", uuid.UUID(int=0), {"holder": "Comptoir Opérateur"}),
    ]
    for n, (kind, pid, details) in enumerate(parties, 1):
        await _ok(
            await admin.call(
                "PUT",
                f"{CLEARING}/v1/bank-details/{kind}/{pid}",
                {"iban": _iban(n), "bic": "BNPAFRPPXXX", **details},
            ),
            200,
        )
    bad = await admin.call(
        "PUT",
        f"{CLEARING}/v1/bank-details/merchant/{boulangerie}",
        {"holder": "X", "iban": "FR7630004000010000000000113"},
    )
    assert bad.status == 422 and bad.body["field"] == "iban", bad

    # October.
    await _ok(await tb.sale(phones["alice"], 8000, occurred_at=_at(3)), 201)
    await _ok(await tl.sale(phones["bob"], 12000, occurred_at=_at(5)), 201)
    await _ok(await tb.sale(phones["bob"], 5000, occurred_at=_at(8)), 201)
    await _ok(await tf.sale(phones["chloe"], 5000, occurred_at=_at(10)), 201)
    await _ok(await tl.redeem(phones["alice"], 150, occurred_at=_at(12)), 201)
    await _ok(await tf.redeem(phones["bob"], 480, occurred_at=_at(15)), 201)
    donation = {
        "donation_id": str(uuid.uuid4()),
        "partner_id": str(club),
        "amount_cents": 60,
        "occurred_at": _at(25),
    }
    await _ok(
        await admin.call("POST", f"{CARDS}/v1/accounts/{accounts['chloe']}/donations", donation),
        201,
    )

    async def october_booked() -> bool:
        r = await admin.call("GET", f"{CLEARING}/v1/associations/{aid}/statements/2026-10")
        if r.status != 200:
            return False
        f = {s["merchant_id"]: s["figures"] for s in r.body}
        booked = sum(x["purchases_count"] + x["redemptions_count"] for x in f.values())
        partner = await db.fetchval(
            "SELECT count(*) FROM clearing.journal_entries WHERE kind = 'donation' AND partner_id = $1",
            club,
        )
        return bool(booked == 6 and partner == 1)

    await eventually(october_booked, what="October booked in clearing")
    provisional = await _ok(
        await admin.call("GET", f"{CLEARING}/v1/merchants/{boulangerie}/statements/2026-10"), 200
    )
    assert provisional["status"] == "provisional"
    assert provisional["figures"]["partner_share_cents"] == 0  # reckoned at the close
    assert (await _reconcile(admin, aid))["ok"] is True
    await calendar.move_to(CLOSING)

    # Nothing before the books' first month (October's first sale) can be closed: that would
    # close every month from there on. Nor can the books of an association clearing never saw.
    early = await admin.call(
        "POST", f"{CLEARING}/v1/associations/{aid}/periods/2026-09/close", {"actor": "x"}
    )
    assert (early.status, early.body["reason"]) == (409, "before_books_start")
    assert "start in 2026-10" in early.body["detail"]
    unknown = await admin.call(
        "POST", f"{CLEARING}/v1/associations/{uuid.uuid4()}/periods/2026-10/close", {"actor": "x"}
    )
    assert unknown.status == 404, unknown.body

    # The close: partners' shares, frozen statements, settlement files, in one go.
    closed = await _ok(
        await admin.call(
            "POST",
            f"{CLEARING}/v1/associations/{aid}/periods/2026-10/close",
            {"actor": "trésorière"},
        ),
        201,
    )
    assert closed["periods"] == ["2026-10"] and closed["statements"] == 3
    assert closed["partner_shares"] == 2
    again = await admin.call(
        "POST", f"{CLEARING}/v1/associations/{aid}/periods/2026-10/close", {"actor": "x"}
    )
    assert (again.status, again.body["reason"]) == (409, "period_closed")
    november = await admin.call(
        "POST", f"{CLEARING}/v1/associations/{aid}/periods/2026-11/close", {"actor": "x"}
    )
    assert (november.status, november.body["reason"]) == (409, "period_not_over")

    expected = {
        boulangerie: dict(
            purchases_count=2,
            purchases_cents=13000,
            cagnottages_cents=325,
            fees_cents=65,
            fees_and_cagnottages_cents=390,
            redemptions_count=0,
            redemptions_cents=0,
            partner_share_cents=250,
            net_cents=640,
        ),
        librairie: dict(
            purchases_count=1,
            purchases_cents=12000,
            cagnottages_cents=360,
            fees_cents=60,
            fees_and_cagnottages_cents=420,
            redemptions_count=1,
            redemptions_cents=150,
            partner_share_cents=1200,
            net_cents=1470,
        ),
        fleuriste: dict(
            purchases_count=1,
            purchases_cents=5000,
            cagnottages_cents=100,
            fees_cents=25,
            fees_and_cagnottages_cents=125,
            redemptions_count=1,
            redemptions_cents=480,
            partner_share_cents=0,
            net_cents=-355,
        ),
    }
    statements = {}
    for mid, figures in expected.items():
        s = await _ok(
            await admin.call("GET", f"{CLEARING}/v1/merchants/{mid}/statements/2026-10"), 200
        )
        statements[mid] = s
        assert s["status"] == "closed" and s["statement_id"]
        assert {k: s["figures"][k] for k in figures} == figures, s["merchant_name"]
        assert s["figures"]["net_cents"] == (
            s["figures"]["fees_and_cagnottages_cents"]
            - s["figures"]["redemptions_cents"]
            + s["figures"]["partner_share_cents"]
        )
    b = statements[boulangerie]
    assert b["merchant_name"] == "Boulangerie" and (b["taux_uc_bps"], b["taux_client_bps"]) == (
        50,
        250,
    )
    assert b["association"]["totals"]["purchases_cents"] == 30000
    assert b["association"]["totals"]["net_cents"] == 640 + 1470 - 355
    assert b["ranking"]["purchases_cents"] == {
        "rank": 1,
        "of": 3,
        "min": 5000,
        "max": 13000,
        "average": 10000,
        "average_hundredths": 1000000,
    }
    assert statements[fleuriste]["ranking"]["purchases_cents"]["rank"] == 3

    # The XLSX, read back as a spreadsheet program would.
    async with http.get(
        f"{CLEARING}/v1/merchants/{boulangerie}/statements/2026-10.xlsx",
        headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}"},
    ) as r:
        assert r.status == 200 and r.content_type == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        data = await r.read()
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    report = [row for row in book["Rapport"].iter_rows(values_only=True) if any(row)]
    assert report[0][0] == "Rapport du 01/10/2026 au 31/10/2026"
    header, mine = report[1], dict(zip(report[1], report[2], strict=False))
    assert header[:4] == ("COMPTE", "CRÉÉ LE", "FERMÉ LE", "TAUX UC / CLIENT")
    assert mine["COMPTE"] == "Boulangerie" and mine["TAUX UC / CLIENT"] == "0.5 / 2.5"
    assert mine["NB D'ACHATS"] == 2
    for column, cents in (
        ("SOMME DES ACHATS", 13000),
        ("SOMME DES CAGNOTTAGES", 325),
        ("FRAIS À REVERSER À L'UC", 65),
        ("SOMME DES FRAIS ET CAGNOTTAGES", 390),
        ("PARTENARIATS", 250),
        ("NET À PAYER (+) / À RECEVOIR (-)", 640),
    ):
        assert Decimal(str(mine[column])) == _euros(cents), column
    sheet = [row for row in book["Détails"].iter_rows(values_only=True) if any(row)]
    lines = [dict(zip(sheet[1], row, strict=False)) for row in sheet[2:] if row[0]]
    assert [(x["TYPE"], x["PRENOM"], x["NOM"]) for x in lines] == [
        ("Achat", "Alice", "Martin"),
        ("Achat", "Bob", "Durand"),
        ("Partenariat", None, None),
    ]
    assert lines[0]["DATE"] == datetime(2026, 10, 3, 12, 0)  # 10:00 UTC, Paris summer time
    assert [Decimal(str(x["CAGNOTTE"])) for x in lines[:2]] == [_euros(200), _euros(125)]
    assert sum(Decimal(str(x["NET"])) for x in lines) == _euros(640)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None

    # A reader that stops after the first batch (a client gone mid-download) leaves the
    # connection between two commands: the fetch it had asked for ahead is let finish.
    conn = await asyncpg.connect(harness.DATABASE_URL, server_settings={"search_path": "clearing"})
    try:
        async with conn.transaction():
            # Read a page of one line at a time, the lines are those of one page of 5,000.
            whole = [x async for page in detail_rows(conn, boulangerie, OCT.date()) for x in page]
            paged = [
                x
                async for page in detail_rows(conn, boulangerie, OCT.date(), batch=1)
                for x in page
            ]
            assert len(whole) == 3 and paged == whole
            batches = detail_rows(conn, boulangerie, OCT.date(), batch=1)
            assert [line[1] for line in await anext(batches)] == ["Achat"]
            await batches.aclose()
            assert await conn.fetchval("SELECT count(*) FROM statements") >= 3
    finally:
        await conn.close()

    # The SEPA files: valid against the ISO 20022 schemas, amounts to the cent.
    settlement = closed["settlement"]
    assert settlement["status"] == "ready" and settlement["held"] == []
    assert (settlement["collections_count"], settlement["collections_cents"]) == (2, 2110)
    assert (settlement["transfers_count"], settlement["transfers_cents"]) == (3, 2015)
    amounts: dict[str, list[Decimal]] = {}
    for path, xsd in (
        (settlement["direct_debit_path"], "pain.008.001.08.xsd"),
        (settlement["credit_transfer_path"], "pain.001.001.09.xsd"),
    ):
        async with http.get(
            CLEARING + path, headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}
        ) as r:
            assert r.status == 200, await r.text()
            xml = await r.text()
        xmlschema.XMLSchema(SCHEMAS / xsd).validate(xml)
        root = ElementTree.fromstring(xml)
        amounts[xsd] = sorted(
            Decimal(e.text or "") for e in root.iter() if e.tag.endswith("InstdAmt")
        )
        ctrl = next(e for e in root.iter() if e.tag.endswith("CtrlSum"))
        assert Decimal(ctrl.text or "") == sum(amounts[xsd])
    assert amounts["pain.008.001.08.xsd"] == [_euros(640), _euros(1470)]
    assert amounts["pain.001.001.09.xsd"] == [_euros(150), _euros(355), _euros(1510)]
    liability = await db.fetchval(
        """SELECT sum(p.amount_cents) FROM clearing.postings p
           JOIN clearing.pivot_accounts a ON a.id = p.account_id
           WHERE a.association_id = $1 AND a.kind = 'bank'""",
        aid,
    )
    assert liability == 95  # 0.50 + 0.05 + 0.40 owed to Alice, Bob and Chloé

    # A till that was off: Alice's sale of 30/10 arrives after the close.
    late = await _ok(await tf.sale(phones["alice"], 6000, occurred_at=_at(30, 17)), 201)
    adjustment = {
        "adjustment_id": str(uuid.uuid4()),
        "period": "2026-10",
        "amount_cents": 500,
        "reason": "frais de carte oubliés",
        "actor": "trésorière",
    }
    adjusted = await _ok(
        await admin.call("POST", f"{CLEARING}/v1/merchants/{librairie}/adjustments", adjustment),
        201,
    )
    assert adjusted["booked_in_period"] == "2026-11"
    assert (
        await admin.call("POST", f"{CLEARING}/v1/merchants/{librairie}/adjustments", adjustment)
    ).status == 200
    open_one = await admin.call(
        "POST",
        f"{CLEARING}/v1/merchants/{librairie}/adjustments",
        {**adjustment, "adjustment_id": str(uuid.uuid4()), "period": "2026-11"},
    )
    assert (open_one.status, open_one.body["reason"]) == (409, "period_open")

    async def late_booked() -> bool:
        r = await admin.call("GET", f"{CLEARING}/v1/merchants/{fleuriste}/statements/2026-11")
        return r.status == 200 and r.body["figures"]["purchases_count"] == 1

    await eventually(late_booked, what="the late sale in November")
    nov = await _ok(
        await admin.call("GET", f"{CLEARING}/v1/merchants/{fleuriste}/statements/2026-11"), 200
    )
    assert {
        k: nov["figures"][k]
        for k in ("purchases_cents", "cagnottages_cents", "fees_cents", "net_cents")
    } == {"purchases_cents": 6000, "cagnottages_cents": 120, "fees_cents": 30, "net_cents": 150}
    lib_nov = await _ok(
        await admin.call("GET", f"{CLEARING}/v1/merchants/{librairie}/statements/2026-11"), 200
    )
    assert lib_nov["figures"]["adjustments_cents"] == 500 and lib_nov["figures"]["net_cents"] == 500
    assert lib_nov["adjustments"][0]["adjusts_period"] == "2026-10"
    frozen = await _ok(
        await admin.call("GET", f"{CLEARING}/v1/merchants/{fleuriste}/statements/2026-10"), 200
    )
    assert frozen == statements[fleuriste]  # October did not move
    async with http.get(
        f"{CLEARING}/v1/merchants/{fleuriste}/statements/2026-11.csv",
        headers={"Authorization": f"Bearer {harness.ADMIN_TOKEN}"},
    ) as r:
        text = (await r.read()).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert rows[0]["DATE"] == "30/10/2026 18:00" and rows[0]["VALEUR"] == "60,00"
    assert rows[0]["CAGNOTTE"] == "1,20" and "après clôture" in rows[0]["REMARQUE"]
    assert rows[-1]["TYPE"] == "TOTAL (1 ligne)" and rows[-1]["NET"] == "1,50"
    assert late["account_id"] == accounts["alice"]

    # Balances at a date: on 20/10 the librairie owed its sale's 4.20 less Alice's 1.50.
    at_20 = await _ok(
        await admin.call(
            "GET",
            f"{CLEARING}/v1/associations/{aid}/balances?at=2026-10-20T00:00:00%2B02:00",
        ),
        200,
    )
    by_account = {(a["kind"], a["merchant_id"]): a["balance_cents"] for a in at_20["accounts"]}
    assert by_account[("merchant", str(librairie))] == 420 - 150
    assert at_20["net_cents"] == 0

    # Green; then an entry removed by hand (Bob's librairie sale): red, and said by a metric.
    assert (await _reconcile(admin, aid))["ok"] is True
    assert await _gauge(http, "liability") == 1
    entry = await db.fetchrow(
        """SELECT * FROM clearing.journal_entries WHERE kind = 'accrual' AND merchant_id = $1""",
        librairie,
    )
    postings = await db.fetch("SELECT * FROM clearing.postings WHERE entry_id = $1", entry["id"])
    async with by_hand(db):
        await db.execute("DELETE FROM clearing.postings WHERE entry_id = $1", entry["id"])
        await db.execute("DELETE FROM clearing.journal_entries WHERE id = $1", entry["id"])
    red = await _reconcile(admin, aid)
    failed = {c["name"]: c for c in red["checks"] if not c["ok"]}
    assert set(failed) == {"closed_statements", "held_positions", "liability"}, red
    assert failed["liability"]["difference"] == 360
    assert failed["closed_statements"]["difference"] == 420
    # The close collected that sale's 4.20 from the librairie and paid its 0.60 fee to the
    # operator; without the sale the journal says the librairie is owed 4.20 and the operator
    # owes 0.60, where the close held nothing.
    assert failed["held_positions"]["difference"] == 420 + 60
    assert await _gauge(http, "liability") == 0
    assert await _gauge(http, "closed_statements") == 0

    # Put it back as it was, so the journal is whole again for the tests that follow.
    async with by_hand(db):
        await db.execute(
            f"INSERT INTO clearing.journal_entries ({', '.join(entry.keys())}) "
            f"SELECT * FROM jsonb_populate_record(NULL::clearing.journal_entries, $1::jsonb)",
            orjson.dumps(dict(entry), default=str).decode(),
        )
        await db.executemany(
            "INSERT INTO clearing.postings (id, entry_id, account_id, amount_cents) VALUES ($1, $2, $3, $4)",
            [tuple(p.values()) for p in postings],
        )
    assert (await _reconcile(admin, aid))["ok"] is True
