"""The merchant's back office in Chromium (issue 15, item 3, MANAGER) at a phone's, a tablet's
and a desktop's width, against the five services and the portal as processes: a purchase at
the merchant's till; its manager signs in, sees it in the dashboard's revenue, composes a
campaign to a segment of their customers, previews its size, sends it and sees it sent; then
every page of the back office, axe-core on each, screenshots ``manage-*``."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from shared import clock
from tests import harness
from tests.browser import Screen
from tests.conftest import NetworkFactory, eventually
from tests.journeys import manage as j
from tests.people import customer, email_consent, file_of
from tests.portal import person

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


async def test_a_manager_sees_a_purchase_in_the_dashboard_and_sends_a_campaign(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    screen: Screen,
) -> None:
    net = await make_network(merchants=1)
    mid = str(net.merchants[0])
    buyer = await customer(net, http, first_name="Léa")
    await email_consent(http, buyer, mid)
    phone = (await file_of(http, buyer))["phone"]
    assert (await net.terminals[0].sale(phone, 4_250)).status == 201

    async def visited() -> bool:
        return bool((await file_of(http, buyer))["visit_count"] == 1)

    await eventually(visited, what="the visit")
    email, password = await person(http, "manager", net.association_id, net.merchants[0])

    await j.manager_signs_in(screen, email, password)
    await j.sees_the_dashboard(screen, 4_250)
    await j.composes_a_campaign(screen, "Truffes", "Arrivage de truffes.", min_spent="30")
    assert await j.previews_its_size(screen) == 1
    await j.sends_it(screen)
    await j.sees_it_sent(screen, "Truffes", messages=1)
    await j.visits_every_page(screen)


async def test_a_manager_schedules_a_campaign_for_later_and_cancels_it(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    screen: Screen,
) -> None:
    net = await make_network(merchants=1)
    email, password = await person(http, "manager", net.association_id, net.merchants[0])
    await j.manager_signs_in(screen, email, password)
    await j.composes_a_campaign(screen, "Les truffes samedi", "Arrivage de truffes samedi.")
    when = (clock.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    await j.schedules_it(screen, when)
    await j.cancels_it(screen)
