"""The cardholder space's tests' helpers: a cardholder made at a till (enrolled, then a
purchase), a pending SMS consent asked for them, their code-signed-in session."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass

import aiohttp

from tests import harness
from tests.conftest import Network, eventually
from tests.messaging import Mailbox
from tests.portal import ADMIN, Browser

CRM = harness.url("crm")
SUBJECT = "Votre code de connexion"


@dataclass(frozen=True)
class Holder:
    account_id: str
    email: str
    phone: str  # the national form the till was given
    first_name: str


async def holder_with_a_purchase(
    http: aiohttp.ClientSession, net: Network, first_name: str, amount_cents: int = 4250
) -> Holder:
    """Enrolled at the network's first till by e-mail and mobile, then a purchase there; crm
    has their file once the enrolment's events reached it."""
    till = net.terminals[0]
    email = f"holder-{uuid.uuid4().hex[:10]}@example.org"
    phone = f"06{uuid.uuid4().int % 10**8:08d}"
    enrolled = await till.enrol(phone, email=email, first_name=first_name)
    assert enrolled.status == 201, enrolled
    account = str(enrolled.body["account_id"])
    sale = await till.sale(phone, amount_cents)
    assert sale.status == 201, sale

    async def known() -> bool:
        async with http.get(f"{CRM}/v1/customers/{account}", headers=ADMIN) as r:
            return r.status == 200

    await eventually(known, what="crm's file of the new cardholder")
    return Holder(account, email, phone, first_name)


async def ask_sms_consent(http: aiohttp.ClientSession, holder: Holder) -> str:
    """A network SMS consent asked at the back office (pending its code): its id."""
    async with http.post(
        f"{CRM}/v1/customers/{holder.account_id}/consents", json={"channel": "sms"}, headers=ADMIN
    ) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())["id"])


async def consent_status(http: aiohttp.ClientSession, holder: Holder, consent_id: str) -> str:
    async with http.get(f"{CRM}/v1/customers/{holder.account_id}/consents", headers=ADMIN) as r:
        assert r.status == 200, await r.text()
        found = [c for c in (await r.json())["consents"] if c["id"] == consent_id]
    return str(found[0]["status"])


async def next_code(mailbox: Mailbox, email: str, before: int, timeout: float = 30) -> str:
    """The code of the sign-in e-mail after the ``before`` first ones to ``email``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        mails = [m for m in mailbox.to(email) if str(m["Subject"]).startswith(SUBJECT)]
        if len(mails) > before:
            found = re.search(r"\b(\d{6})\b", str(mails[before]["Subject"]))
            assert found, mails[before]["Subject"]
            return found.group(1)
        assert loop.time() < deadline, f"no sign-in code to {email}"
        await asyncio.sleep(0.1)


def codes_sent(mailbox: Mailbox, email: str) -> int:
    return len([m for m in mailbox.to(email) if str(m["Subject"]).startswith(SUBJECT)])


async def signed_in_holder(
    http: aiohttp.ClientSession, mailbox: Mailbox, net: Network, holder: Holder
) -> Browser:
    """A browser signed in as ``holder`` with a code sent by e-mail."""
    browser = Browser(http)
    before = codes_sent(mailbox, holder.email)
    await browser.get(f"/holder/{net.association_id}")
    sent = await browser.post(f"/holder/{net.association_id}", {"address": holder.email})
    assert sent.status == 303, sent
    code = await next_code(mailbox, holder.email, before)
    await browser.get("/holder-code")
    signed = await browser.post("/holder-code", {"code": code})
    assert (signed.status, signed.headers["Location"]) == (303, "/space"), signed
    return browser
