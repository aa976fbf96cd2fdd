"""Saved segments (issue 14, item 4) against the running services: five customers built through
the till (enrolled, sales of different amounts, families and dates, at two merchants) and crm
(birthdays, consents); a segment per filter, its size and its export rows checked against what
the test knows of each; a campaign to a saved segment reaching exactly its consenting members,
and a later edit of the segment not changing the sent campaign."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import openpyxl
import pytest

from shared import clock
from tests import harness
from tests.conftest import Network, NetworkFactory, eventually
from tests.people import ADMIN, call, customer, email_consent, file_of, messages_of

pytestmark = pytest.mark.asyncio

CRM = harness.url("crm")


class People:
    """The test's customers by name, their accounts, and the network they are in."""

    def __init__(self, net: Network, accounts: dict[str, str]) -> None:
        self.net = net
        self.accounts = accounts
        self.names = {a: n for n, a in accounts.items()}

    def named(self, accounts: list[str]) -> set[str]:
        return {self.names[a] for a in accounts if a in self.names}


async def _people(net: Network, http: aiohttp.ClientSession) -> People:
    """ann: born in March, two menus at M0 today (50.00); bob: born in March, flowers at M0 30
    days ago (100.00); cat: born in July, three coffees at M0 today (15.00); dan: no birthday,
    no visit; eve: born in December, a menu at M1 today (80.00). All enrolled at M0's till.
    E-mail consents: ann at M0; cat the network's; dan at M0; eve at M0 and the network's."""
    m0 = str(net.merchants[0])
    born = {"ann": "1980-03-10", "bob": "1975-03-22", "cat": "1990-07-01", "eve": "1985-12-05"}
    accounts = {}
    for name in ("ann", "bob", "cat", "dan", "eve"):
        details: dict[str, Any] = {"first_name": name.capitalize(), "last_name": "Segment"}
        if name in born:
            details["birth_date"] = born[name]
        accounts[name] = await customer(net, http, **details)
    long_ago = (clock.now() - timedelta(days=30)).isoformat()
    sales: list[tuple[str, int, int, str, dict[str, Any]]] = [
        ("ann", 0, 3_000, "menu", {}),
        ("ann", 0, 2_000, "menu", {}),
        ("bob", 0, 10_000, "fleurs", {"occurred_at": long_ago}),
        ("cat", 0, 500, "cafe", {}),
        ("cat", 0, 500, "cafe", {}),
        ("cat", 0, 500, "cafe", {}),
        ("eve", 1, 8_000, "menu", {}),
    ]
    for name, till, cents, family, extra in sales:
        phone = (await file_of(http, accounts[name]))["phone"]
        sold = await net.terminals[till].sale(phone, cents, family, **extra)
        assert sold.status == 201, sold
    visits = {"ann": 2, "bob": 1, "cat": 3, "dan": 0, "eve": 1}

    async def counted() -> bool:
        for name, n in visits.items():
            if (await file_of(http, accounts[name]))["visit_count"] != n:
                return False
        return True

    await eventually(counted, what="the visits counted")
    for name, scope in (("ann", m0), ("cat", None), ("dan", m0), ("eve", m0), ("eve", None)):
        await email_consent(http, accounts[name], scope)
    return People(net, accounts)


def _base(net: Network) -> str:
    return f"{CRM}/v1/associations/{net.association_id}/segments"


async def _saved(
    http: aiohttp.ClientSession, net: Network, name: str, merchant: Any, **filters: Any
) -> str:
    segment = str(uuid.uuid4())
    body: dict[str, Any] = {"name": name, "filters": filters}
    if merchant is not None:
        body["merchant_id"] = str(merchant)
    status, saved = await call(http, "PUT", f"{_base(net)}/{segment}", body)
    assert status == 200, saved
    return segment


async def _members(http: aiohttp.ClientSession, people: People, segment: str) -> set[str]:
    """The segment's customers by name, from its CSV export."""
    text = await _download(http, f"{_base(people.net)}/{segment}/customers.csv")
    return people.named([r["Compte"] for r in _csv(text)])


async def _download(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url, headers=ADMIN) as r:
        assert r.status == 200, await r.text()
        return (await r.read()).decode("utf-8-sig")


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


async def test_each_filter_selects_the_customers_it_says_in_its_scope(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=2)
    people = await _people(net, http)
    m0 = net.merchants[0]
    recently = (clock.now() - timedelta(days=10)).isoformat()
    expected: list[tuple[Any, dict[str, Any], set[str]]] = [
        (m0, {}, {"ann", "bob", "cat", "dan", "eve"}),
        (m0, {"seen_since": recently}, {"ann", "cat"}),
        (m0, {"not_seen_since": recently}, {"bob", "dan", "eve"}),
        (m0, {"min_spent_cents": 4_000}, {"ann", "bob"}),
        (m0, {"max_spent_cents": 5_000}, {"ann", "cat", "dan", "eve"}),
        (m0, {"min_spent_cents": 4_000, "max_spent_cents": 5_000}, {"ann"}),
        (m0, {"min_visits": 2}, {"ann", "cat"}),
        (m0, {"max_visits": 0}, {"dan", "eve"}),
        (m0, {"product_families": ["menu"]}, {"ann"}),
        (m0, {"product_families": ["menu", "fleurs"]}, {"ann", "bob"}),
        (m0, {"birth_months": [3]}, {"ann", "bob"}),
        (m0, {"birth_months": [3, 12]}, {"ann", "bob", "eve"}),
        (m0, {"consent_channel": "email"}, {"ann", "dan", "eve"}),
        (m0, {"birth_months": [3], "consent_channel": "email"}, {"ann"}),
        # the network's: the counters of every shop, the network's consent
        (None, {"product_families": ["menu"]}, {"ann", "eve"}),
        (None, {"min_spent_cents": 6_000}, {"bob", "eve"}),
        (None, {"max_visits": 0}, {"dan"}),
        (None, {"consent_channel": "email"}, {"cat", "eve"}),
    ]
    for n, (scope, filters, names) in enumerate(expected):
        segment = await _saved(http, net, f"segment {n}", scope, **filters)
        status, size = await call(http, "GET", f"{_base(net)}/{segment}/size")
        assert (status, size) == (200, {"size": len(names), "consenting": None}), (filters, size)
        assert await _members(http, people, segment) == names, filters
        preview = filters | ({"merchant_id": str(scope)} if scope else {})
        status, size = await call(http, "POST", f"{_base(net)}/size", preview)
        assert size == {"size": len(names), "consenting": None}, (filters, size)

    march = await _saved(http, net, "born in March", m0, birth_months=[3])
    _, size = await call(http, "GET", f"{_base(net)}/{march}/size?channel=email")
    assert size == {"size": 2, "consenting": 1}  # ann consented at M0, bob did not
    _, size = await call(http, "GET", f"{_base(net)}/{march}/size?channel=sms")
    assert size == {"size": 2, "consenting": 0}


async def test_exports_show_the_scope_s_counters_and_a_marketing_export_only_consenting(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=2)
    people = await _people(net, http)
    m0 = net.merchants[0]
    segment = await _saved(http, net, "menus", None, product_families=["menu"])
    rows = {
        r["Prénom"]: r for r in _csv(await _download(http, f"{_base(net)}/{segment}/customers.csv"))
    }
    assert set(rows) == {"Ann", "Eve"}
    ann, eve = rows["Ann"], rows["Eve"]
    assert (ann["Visites"], ann["Achats"], ann["Nom"]) == ("2", "50,00", "Segment")
    assert (eve["Visites"], eve["Achats"]) == ("1", "80,00")
    assert ann["E-mail"] and ann["Mobile"]  # the network's own file: all its details

    # at M0, eve's counters are M0's: no visit there
    at_m0 = await _saved(http, net, "December at M0", m0, birth_months=[12])
    (eve_m0,) = _csv(await _download(http, f"{_base(net)}/{at_m0}/customers.csv"))
    assert (eve_m0["Prénom"], eve_m0["Visites"], eve_m0["Achats"]) == ("Eve", "0", "0,00")

    # a marketing export by e-mail: only those who consented at M0, only their e-mail
    march = await _saved(http, net, "March at M0", m0, birth_months=[3])
    url = f"{_base(net)}/{march}/customers.csv?channel=email"
    (only,) = _csv(await _download(http, url))
    file = await file_of(http, people.accounts["ann"])
    assert (only["Compte"], only["E-mail"]) == (people.accounts["ann"], file["email"])
    assert only["Mobile"] == "" and only["Code postal"] == ""

    # M1's file: eve (seen there: her whole file) and ann, added from M0's file consenting to
    # SMS only: her mobile, not her e-mail
    status, _ = await call(
        http,
        "POST",
        f"{CRM}/v1/merchants/{net.merchants[1]}/customers",
        {"account_id": people.accounts["ann"], "channels": ["sms"]},
    )
    assert status == 201
    at_m1 = await _saved(http, net, "M1's file", net.merchants[1])
    rows = {
        r["Prénom"]: r for r in _csv(await _download(http, f"{_base(net)}/{at_m1}/customers.csv"))
    }
    assert set(rows) == {"Ann", "Eve"}
    assert rows["Ann"]["E-mail"] == "" and rows["Ann"]["Mobile"].endswith(file["phone"][1:])
    assert rows["Ann"]["Visites"] == "0"
    eve_file = await file_of(http, people.accounts["eve"])
    assert (rows["Eve"]["E-mail"], rows["Eve"]["Visites"]) == (eve_file["email"], "1")

    async with http.get(f"{_base(net)}/{march}/customers.xlsx", headers=ADMIN) as r:
        assert r.status == 200 and r.content_type.endswith("spreadsheetml.sheet")
        book = openpyxl.load_workbook(io.BytesIO(await r.read()), read_only=True)
    sheet = [list(r) for r in book["Clients"].iter_rows(values_only=True)]
    header, lines = sheet[0], [dict(zip(sheet[0], r, strict=True)) for r in sheet[1:]]
    assert header[:4] == ["Compte", "Civilité", "Nom", "Prénom"]
    by_name = {line["Prénom"]: line for line in lines}
    assert set(by_name) == {"Ann", "Bob"}
    assert (by_name["Bob"]["Visites"], float(by_name["Bob"]["Achats"])) == (1, 100.0)


async def test_a_campaign_to_a_saved_segment_reaches_its_consenting_members_and_keeps_them(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=2)
    people = await _people(net, http)
    m0 = net.merchants[0]
    segment = await _saved(http, net, "spring and winter", m0, birth_months=[3, 12])
    campaign, draft = str(uuid.uuid4()), str(uuid.uuid4())
    body = {
        "association_id": str(net.association_id),
        "template": "newsletter",
        "variables": {"body": "Les nouveautés"},
        "segment_id": segment,
        "channel": "email",
    }
    for c in (campaign, draft):
        status, made = await call(http, "PUT", f"{CRM}/v1/campaigns/{c}", body)
        assert status == 200, made
    # ann, bob, eve; ann and eve consented at M0: who will receive
    assert (made["size"], made["consenting"], made["merchant_id"]) == (3, 2, str(m0)), made
    assert made["segment_id"] == segment and made["segment"] == {"birth_months": [3, 12]}

    status, asked = await call(http, "POST", f"{CRM}/v1/campaigns/{campaign}/send")
    assert status == 202, asked

    async def sent() -> bool:
        _, report = await call(http, "GET", f"{CRM}/v1/campaigns/{campaign}")
        return bool(report["sending"]["status"] == "sent")

    await eventually(sent, what="the campaign sent")
    for name in ("ann", "eve"):
        assert len(await messages_of(http, people.accounts[name], "newsletter")) == 1, name
    for name in ("bob", "cat", "dan"):
        assert await messages_of(http, people.accounts[name], "newsletter") == [], name

    # the segment now says July (cat, who consented only to the network's e-mails)
    status, _ = await call(
        http,
        "PUT",
        f"{_base(net)}/{segment}",
        {"name": "summer", "merchant_id": str(m0), "filters": {"birth_months": [7]}},
    )
    assert status == 200
    _, report = await call(http, "GET", f"{CRM}/v1/campaigns/{campaign}")
    assert report["segment"] == {"birth_months": [3, 12]}, report
    assert (report["size"], report["consenting"], report["sending"]["asked"]) == (3, 2, 2)
    assert report["segment_frozen_at"] is not None
    _, follows = await call(http, "GET", f"{CRM}/v1/campaigns/{draft}")
    assert (follows["segment"], follows["size"], follows["consenting"]) == (
        {"birth_months": [7]},
        1,
        0,
    )
    status, again = await call(http, "POST", f"{CRM}/v1/campaigns/{campaign}/send")
    assert (status, again["asked"]) == (200, 2)
    status, refused = await call(http, "PUT", f"{CRM}/v1/campaigns/{campaign}", body)
    assert (status, refused["reason"]) == (409, "campaign_sent")
    # the draft still goes to it: the segment stays
    status, refused = await call(http, "DELETE", f"{_base(net)}/{segment}")
    assert (status, refused["reason"]) == (409, "segment_in_use")
    for name in ("ann", "eve"):
        assert len(await messages_of(http, people.accounts[name], "newsletter")) == 1, name


async def test_bad_filters_and_unknown_segments_are_refused_with_their_reason(
    make_network: NetworkFactory, http: aiohttp.ClientSession
) -> None:
    net = await make_network(merchants=1)
    base = _base(net)
    bad: list[dict[str, Any]] = [
        {"min_spent_cents": 5_000, "max_spent_cents": 4_000},
        {"min_visits": 3, "max_visits": 2},
        {"birth_months": [13]},
        {"birth_months": [3, 3]},
        {"min_visits": -1},
        {"seen_since": "2026-05-01T00:00:00+00:00", "not_seen_since": "2026-04-01T00:00:00+00:00"},
    ]
    for filters in bad:
        status, problem = await call(
            http, "PUT", f"{base}/{uuid.uuid4()}", {"name": "bad", "filters": filters}
        )
        assert (status, problem["reason"]) == (422, "invalid_filter"), (filters, problem)
        status, problem = await call(http, "POST", f"{base}/size", filters)
        assert (status, problem["reason"]) == (422, "invalid_filter"), (filters, problem)
    status, problem = await call(http, "PUT", f"{base}/{uuid.uuid4()}", {"name": "x", "wat": 1})
    assert (status, problem["reason"]) == (422, "malformed")
    # a merchant's segment names a merchant of the association (cards knows)
    stranger = await make_network(merchants=1)
    for merchant in (stranger.merchants[0], uuid.uuid4()):
        body = {"name": "ailleurs", "merchant_id": str(merchant)}
        status, problem = await call(http, "PUT", f"{base}/{uuid.uuid4()}", body)
        assert (status, problem["reason"]) == (422, "merchant_not_in_association"), problem
        status, problem = await call(http, "POST", f"{base}/size", {"merchant_id": str(merchant)})
        assert (status, problem["reason"]) == (422, "merchant_not_in_association"), problem

    unknown = uuid.uuid4()
    for url in (f"{base}/{unknown}", f"{base}/{unknown}/size", f"{base}/{unknown}/customers.csv"):
        status, problem = await call(http, "GET", url)
        assert (status, problem["reason"]) == (404, "unknown_segment"), url
    campaign = {
        "association_id": str(net.association_id),
        "template": "newsletter",
        "segment_id": str(unknown),
        "channel": "email",
    }
    status, problem = await call(http, "PUT", f"{CRM}/v1/campaigns/{uuid.uuid4()}", campaign)
    assert (status, problem["reason"]) == (404, "unknown_segment")
    both = campaign | {"segment": {"channel": "email"}}
    status, problem = await call(http, "PUT", f"{CRM}/v1/campaigns/{uuid.uuid4()}", both)
    assert (status, problem["reason"]) == (422, "one_segment")

    named = await _saved(http, net, "Fidèles", None, min_visits=5)
    status, problem = await call(
        http, "PUT", f"{base}/{uuid.uuid4()}", {"name": "fidèles", "filters": {}}
    )
    assert (status, problem["reason"]) == (409, "segment_name_taken")
    # another association's segment is not this one's
    other = await make_network(merchants=1)
    status, problem = await call(http, "GET", f"{_base(other)}/{named}")
    assert (status, problem["reason"]) == (404, "unknown_segment")
    status, listed = await call(http, "GET", base)
    assert [s["name"] for s in listed["segments"]] == ["Fidèles"]
    status, gone = await call(http, "DELETE", f"{base}/{named}")
    assert (status, gone["filters"]) == (200, {"min_visits": 5})
    assert (await call(http, "GET", base))[1] == {"segments": []}
