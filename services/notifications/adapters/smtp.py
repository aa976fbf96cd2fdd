"""E-mail out through an SMTP server: the MIME message (text and HTML parts, attachments,
``Message-ID``, the RFC 8058 unsubscribe headers), its DKIM signature, and a pool of open
aiosmtplib connections (a connection per message would cost a TCP and TLS handshake each).

A provider's answer becomes an ``Answer`` (domain/messages.py): 2xx accepted with the server's
reply as the provider's id, 4xx and lost connections temporary, 5xx permanent."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from contextlib import suppress
from email.header import Header
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


class Attached(NamedTuple):
    filename: str
    content_type: str
    data: bytes


class BadHeader(ValueError):
    """An address or subject that would break the message's headers (a line break)."""


def message_id(message_id: UUID, domain: str) -> str:
    """Known before sending and the same at every attempt: a resent message is recognisable."""
    return f"<{message_id}@{domain}>"


def _header(value: str) -> str:
    """A header's value: as is when ASCII, else an RFC 2047 encoded word (UTF-8)."""
    if "\r" in value or "\n" in value:
        raise BadHeader(f"a line break in a header: {value[:80]!r}")
    if value.isascii():
        return value
    return Header(value, "utf-8", maxlinelen=998).encode()


def _qp(text: str) -> bytes:
    body = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
    return binascii.b2a_qp(body, istext=False).replace(b"=0D=0A", b"\r\n")


def _b64(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def build(
    settings: Settings,
    mid: UUID,
    to: str,
    subject: str,
    text: str,
    html: str,
    unsubscribe_url: str | None,
    attachments: list[Attached],
) -> bytes:
    """The message as it goes on the wire (CRLF), written directly: the standard library's
    EmailMessage took 1.6 ms a message, most of a campaign's time (docs/benchmarks.md). The
    text and HTML parts are quoted-printable UTF-8, attachments base64; the boundaries carry
    ``=_``, which neither encoding produces."""
    domain = settings.dkim_domain or settings.mail_from.rsplit("@", 1)[-1].strip(">").strip()
    headers = [
        ("From", _header(settings.mail_from)),
        ("To", _header(to)),
        ("Subject", _header(subject)),
        ("Date", format_datetime(clock.now())),
        ("Message-ID", message_id(mid, domain)),
        ("MIME-Version", "1.0"),
    ]
    if unsubscribe_url:
        # RFC 8058: a one-click POST to this URL unsubscribes, without a page to fill in.
        headers.append(("List-Unsubscribe", f"<{_header(unsubscribe_url)}>"))
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    alt = f"=_alt_{mid.hex}"
    alternative = b"".join(
        [
            f"--{alt}\r\nContent-Type: text/plain; charset=utf-8\r\n".encode(),
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            _qp(text),
            f"\r\n--{alt}\r\nContent-Type: text/html; charset=utf-8\r\n".encode(),
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            _qp(html),
            f"\r\n--{alt}--\r\n".encode(),
        ]
    )
    if not attachments:
        headers.append(("Content-Type", f'multipart/alternative; boundary="{alt}"'))
        body = alternative
    else:
        mixed = f"=_mixed_{mid.hex}"
        headers.append(("Content-Type", f'multipart/mixed; boundary="{mixed}"'))
        parts = [
            f'--{mixed}\r\nContent-Type: multipart/alternative; boundary="{alt}"\r\n\r\n'.encode(),
            alternative,
        ]
        for a in attachments:
            name = _header(a.filename).replace('"', "")
            parts += [
                f"\r\n--{mixed}\r\nContent-Type: {_header(a.content_type)}\r\n".encode(),
                b"Content-Transfer-Encoding: base64\r\n",
                f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'.encode(),
                _b64(a.data),
            ]
        parts.append(f"\r\n--{mixed}--\r\n".encode())
        body = b"".join(parts)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers).encode()
    return head + b"\r\n" + body


def sign(settings: Settings, raw: bytes) -> bytes:
    """The message, with a DKIM-Signature header first when a key is configured."""
    if not (settings.dkim_private_key and settings.dkim_domain and settings.dkim_selector):
        return raw
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    present = [h for h in SIGNED_HEADERS if b"\r\n" + h.lower() + b":" in b"\r\n" + head]
    signature = dkim.sign(
        raw,
        settings.dkim_selector.encode(),
        settings.dkim_domain.encode(),
        settings.dkim_private_key.encode(),
        include_headers=present,
    )
    return bytes(signature) + raw


# An envelope address as we write it between < and >: the request's was checked by crm; this
# only keeps a space, a bracket or a line break out of the SMTP commands.
ENVELOPE = re.compile(r"^[^\s<>@]+@[^\s<>@]+$")


async def _transaction(smtp: aiosmtplib.SMTP, sender: bytes, to: bytes, raw: bytes) -> Answer:
    """MAIL, RCPT, DATA on an open connection. Written with the protocol's commands rather
    than aiosmtplib's sendmail, which parses both addresses with email.utils at every message
    (a quarter of the sender's time in a campaign, docs/benchmarks.md)."""
    if smtp.is_ehlo_or_helo_needed:
        await smtp.ehlo()
    for command, argument, accepted in (
        (b"MAIL", b"FROM:<" + sender + b">", (250,)),
        (b"RCPT", b"TO:<" + to + b">", (250, 251)),
    ):
        reply = await smtp.execute_command(command, argument)
        if reply.code not in accepted:
            with suppress(aiosmtplib.SMTPException):
                await smtp.execute_command(b"RSET")
            return smtp_answer(reply.code, reply.message)
    reply = await smtp.data(raw)  # SMTPDataError on a refusal
    return smtp_answer(reply.code, reply.message)


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
        if not ENVELOPE.match(to) or not ENVELOPE.match(sender):
            return refused(f"not an address for the envelope: {to[:80]!r}", temporary=False)
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
                answer = await _transaction(smtp, sender.encode(), to.encode(), raw)
            except aiosmtplib.SMTPResponseException as exc:
                self._keep(smtp)
                return smtp_answer(exc.code, exc.message)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self._drop(smtp)
                return refused(f"smtp {type(exc).__name__}: {exc}", temporary=True)
            self._keep(smtp)
            return answer

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
