"""The messaging servers the project starts are real: an SMTP conversation with the sink of
`make run`, and an SMS through Kannel's sendsms to its fake operator, with its delivery report
and a customer's answer coming back over HTTP."""

from __future__ import annotations

import asyncio
import smtplib
import urllib.parse
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import aiohttp
from aiohttp import web

from deploy.messaging import (
    SENDSMS_PASSWORD,
    SENDSMS_USER,
    Kannel,
    Ports,
    send_mo,
    sms_received,
)
from deploy.smtp_sink import mail_received
from tests import harness


async def test_the_sink_of_make_run_keeps_each_message_it_accepts(tmp_path: Path) -> None:
    from deploy.smtp_sink import MaildirSink, sink_controller

    port = harness.BASE_PORT + 40
    controller = sink_controller(MaildirSink(tmp_path), "127.0.0.1", port)
    controller.start()
    try:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", "Relevé"
        msg.set_content("été\n.\nune phrase qui finit par un point.\n..deux points\n" * 40)
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(msg)
    finally:
        controller.stop()
    [(path, sender, to, subject)] = mail_received(tmp_path)
    assert (sender, to, subject) == ("a@example.org", "b@example.org", "Relevé")
    kept = message_from_bytes(path.read_bytes(), policy=policy.default)
    # read whole, the dots as written (the lines end in CRLF on the wire and in the file)
    assert kept.get_content().replace("\r\n", "\n") == msg.get_content()


async def test_kannel_sends_to_its_fake_operator_and_calls_back(tmp_path: Path) -> None:
    calls: list[dict[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        calls.append({"path": request.path, **request.query})
        return web.Response(text="")

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    callback_port = harness.BASE_PORT + 41
    await web.TCPSite(runner, "127.0.0.1", callback_port).start()
    ports = Ports.from_base(harness.BASE_PORT + 42)
    kannel = Kannel(tmp_path, ports, f"http://127.0.0.1:{callback_port}/mo?token=t")
    await asyncio.to_thread(kannel.start)
    try:
        dlr = f"http://127.0.0.1:{callback_port}/dlr?id=m1&status=%d"
        query = {
            "username": SENDSMS_USER,
            "password": SENDSMS_PASSWORD,
            "from": "Comptoir",
            "to": "+33612345678",
            "text": "Votre code : 1234 €",
            "charset": "UTF-8",
            "coding": "2",
            "dlr-mask": "3",
            "dlr-url": dlr,
        }
        async with aiohttp.ClientSession() as http:
            for _ in range(100):  # smsbox answers once bearerbox has the fake operator online
                async with http.get(ports.sendsms_url(), params=query) as r:
                    body = await r.text()
                if body.startswith("0:"):
                    break
                await asyncio.sleep(0.1)
        assert body.startswith("0: Accepted"), body
        send_mo(tmp_path, "+33698765432", "STOP")
        for _ in range(100):
            if {c["path"] for c in calls} == {"/dlr", "/mo"} and sms_received(kannel.smsc_log):
                break
            await asyncio.sleep(0.1)
    finally:
        await asyncio.to_thread(kannel.stop)
        await runner.cleanup()
    [sms] = sms_received(kannel.smsc_log)
    assert (sms.to, sms.text) == ("+33612345678", "Votre code : 1234 €")
    assert {"path": "/dlr", "id": "m1", "status": "1"} in calls
    [mo] = [c for c in calls if c["path"] == "/mo"]
    assert (mo["from"], mo["text"], mo["token"]) == ("+33698765432", "STOP", "t")
    assert urllib.parse.quote(mo["to"]) == "38000"
