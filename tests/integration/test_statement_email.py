"""The monthly statement, e-mailed to the merchant (issue 13, item 6): cards carries the
merchant's e-mail address in MerchantRegistered, clearing closes the month and hands the
statement over, notifications sends it to the real SMTP server with its XLSX (fetched from
clearing's API) attached, and the notice ends ``sent``. A merchant without an address gets a
``failed`` notice with the reason, never one queued for ever."""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from typing import Any

import aiohttp
import openpyxl

from shared.clock import PARIS
from tests import harness
from tests.conftest import Calendar, NetworkFactory, eventually
from tests.messaging import Mailbox

SELLING = datetime(2026, 10, 31, 12, 0, tzinfo=PARIS)
CLOSING = datetime(2026, 11, 10, 10, 0, tzinfo=PARIS)
CARDS = harness.url("cards")
CLEARING = harness.url("clearing")
NOTICES = f"{harness.url('notifications')}/v1/statement-notices"
ADMIN = {"Authorization": f"Bearer {harness.ADMIN_TOKEN}"}


async def notices_of(http: aiohttp.ClientSession, aid: uuid.UUID) -> dict[str, dict[str, Any]]:
    async with http.get(NOTICES, params={"association_id": str(aid)}, headers=ADMIN) as r:
        assert r.status == 200
        return {n["merchant_id"]: n for n in await r.json()}


async def test_the_merchant_receives_its_statement_with_the_xlsx_and_the_notice_ends_sent(
    calendar: Calendar,
    make_network: NetworkFactory,
    mailbox: Mailbox,
    http: aiohttp.ClientSession,
) -> None:
    await calendar.move_to(SELLING)
    net = await make_network(merchants=2)
    admin, aid = net.admin, net.association_id
    baker, florist = net.merchants
    email = f"boulangerie-{uuid.uuid4().hex[:8]}@example.org"
    r = await admin.call(
        "PUT",
        f"{CARDS}/v1/associations/{aid}/merchants/{baker}",
        {"name": "Boulangerie Martin", "email": email},
    )
    assert r.status == 200 and r.body["email"] == email, r
    # A later PUT without the field keeps the address.
    r = await admin.call(
        "PUT", f"{CARDS}/v1/associations/{aid}/merchants/{baker}", {"name": "Boulangerie Martin"}
    )
    assert r.body["email"] == email, r
    r = await admin.call(
        "PUT", f"{CARDS}/v1/associations/{aid}/merchants/{baker}", {"name": "x", "email": "nope"}
    )
    assert (r.status, r.body["reason"]) == (422, "malformed"), r
    for terminal in net.terminals:
        sale = await terminal.sale("0612345678", 2460, occurred_at=SELLING.isoformat())
        assert sale.status == 201, sale

    await calendar.move_to(CLOSING)
    r = await admin.call(
        "POST", f"{CLEARING}/v1/associations/{aid}/periods/2026-10/close", {"actor": "treasurer"}
    )
    assert r.status == 201, r

    [mail] = await mailbox.wait_for(email)
    assert mail["Subject"] == "Relevé Boulangerie Martin du 1 octobre 2026 au 31 octobre 2026"
    [xlsx] = [p for p in mail.iter_attachments()]
    assert xlsx.get_filename() == "releve-2026-10.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(xlsx.get_content()), read_only=True)
    assert len(book.sheetnames) >= 2

    async def settled() -> bool:
        found = await notices_of(http, aid)
        return {n["status"] for n in found.values()} == {"sent", "failed"}

    await eventually(settled, what="the baker's notice sent, the florist's failed")
    found = await notices_of(http, aid)
    assert found[str(baker)]["message_id"] and found[str(baker)]["reason"] is None
    florist_notice = found[str(florist)]
    assert (florist_notice["status"], florist_notice["message_id"]) == ("failed", None)
    assert florist_notice["reason"].startswith("the merchant has no e-mail address")
