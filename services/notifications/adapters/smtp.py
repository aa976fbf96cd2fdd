"""E-mail out through an SMTP server: the MIME message (text and HTML parts, attachments,
``Message-ID``, the RFC 8058 unsubscribe headers), its DKIM signature, and a pool of open
aiosmtplib connections (a connection per message would cost a TCP and TLS handshake each).

A provider's answer becomes an ``Answer`` (domain/messages.py): 2xx accepted with the server's
reply as the provider's id, 4xx and lost connections temporary, 5xx permanent."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import NamedTuple
from uuid import UUID

import aiosmtplib
import dkim

from services.notifications.domain.messages import Answer, refused, smtp_answer
from shared import clock
from shared.settings import Settings

SIGNED_HEADERS = [
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
]


# CRLF line ends, and headers not folded before 998 characters: a long unsubscribe URL stays
# on its line, as mail clients look for it.
WIRE = policy.SMTP.clone(max_line_length=998)


class Attached(NamedTuple):
    filename: str
    content_type: str
    data: bytes


def message_id(message_id: UUID, domain: str) -> str:
    """Known before sending and the same at every attempt: a resent message is recognisable."""
    return f"<{message_id}@{domain}>"


def build(
    settings: Settings,
    mid: UUID,
    to: str,
    subject: str,
    text: str,
    html: str,
    unsubscribe_url: str | None,
    attachments: list[Attached],
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(clock.now())
    domain = settings.dkim_domain or settings.mail_from.rsplit("@", 1)[-1].strip(">").strip()
    msg["Message-ID"] = message_id(mid, domain)
    if unsubscribe_url:
        # RFC 8058: a one-click POST to this URL unsubscribes, without a page to fill in.
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    for a in attachments:
        maintype, _, subtype = a.content_type.partition("/")
        msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
    return msg


def sign(settings: Settings, msg: EmailMessage) -> bytes:
    """The message's bytes, with a DKIM-Signature header first when a key is configured."""
    raw = msg.as_bytes(policy=WIRE)
    if not (settings.dkim_private_key and settings.dkim_domain and settings.dkim_selector):
        return raw
    present = [h for h in SIGNED_HEADERS if h.decode() in msg]
    signature = dkim.sign(
        raw,
        settings.dkim_selector.encode(),
        settings.dkim_domain.encode(),
        settings.dkim_private_key.encode(),
        include_headers=present,
    )
    return bytes(signature) + raw


class SmtpPool:
    """At most ``size`` open connections, each used for one message at a time and kept open
    between messages; a connection that failed is dropped and a new one opened next time."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self.slots = asyncio.Semaphore(settings.smtp_pool_size)

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = aiosmtplib.SMTP(
            hostname=self.s.smtp_host,
            port=self.s.smtp_port,
            timeout=self.s.smtp_timeout_s,
            start_tls=self.s.smtp_starttls,
        )
        await smtp.connect()
        if self.s.smtp_username:
            await smtp.login(self.s.smtp_username, self.s.smtp_password)
        return smtp

    async def send(self, sender: str, to: str, raw: bytes) -> Answer:
        async with self.slots:
            smtp = None
            while not self.idle.empty():
                candidate = self.idle.get_nowait()
                if candidate.is_connected:
                    smtp = candidate
                    break
            try:
                if smtp is None:
                    smtp = await self._connect()
                errors, reply = await smtp.sendmail(sender, [to], raw)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                self._keep(smtp)
                first = exc.recipients[0]
                return smtp_answer(first.code, first.message)
            except aiosmtplib.SMTPResponseException as exc:
                self._keep(smtp)
                return smtp_answer(exc.code, exc.message)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self._drop(smtp)
                return refused(f"smtp {type(exc).__name__}: {exc}", temporary=True)
            self._keep(smtp)
            if errors:
                code, text = next(iter(errors.values()))
                return smtp_answer(code, text)
            return smtp_answer(250, reply)

    def _keep(self, smtp: aiosmtplib.SMTP | None) -> None:
        if smtp is not None and smtp.is_connected:
            self.idle.put_nowait(smtp)

    async def _drop(self, smtp: aiosmtplib.SMTP | None) -> None:
        if smtp is not None:
            with suppress(Exception):
                smtp.close()

    async def close(self) -> None:
        while not self.idle.empty():
            smtp = self.idle.get_nowait()
            with suppress(Exception):
                await smtp.quit()
