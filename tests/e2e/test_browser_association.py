"""The association back office in Chromium (issue 15, item 3) at a phone's, a tablet's and a
desktop's width, against the five services and the portal as processes: the treasurer of a
network whose last month has a sale and two card transactions held in quarantine signs in,
closes the month (after its confirmation), approves one held transaction and rejects the
other, downloads the month's SEPA files (each a pain XML of the month); then every page of the
back office, axe-core on each, screenshots ``association-*``."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests import harness
from tests.browser import Screen
from tests.conftest import NetworkFactory
from tests.journeys import association as j

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


async def test_the_treasurer_closes_the_month_reviews_the_quarantine_and_downloads_the_files(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    screen: Screen,
    tmp_path: Path,
) -> None:
    books = await j.books_to_close(http, make_network)

    await j.admin_signs_in(screen, books.email, books.password)
    await screen.accessible("the books")
    await screen.goto(f"/association/close?period={books.month}")
    await screen.accessible("the close's confirmation")
    await screen.screenshot("association-close")
    await j.closes_the_month(screen, books.month)
    await screen.goto(f"/association/periods/{books.month}")
    await screen.accessible("the closed month")
    await screen.screenshot("association-month")

    await screen.goto("/association/quarantine")
    await screen.accessible("the quarantine with two held transactions")
    await screen.screenshot("association-quarantine-held")
    await j.reviews_the_quarantine(screen, approve=[books.approvable], reject=[books.rejectable])

    paths = await j.downloads_the_settlement_files(screen, tmp_path, books.month)
    assert sorted(p.name for p in paths) == [
        f"pain001-{books.month}.xml",
        f"pain008-{books.month}.xml",
    ]
    assert b"pain.008" in paths[0].read_bytes() and b"pain.001" in paths[1].read_bytes()

    await j.sees_the_bank_details_set(screen, books.merchant_id)
    printed = await j.prints_a_card_batch_again(screen, tmp_path)
    assert printed.name.startswith("cards-") and printed.suffix == ".csv"

    await j.visits_every_page(screen)
