"""The front desk's journey in Chromium (issue 15, item 3, CARD) at a phone's, a tablet's and a
desktop's width, against the five services and the portal as separate processes: a merchant's
staff member signs in, enrols a customer, finds them, records a purchase (the reward and why),
a return of part of it, a spend refused (more than the cagnotte) then one within it. axe-core
on every page on the way; screenshots desk-*."""

from __future__ import annotations

import aiohttp
import pytest

from tests import harness
from tests.browser import Screen
from tests.conftest import NetworkFactory
from tests.journeys.desk import (
    staff_enrols,
    staff_finds,
    staff_is_told,
    staff_records_a_purchase,
    staff_records_a_return,
    staff_redeems,
    staff_sees_the_cagnotte,
    staff_sees_why,
    staff_signs_in,
)
from tests.people import CARDS, new_phone
from tests.portal import person

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


async def test_a_staff_member_enrols_a_customer_and_records_a_purchase(
    services: harness.Services,
    http: aiohttp.ClientSession,
    make_network: NetworkFactory,
    screen: Screen,
) -> None:
    net = await make_network(merchants=1)
    mid = net.merchants[0]
    r = await net.admin.call(
        "PUT", f"{CARDS}/v1/merchants/{mid}/families/fleurs", {"label": "Fleurs"}
    )
    assert r.status == 201, r
    email, password = await person(http, "staff", net.association_id, mid)
    phone = new_phone()

    await staff_signs_in(screen, email, password)
    await screen.accessible("the front desk")
    await screen.screenshot("desk-find")

    account = await staff_enrols(screen, phone, "Capucine")
    await screen.accessible("a customer's page")
    assert await staff_finds(screen, phone) == account
    await screen.screenshot("desk-customer")

    booked = await staff_records_a_purchase(screen, "25,00", "fleurs")
    assert booked == "Enregistré : un achat de 25,00 €. Récompense : 0,75 €", booked
    why = await staff_sees_why(screen)  # in French, the amounts as the page writes them
    assert why.startswith(
        "Un achat de 25,00 € rapporte 0,75 € dans la cagnotte à 300 pb : "
        "taux client de 300 pb du réseau"
    ), why
    assert why.endswith("le commerce paie une commission de 0,13 € (50 pb)."), why
    await screen.accessible("a purchase's page")
    await screen.screenshot("desk-purchase")

    returned = await staff_records_a_return(screen, "10,00")
    assert returned == "Enregistré : un retour de 10,00 €. Récompense reprise : 0,30 €.", returned
    await screen.accessible("a return's page")

    assert await staff_redeems(screen, account, "5,00") == ""
    assert await staff_is_told(screen) == "La cagnotte ne contient pas autant."
    await screen.accessible("a spend refused")
    await screen.screenshot("desk-refused")
    spent = await staff_redeems(screen, account, "0,40")
    assert spent == "Enregistré : utilisé sur la cagnotte 0,40 €.", spent
    await screen.accessible("a spend's page")
    await screen.screenshot("desk-redeemed")
    assert await staff_sees_the_cagnotte(screen, account) == "0,05 €"  # 0,75 - 0,30 - 0,40
