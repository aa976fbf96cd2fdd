"""The dashboard in the portal (issue 15, item 3, MANAGER; the association's network
statistics): a merchant's manager signed in sees this month's figures of the sales made at
their tills beside the previous period's, the charts as SVG each with its table, and
downloads a figure's detail lines; an association's administrator sees the association's and
any of its merchants'; a manager who edits the form to ask another merchant's is refused, and
the page says so."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

import aiohttp
import openpyxl
import pytest

from shared import clock
from tests import harness
from tests.conftest import NetworkFactory, eventually
from tests.growth import stats
from tests.people import file_of, new_phone
from tests.portal import PORTAL, Browser, person

pytestmark = pytest.mark.timeout(120)


async def _signed_in(
    http: aiohttp.ClientSession, role: str, association: object, merchant: object = None
) -> Browser:
    email, password = await person(http, role, association, merchant)  # type: ignore[arg-type]
    browser = Browser(http)
    assert (await browser.sign_in(email, password)).status == 303
    return browser


def _row(text: str, key: str) -> str:
    """The figures table's row of one figure."""
    start = text.index(f'<tr id="fig-{key}">')
    return text[start : text.index("</tr>", start)]


async def test_a_manager_sees_the_months_sales_beside_the_previous_period_and_downloads_them(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net = await make_network(merchants=2)
    till_m, till_n = net.terminals
    m, n = (str(x) for x in net.merchants)
    first_day = clock.today_paris().replace(day=1)
    before = datetime.combine(first_day - timedelta(days=1), datetime.min.time())
    before = before.replace(hour=12, tzinfo=clock.PARIS)  # the previous period's last day

    phone = new_phone()
    enrolled = await till_m.enrol(phone, first_name="Ambroise", last_name="Lenoir")
    assert enrolled.status == 201, enrolled
    await file_of(http, enrolled.body["account_id"])
    for cents in (2500, 1500):
        assert (await till_m.sale(phone, cents)).status == 201
    assert (await till_m.anonymous_sale(1000)).status == 201
    old = await till_m.sale(phone, 2000, occurred_at=before.isoformat())
    assert old.status == 201, old
    other = new_phone()
    assert (await till_n.enrol(other)).status == 201
    assert (await till_n.sale(other, 9900)).status == 201

    period = {"from": first_day.isoformat(), "to": clock.today_paris().isoformat()}

    async def counted() -> bool:
        mine = await stats(http, merchant_id=m, **period)
        theirs = await stats(http, merchant_id=n, **period)
        return bool(
            mine["figures"]["sales"] == 3
            and mine["previous"]["visits"] == 1
            and theirs["figures"]["visits"] == 1
        )

    await eventually(counted, what="the sales counted by crm's statistics")

    manager = await _signed_in(http, "manager", net.association_id, net.merchants[0])
    page = await manager.get("/dashboard?preset=this_month")
    assert page.status == 200, page.text
    text = page.text
    assert "Tableau de bord" in text and 'href="/dashboard"' in text
    revenue = _row(text, "revenue_cents")
    # 25,00 + 15,00 + 10,00 without a member; the previous period: 20,00; +150 %
    assert "50,00\xa0€" in revenue and "20,00\xa0€" in revenue, revenue
    assert "en hausse" in revenue and "+150,0\u202f%" in revenue, revenue
    visits = _row(text, "visits")
    assert ">2</td>" in visits and ">1</td>" in visits, visits
    assert "80\u202f%" in _row(text, "member_share_bps")  # 40,00 of 50,00
    assert "Ambroise Lenoir" in text  # the best customer, whose file the manager may read
    # Four charts, each an SVG with its title, its description and its table; no script.
    assert text.count("<svg ") == 4 and text.count('class="chart-data"') == 4
    for key in ("traffic_by_hour", "traffic_by_weekday", "against_previous"):
        assert f'<title id="{key}-title">' in text and f'<desc id="{key}-desc">' in text
    assert '<polyline points="' in text  # enrolments over time: a line
    assert "<title>lun.: " in text  # a bar's value, its weekday in the page's language
    assert "<script" not in text and "style=" not in text

    csv_file = await manager.post(
        "/dashboard/export",
        {"figure": "sales", "format": "csv", "merchant": "", **period},
    )
    assert csv_file.status == 200, csv_file.text
    assert csv_file.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_file.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_file.text.lstrip("\ufeff")), delimiter=";"))
    assert sorted(r["NATURE"] for r in rows) == ["anonymous_sale", "sale", "sale"], rows
    total = sum(Decimal(r["MONTANT"].replace(",", ".")) for r in rows)
    assert total == Decimal("50.00")  # the month's revenue, in euros
    async with http.post(  # a workbook is bytes: not the Browser's text
        PORTAL + "/dashboard/export",
        data={"figure": "customers", "format": "xlsx", "csrf": manager.csrf, **period},
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in manager.jar.items())},
    ) as xlsx:
        workbook = openpyxl.load_workbook(io.BytesIO(await xlsx.read()))
    assert xlsx.status == 200 and "spreadsheetml" in xlsx.headers["Content-Type"]
    sheet = workbook.worksheets[0]
    cells = {str(cell.value) for row in sheet.iter_rows() for cell in row}
    assert enrolled.body["account_id"] in cells, cells  # the month's one customer

    # Another merchant's figures, asked by editing the form: crm refuses, the page says so.
    refused = await manager.get(f"/dashboard?preset=this_month&merchant={n}")
    assert refused.status == 403 and refused.headers["X-Problem-Reason"] == "out_of_scope"
    assert "hors du périmètre de votre accès" in refused.text and "99,00" not in refused.text
    await manager.get("/dashboard")
    theirs = await manager.post(
        "/dashboard/export", {"figure": "sales", "format": "csv", "merchant": n, **period}
    )
    assert theirs.status == 403 and "hors du périmètre" in theirs.text
    no_token = await manager.post(
        "/dashboard/export", {"figure": "sales", "format": "csv", **period}, csrf=False
    )
    assert no_token.status == 403 and no_token.headers["X-Problem-Reason"] == "csrf"

    # The association's administrator: the association's figures, and any of its merchants'.
    admin = await _signed_in(http, "association_admin", net.association_id)
    network = await admin.get("/dashboard")
    assert network.status == 200 and "Statistiques du réseau" in network.text
    assert "149,00\xa0€" in _row(network.text, "revenue_cents")  # 50,00 + 99,00
    assert f'<option value="{n}">merchant 1</option>' in network.text
    theirs_page = await admin.get(
        f"/dashboard?from={period['from']}&to={period['to']}&merchant={n}"
    )
    assert theirs_page.status == 200 and "99,00\xa0€" in _row(theirs_page.text, "revenue_cents")
    # N recorded no sale without a member: its members' share is unknown, not 100 %.
    assert "inconnue" in _row(theirs_page.text, "member_share_bps")

    english = await admin.post("/language", {"language": "en"})
    assert english.status == 303
    page_en = await admin.get("/dashboard?preset=last_30_days")
    assert "Network statistics" in page_en.text and "Sales by hour of the day" in page_en.text
    assert 'aria-current="page">The last 30 days</a>' in page_en.text
    bad = await admin.get("/dashboard?from=2031-03-10&to=2031-03-01")
    assert bad.status == 400 and "The period ends before it starts." in bad.text


async def test_the_dashboard_is_for_managers_and_admins_each_within_their_own_scope(
    services: harness.Services, http: aiohttp.ClientSession, make_network: NetworkFactory
) -> None:
    net, other = await make_network(merchants=1), await make_network(merchants=1)
    staff = await _signed_in(http, "staff", net.association_id, net.merchants[0])
    assert (await staff.get("/dashboard")).status == 303  # to sign in as a manager
    assert (await Browser(http).get("/dashboard")).status == 303
    # Another association's administrator, asking this association's merchant: refused.
    stranger = await _signed_in(http, "association_admin", other.association_id)
    own = await stranger.get("/dashboard")
    assert own.status == 200 and f'value="{net.merchants[0]}"' not in own.text
    refused = await stranger.get(f"/dashboard?preset=this_year&merchant={net.merchants[0]}")
    assert refused.status == 403 and refused.headers["X-Problem-Reason"] == "out_of_scope"
    assert "hors du périmètre de votre accès" in refused.text
