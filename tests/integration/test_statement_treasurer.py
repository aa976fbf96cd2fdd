"""A month's statements as an association's treasurer reads them (issue 13, item 6): every
figure of the report found again in the detail lines, each line saying who, which product
family (its label), at which rate and why; the partner association's own statement; the
XLSX and the CSV as French Excel opens them.

March 2026, rate_mode family, network 3 %, taux UC 0.5 %. The librairie's own rate is 2.5 %,
its families "papeterie" (label "Papeterie et cadeaux", 4 %) and "livres" (label "Romans et
BD", 8 %, books: capped at 5 % by law); a promotion gives 6 % at the librairie on 20/03.

| line | who   | shop       | purchase | family    | rate | source     | cagnotte | fee  |
|------|-------|------------|----------|-----------|------|------------|----------|------|
| 03   | Alice | librairie  | 100.00   | papeterie | 4 %  | family     | 4.00     | 0.50 |
| 05   | Bob   | librairie  | 80.00    | livres    | 5 %  | books' cap | 4.00     | 0.40 |
| 12   | Bob   | fleuriste  | 30.00    | -         | 3 %  | network    | 0.90     | 0.15 |
| 20   | Alice | librairie  | 20.00    | papeterie | 6 %  | promotion  | 1.20     | 0.10 |
| 30   | Bob   | librairie  | 50.00    | -         | 2.5 %| merchant   | 1.25     | 0.25 |
| 31   | Bob returns the 50.00 of the 30th: cagnotte -1.25, fee -0.25                         |

Alice spends 3.00 of her cagnotte at the librairie (25/03) and gives 1.00 to the Club (26/03).
The Club gets 10 % of its members' purchases at the librairie: Bob's 80.00 + 50.00 - 50.00.

Librairie: 4 purchases, 250.00; cagnottages 4.00 + 4.00 + 1.20 + 1.25 - 1.25 = 9.20; fees
1.25 - 0.25 = 1.00; 1 return of 50.00; 1 décagnottage of 3.00; partnership 8.00; net 15.20.
Ranking on the number of purchases: librairie 4, fleuriste 1: min 1, max 4, average 2.50.

Alice is enrolled by phone without names and named when her card is issued; Bob is enrolled
as Bob Durand and renamed Durand-Leroy, with his title, in the back office (F16).
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg
import openpyxl

from shared.client import Reply
from shared.clock import PARIS
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.statements import french_csv, sheet, totals_are_the_report, workbook

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
SELLING = datetime(2026, 3, 31, 12, 0, tzinfo=PARIS)
CLOSING = datetime(2026, 4, 10, 10, 0, tzinfo=PARIS)
CLEARING = harness.url("clearing")
CARDS = harness.url("cards")
AUTH = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}


def _at(day: int, hour: int = 10) -> str:
    return MARCH.replace(day=day, hour=hour).isoformat()


async def _ok(reply: Reply, *statuses: int) -> Any:
    assert reply.status in (statuses or (200, 201)), reply
    return reply.body


def _euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


async def _get(http: aiohttp.ClientSession, path: str) -> bytes:
    async with http.get(CLEARING + path, headers=AUTH) as r:
        assert r.status == 200, await r.text()
        return await r.read()


async def test_a_treasurers_month(
    calendar: Calendar,
    make_network: NetworkFactory,
    http: aiohttp.ClientSession,
    db: asyncpg.Connection,
) -> None:
    await calendar.move_to(SELLING)
    net = await make_network(merchants=2, rate_mode="family", taux_client_bps=300)
    admin, aid = net.admin, net.association_id
    librairie, fleuriste = net.merchants
    tl, tf = net.terminals
    prefix = f"{910000 + uuid.uuid4().int % 90000}"
    await _ok(
        await admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{aid}",
            {
                "name": f"test {aid}",
                "rate_mode": "family",
                "taux_client_bps": 300,
                "taux_uc_bps": 50,
                "issuer_prefix": prefix,
            },
        )
    )
    for mid, name, rate in ((librairie, "Librairie", 250), (fleuriste, "Fleuriste", None)):
        await _ok(
            await admin.call(
                "PUT",
                f"{CARDS}/v1/associations/{aid}/merchants/{mid}",
                {"name": name, "taux_client_bps": rate},
            )
        )
    families = {
        "papeterie": {"label": "Papeterie et cadeaux", "taux_client_bps": 400},
        "livres": {"label": "Romans et BD", "taux_client_bps": 800, "book": True},
    }
    for code, body in families.items():
        await _ok(
            await admin.call("PUT", f"{CARDS}/v1/merchants/{librairie}/families/{code}", body)
        )
    await _ok(
        await admin.call(
            "PUT",
            f"{CARDS}/v1/associations/{aid}/promotions/{uuid.uuid4()}",
            {
                "name": "Printemps des poètes",
                "merchant_id": str(librairie),
                "starts_at": "2026-03-20T00:00:00+01:00",
                "ends_at": "2026-03-21T00:00:00+01:00",
                "taux_client_bps": 600,
            },
        )
    )

    alice, bob = "+33612000001", "+33612000002"
    a = (await _ok(await tl.enrol(alice), 201, 200))["account_id"]
    enrolled = await tl.enrol(bob, first_name="Bob", last_name="Durand")
    b = (await _ok(enrolled, 201, 200))["account_id"]
    card = await _ok(
        await admin.call(
            "POST",
            f"{CARDS}/v1/associations/{aid}/cards",
            {
                "issue_id": str(uuid.uuid4()),
                "account_id": a,
                "first_name": "Alice",
                "last_name": "Martin",
            },
        ),
        201,
    )
    number = card["number"]
    await _ok(
        await admin.call(
            "PATCH", f"{CARDS}/v1/accounts/{b}", {"title": "M", "last_name": "Durand-Leroy"}
        )
    )

    club = uuid.uuid4()
    await _ok(
        await admin.call(
            "PUT", f"{CLEARING}/v1/associations/{aid}/partners/{club}", {"name": "Club de foot"}
        ),
        201,
    )

    async def known() -> bool:
        named = await db.fetch(
            """SELECT title, first_name, last_name FROM clearing.holders
               WHERE association_id = $1 ORDER BY first_name""",
            aid,
        )
        partner = await db.fetchval(
            "SELECT count(*) FROM cards.partners WHERE partner_id = $1", club
        )
        shops = await db.fetchval(
            "SELECT count(*) FROM clearing.merchants WHERE association_id = $1", aid
        )
        return bool(
            [tuple(r) for r in named] == [(None, "Alice", "Martin"), ("M", "Bob", "Durand-Leroy")]
            and partner == 1
            and shops == 2
        )

    await eventually(known, what="the names given after the accounts opened to reach clearing")
    await _ok(
        await admin.call(
            "PUT",
            f"{CLEARING}/v1/partners/{club}/partnerships/{librairie}",
            {"rate_bps": 1000, "starts_on": "2026-03-01"},
        )
    )
    await _ok(
        await admin.call(
            "PUT", f"{CLEARING}/v1/partners/{club}/members/{b}", {"since": "2026-03-01"}
        )
    )

    await _ok(await tl.sale(alice, 10000, "papeterie", occurred_at=_at(3)), 201)
    await _ok(await tl.sale(bob, 8000, "livres", occurred_at=_at(5)), 201)
    await _ok(await tf.sale(bob, 3000, occurred_at=_at(12)), 201)
    await _ok(await tl.sale(None, 2000, "papeterie", card_number=number, occurred_at=_at(20)), 201)
    await _ok(await tl.redeem(alice, 300, occurred_at=_at(25)), 201)
    returned = str(uuid.uuid4())
    await _ok(await tl.sale(bob, 5000, sale_id=returned, occurred_at=_at(30)), 201)
    await _ok(await tl.return_sale(returned, 5000), 200, 201, 202)
    gift = {
        "donation_id": str(uuid.uuid4()),
        "partner_id": str(club),
        "amount_cents": 100,
        "occurred_at": _at(26),
    }
    await _ok(await admin.call("POST", f"{CARDS}/v1/accounts/{a}/donations", gift), 201)

    async def booked() -> bool:
        n = await db.fetchval(
            "SELECT count(*) FROM clearing.journal_entries WHERE association_id = $1", aid
        )
        return bool(n == 8)  # 5 sales, 1 return, 1 décagnottage, 1 donation

    await eventually(booked, what="March booked in clearing")

    # The partner's statement before the close: reckoned as the close will.
    early = await _ok(await admin.call("GET", f"{CLEARING}/v1/partners/{club}/statements/2026-03"))
    assert early["status"] == "provisional"
    assert [(s["revenue_cents"], s["rate_bps"], s["amount_cents"]) for s in early["shares"]] == [
        (8000, 1000, 800)
    ]

    await calendar.move_to(CLOSING)
    await _ok(
        await admin.call(
            "POST", f"{CLEARING}/v1/associations/{aid}/periods/2026-03/close", {"actor": "t"}
        ),
        201,
    )
    s = await _ok(
        await admin.call("GET", f"{CLEARING}/v1/merchants/{librairie}/statements/2026-03")
    )
    f = s["figures"]
    assert (f["purchases_count"], f["purchases_cents"], f["cagnottages_cents"]) == (4, 25000, 920)
    assert (f["fees_cents"], f["returns_cents"], f["redemptions_cents"]) == (100, 5000, 300)
    assert (f["partner_share_cents"], f["net_cents"]) == (800, 1520)

    # --- the XLSX ---------------------------------------------------------------------------
    w = workbook(await _get(http, f"/v1/merchants/{librairie}/statements/2026-03.xlsx"))
    lines, totals = w.lines, w.totals
    # Finding 4: the number of purchases ranks with its min, max and average.
    assert w.ranking["Nb d'achats"][1:] == (1, 2, 1, 4, 2.5)
    by_type = [(x["TYPE"], x["CIVILITE"], x["NOM"], x["PRENOM"]) for x in lines]
    # Finding 1: the names given after the account opened, and the title.
    assert by_type == [
        ("Achat", None, "Martin", "Alice"),
        ("Achat", "M.", "Durand-Leroy", "Bob"),
        ("Achat", None, "Martin", "Alice"),
        ("Décagnottage", None, "Martin", "Alice"),
        ("Achat", "M.", "Durand-Leroy", "Bob"),
        ("Retour", "M.", "Durand-Leroy", "Bob"),
        ("Partenariat", None, None, None),
    ]
    # Findings 5 and 6: the families' labels, the rate applied and the rule that set it.
    assert [(x["UNIVERS"], x["TAUX (%)"], x["ORIGINE DU TAUX"]) for x in lines[:3]] == [
        ("Papeterie et cadeaux", 4, "taux de la famille"),
        ("Romans et BD", 5, "plafond légal livres (5 %)"),
        ("Papeterie et cadeaux", 6, "promotion"),
    ]
    assert (lines[4]["TAUX (%)"], lines[4]["ORIGINE DU TAUX"]) == (2.5, "taux du commerçant")
    assert lines[2]["N° CARTE"] == number
    # Finding 7: the partner line shows its base and its rate.
    partner = lines[-1]
    assert (partner["VALEUR"], partner["TAUX (%)"], partner["NET"]) == (80, 10, 8)
    assert partner["ORIGINE DU TAUX"] == "partenariat" and "Club de foot" in partner["REMARQUE"]
    # Findings 2 and 3: each total is the report's column of that name.
    totals_are_the_report(w)
    assert Decimal(str(totals["TOTAL"]["FRAIS UC"])) == _euros(100)
    assert set(totals) == {"TOTAL", "Retours", "Décagnottages", "Partenariats"}

    # --- the CSV, as French Excel opens it (finding 8) ------------------------------------
    table = french_csv(await _get(http, f"/v1/merchants/{librairie}/statements/2026-03.csv"))
    head, out = table[0], [dict(zip(table[0], r, strict=True)) for r in table[1:]]
    assert head[:6] == ["DATE", "TYPE", "CIVILITE", "NOM", "PRENOM", "N° CARTE"]
    assert out[0]["VALEUR"] == "100,00" and out[0]["TAUX (%)"] == "4,00"
    assert out[0]["UNIVERS"] == "Papeterie et cadeaux" and out[1]["CIVILITE"] == "M."
    assert out[2]["N° CARTE"] == f'="{number}"'  # kept as text, all its digits
    assert out[3]["TYPE"] == "Décagnottage" and out[3]["CAGNOTTE"] == "-3,00"
    csv_totals = {r["TYPE"].split(" (")[0]: r for r in out if not r["DATE"]}
    assert csv_totals["TOTAL"]["VALEUR"] == "250,00"
    assert csv_totals["TOTAL"]["CAGNOTTE"] == "9,20"
    assert csv_totals["TOTAL"]["FRAIS UC"] == "1,00"
    assert csv_totals["TOTAL"]["NET"] == "15,20"
    assert csv_totals["Retours"]["VALEUR"] == "-50,00"
    assert csv_totals["Décagnottages"]["CAGNOTTE"] == "-3,00"

    # --- the partner's statement (finding 7, F19) -----------------------------------------
    ps = await _ok(await admin.call("GET", f"{CLEARING}/v1/partners/{club}/statements/2026-03"))
    assert ps["status"] == "closed" and ps["partner_name"] == "Club de foot"
    assert [
        (x["merchant_name"], x["revenue_cents"], x["rate_bps"], x["amount_cents"])
        for x in ps["shares"]
    ] == [("Librairie", 8000, 1000, 800)]
    assert [(d["last_name"], d["amount_cents"]) for d in ps["donations"]] == [("Martin", 100)]
    assert ps["totals"] == {
        "revenue_cents": 8000,
        "shares_cents": 800,
        "donations_count": 1,
        "donations_cents": 100,
        "total_cents": 900,
    }
    pbook = openpyxl.load_workbook(
        io.BytesIO(await _get(http, f"/v1/partners/{club}/statements/2026-03.xlsx")),
        read_only=True,
    )
    summary = sheet(pbook, "Rapport")
    assert dict(zip(summary[1], summary[2], strict=True))["TOTAL À RECEVOIR"] == 9
    plines = sheet(pbook, "Détails")
    assert plines[2][:3] == ("Partenariat", None, "Librairie") and plines[2][7:] == (80, 10, 8)
    ptable = french_csv(await _get(http, f"/v1/partners/{club}/statements/2026-03.csv"))
    assert ptable[-1][0] == "TOTAL À RECEVOIR" and ptable[-1][-1] == "9,00"
    assert ptable[2][0] == "Don" and ptable[2][4] == "Martin" and ptable[2][-1] == "1,00"
