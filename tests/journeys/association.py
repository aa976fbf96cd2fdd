"""The association back office as its treasurer goes through it (issue 15, item 3), one step
per thing they do or see, each on a `tests.browser.Screen` already open at the width the test
chose; and the set-up the steps need (``books_to_close``). The steps know no fixture:
tests/e2e/test_browser_association.py runs them at three widths, and the "Done when" test
chains them ("the association's treasurer closes the month, reviews a quarantined card
transaction and downloads the settlement files").

The month closed is the previous one, whatever today's date: it is always over, and its days
are within the suite's date window (tests/harness.py DATE_WINDOW_DAYS)."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from services.clearing.domain import bank
from shared import clock
from shared.contracts import card_transaction_id
from shared.sync.client import HttpTransport, SyncClient
from tests import harness
from tests.browser import Screen
from tests.cardtx import CardTxFactory, MemoryJournal
from tests.conftest import Network, NetworkFactory, eventually
from tests.people import new_phone
from tests.portal import person

CARDS, CLEARING = harness.url("cards"), harness.url("clearing")
# The back office's pages, by the name of their screenshot (``association-<name>-<width>``).
PAGES = {
    "books": "/association",
    "quarantine": "/association/quarantine",
    "reconciliation": "/association/reconciliation",
    "merchants": "/association/merchants",
    "issuance": "/association/issuance",
    "programmes": "/association/programmes",
    "card-types": "/association/card-types",
    "partners": "/association/partners",
    "bank-details": "/association/bank-details",
    "webhooks": "/association/webhooks",
}
SALE_CENTS = 1_000  # the online sale of the month, at the network's 3 % (+ 0,5 % of fees)
HELD_CENTS = 1_500  # each quarantined card transaction


@dataclass(frozen=True)
class Books:
    """A network with a month to close: ``month`` (YYYY-MM, the previous month) holds a sale
    at ``merchant_id``'s till; two offline card transactions of that month are held in
    quarantine: ``approvable`` (a reward other than the rules', on a card of the network:
    it can be booked) and ``rejectable`` (a card the network never issued). The merchant and
    the association have bank details, so the close writes both SEPA files. ``email`` and
    ``password`` sign its administrator (the treasurer) in."""

    network: Network
    month: str
    merchant_id: uuid.UUID
    approvable: str
    rejectable: str
    email: str
    password: str

    @property
    def association_id(self) -> uuid.UUID:
        return self.network.association_id


def previous_month(today: Any = None) -> str:
    first = (today or clock.today_paris()).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def iban(n: int) -> str:
    """A valid French IBAN, different for each ``n``."""
    bban = f"3000400001{n:011d}12"
    return f"FR{bank.iban_check_digits('FR', bban)}{bban}"


async def _bank_details(net: Network, kind: str, party: str, details: dict[str, str]) -> None:
    """Once clearing knows the party (cards' events reach it a moment after)."""
    body = {"iban": iban(secrets.randbelow(10**9)), "bic": "BNPAFRPPXXX", **details}

    async def saved() -> bool:
        r = await net.admin.call("PUT", f"{CLEARING}/v1/bank-details/{kind}/{party}", body)
        assert r.status in (200, 404, 409, 422), r
        return r.status == 200

    await eventually(saved, what=f"the {kind}'s bank details in clearing")


async def issues_cards(net: Network) -> None:
    """The network (3 %, fees 0,5 %) given an issuer prefix: cards of its default type can
    be issued."""
    aid = net.association_id
    r = await net.admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{aid}",
        {
            "name": f"books {aid}",
            "rate_mode": "merchant",
            "taux_client_bps": 300,
            "taux_uc_bps": 50,
            "issuer_prefix": f"{600000 + secrets.randbelow(100000)}",
        },
    )
    assert r.status == 200, r


async def books_to_close(http: aiohttp.ClientSession, make_network: NetworkFactory) -> Books:
    """The set-up: a network of one shop (3 %, fees 0,5 %) whose last month has a sale of
    10,00 € booked (clearing has it) and two offline card transactions of 15,00 € held in
    quarantine, and an administrator of the association with a password."""
    net = await make_network(merchants=1)
    aid, mid = net.association_id, net.merchants[0]
    await issues_cards(net)
    month = previous_month()
    year, number = (int(x) for x in month.split("-"))
    at = datetime(year, number, 10, 12, 0, tzinfo=clock.PARIS)
    sale = await net.terminals[0].sale(new_phone(), SALE_CENTS, occurred_at=at.isoformat())
    assert sale.status == 201, sale

    # Two offline lines of the month, held: a forged reward, a stranger's card.
    r = await net.admin.call(
        "POST", f"{CARDS}/v1/associations/{aid}/cards", {"issue_id": str(uuid.uuid4())}
    )
    assert r.status == 201, r
    t = net.terminals[0]
    terminal = uuid.UUID(t.terminal_id)
    factory = CardTxFactory(terminal, start=at + timedelta(days=1), reward_bps=300)
    forged = factory.sale(factory.card(r.body["number"]), HELD_CENTS)
    forged = forged.model_copy(update={"reward_cents": 900})
    stranger = factory.sale(None, HELD_CENTS)
    transport = HttpTransport(harness.url("terminals"), t.terminal_id, t.secret)
    report = await SyncClient(transport).run(MemoryJournal([forged, stranger]))
    assert report.ok, report

    async def held() -> bool:
        r = await net.admin.call(
            "GET", f"{CARDS}/v1/associations/{aid}/card-quarantine?status=held"
        )
        return r.status == 200 and len(r.body["lines"]) == 2

    await eventually(held, what="the two lines held in quarantine")

    async def booked() -> bool:
        r = await net.admin.call("GET", f"{CLEARING}/v1/associations/{aid}/statements/{month}")
        return r.status == 200 and any(
            s["figures"]["purchases_cents"] == SALE_CENTS for s in r.body
        )

    await eventually(booked, what="the sale in clearing's books")
    await _bank_details(net, "merchant", str(mid), {
        "holder": "Épicerie du marché", "mandate_id": f"CPT-{mid.hex[:8]}",
        "mandate_signed_on": "2020-01-15",
    })  # fmt: skip
    await _bank_details(
        net, "association", str(aid), {"holder": "Association", "creditor_id": "FR72ZZZ123456"}
    )
    await _bank_details(net, "operator", str(uuid.UUID(int=0)), {"holder": "Comptoir"})
    email, password = await person(http, "association_admin", aid)
    return Books(
        net,
        month,
        mid,
        str(card_transaction_id(terminal, forged.seq)),
        str(card_transaction_id(terminal, stranger.seq)),
        email,
        password,
    )


async def admin_signs_in(screen: Screen, email: str, password: str) -> None:
    """The association's administrator (``email``, ``password``: a person of role
    association_admin with a password set) signs in on /sign-in and opens the back office
    from the header's link."""
    page = screen.page
    await screen.goto("/sign-in")
    await page.get_by_label("Adresse e-mail").fill(email)
    await page.get_by_label("Mot de passe").fill(password)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_load_state()
    await page.locator('header a[href="/association"]').click()
    await page.wait_for_url("**/association")
    assert await page.get_by_role("heading", level=1).inner_text() == "La comptabilité"


async def closes_the_month(screen: Screen, month: str) -> None:
    """From the books' page, the treasurer types ``month`` (YYYY-MM, over and still open),
    reads the confirmation and closes it; the month's page says what the close wrote and
    the books list it as closed by them."""
    page = screen.page
    await screen.goto("/association")
    await page.get_by_label("Mois (AAAA-MM)").fill(month)
    await page.get_by_role("button", name="Continuer").click()
    await page.wait_for_url(f"**/association/close?period={month}")
    assert (await page.get_by_role("heading", level=1).inner_text()).startswith("Clôturer ")
    await page.get_by_role("button", name="définitivement").click()
    await page.wait_for_url(f"**/association/periods/{month}?closed=*")
    notice = await page.get_by_role("status").inner_text()
    assert notice.startswith("Clôturé :") and "relevé(s)" in notice, notice
    await screen.goto("/association")
    row = await page.locator(f"#period-{month}").inner_text()
    assert "prêt" in row, row  # the settlement's status: its files are written


async def reviews_the_quarantine(
    screen: Screen, approve: list[str] | None = None, reject: list[str] | None = None
) -> None:
    """On the quarantine page, the treasurer approves the held card transactions of
    ``approve`` and rejects those of ``reject`` (their transaction ids, as in
    ``Books.approvable``), each with a reason; each leaves the held list and shows in the
    approved or rejected one. The reason each was held is shown before the decision."""
    page = screen.page
    for ids, button, done in (
        (approve or [], "Approuver : comptabiliser", "Approuvée"),
        (reject or [], "Rejeter", "Rejetée"),
    ):
        for tx in ids:
            await screen.goto("/association/quarantine")
            line = page.locator(f"#line-{tx}")
            assert await line.locator(".why").inner_text(), tx
            form = line.locator("form").filter(has=page.get_by_role("button", name=button))
            await form.get_by_label("Motif de la décision").fill("vérifié avec le commerçant")
            await form.get_by_role("button", name=button).click()
            await page.wait_for_url("**/association/quarantine?done=*")
            assert (await page.get_by_role("status").inner_text()).startswith(done)
            assert await page.locator(f"#line-{tx}").count() == 0
    for status, ids in (("approved", approve or []), ("rejected", reject or [])):
        if ids:
            await screen.goto(f"/association/quarantine?status={status}")
            for tx in ids:
                assert await page.locator(f"#line-{tx} .decided-by").inner_text()


async def downloads_the_settlement_files(
    screen: Screen, into: Path, month: str | None = None
) -> list[Path]:
    """The treasurer opens the closed ``month`` (YYYY-MM; None: the last closed, from the
    books' page) and downloads its SEPA files (direct debits, credit transfers) into the
    folder ``into``; their paths, each an XML document named after its kind and month."""
    page = screen.page
    await screen.goto("/association")
    if month is None:
        await page.locator("#periods-title + .table-scroll tbody a").first.click()
    else:
        await page.locator(f'a[href="/association/periods/{month}"]').first.click()
    await page.wait_for_url("**/association/periods/*")
    paths = []
    for name in ("prélèvements", "virements"):
        async with page.expect_download() as info:
            await page.get_by_role("button", name=f"Télécharger les {name}").click()
        download = await info.value
        path = into / download.suggested_filename
        await download.save_as(path)
        assert path.read_bytes().startswith(b"<?xml"), path
        paths.append(path)
    return paths


async def visits_every_page(screen: Screen) -> None:
    """Every page of the back office in turn (PAGES): axe-core on each, with no serious or
    critical violation, and its screenshot ``association-<name>-<width>.png``."""
    for name, path in PAGES.items():
        await screen.goto(path)
        await screen.accessible(f"the association's {name} page")
        await screen.screenshot(f"association-{name}")


async def sees_the_bank_details_set(screen: Screen, merchant_id: uuid.UUID) -> None:
    """On the bank details' page, the treasurer reads what is set for the association and
    for the merchant ``merchant_id`` (both set, as ``books_to_close`` does): the holder, the
    IBAN masked but its last 4 characters (never whole), the creditor id or the mandate."""
    page = screen.page
    await screen.goto("/association/bank-details")
    table = page.locator("#bank-set")
    own = await table.locator("tr[id^='bank-association-']").inner_text()
    assert "Association" in own and "FR72ZZZ123456" in own, own
    theirs = await table.locator(f"#bank-merchant-{merchant_id}").inner_text()
    assert f"CPT-{merchant_id.hex[:8]}" in theirs, theirs
    for row in (own, theirs):  # the last 4 characters shown; never "FR76…"
        assert re.search(r"••••\s[0-9A-Z]{4}", row) and not re.search(r"FR[0-9]{12}", row), row


async def prints_a_card_batch_again(screen: Screen, into: Path, size: int = 2) -> Path:
    """On the issuance page, the treasurer makes a batch of ``size`` cards for the printer,
    then comes back to the page later: the batch is in the list of batches made (newest
    first) and its printer's file is downloaded again from there into the folder ``into``;
    its path (a CSV of a header and ``size`` lines)."""
    page = screen.page
    await screen.goto("/association/issuance")
    await page.get_by_label("Combien").first.fill(str(size))
    await page.get_by_role("button", name="Créer les cartes").click()
    await page.wait_for_load_state()
    assert "cartes créées" in await page.get_by_role("status").inner_text()
    await screen.goto("/association/issuance")
    newest = page.locator("#card-batches tbody tr").first
    assert (await newest.locator("td.num").inner_text()).strip() == str(size)
    async with page.expect_download() as info:
        await newest.get_by_role("button").click()
    download = await info.value
    path = into / download.suggested_filename
    await download.save_as(path)
    lines = path.read_bytes().decode("utf-8-sig").strip().splitlines()
    assert len(lines) == size + 1 and lines[0].startswith("number"), lines
    return path
