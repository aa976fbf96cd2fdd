"""E-mail out through an SMTP server: the MIME message (text and HTML parts, attachments,
``Message-ID``, the RFC 8058 unsubscribe headers), its DKIM signature, and a pool of open
connections (a connection per message would cost a TCP and TLS handshake each), opened by
aiosmtplib and pipelined (RFC 2920) when the server allows it.

A provider's answer becomes an ``Answer`` (domain/messages.py): 2xx accepted with the server's
reply as the provider's id, 4xx and lost connections temporary, 5xx permanent."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections import deque
from contextlib import suppress
from email.header import Header
from email.utils import format_datetime
from typing import NamedTuple, cast
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


# The message as DATA carries it (RFC 5321 4.5.2): CRLF line ends, a leading dot doubled.
_LINE_ENDS = re.compile(rb"(?:\r\n|\n|\r(?!\n))")
_LEADING_DOT = re.compile(rb"(?m)^\.")
# A reply longer than this without its end is not an SMTP server's (aiosmtplib's own bound).
_MAX_REPLY = 32 * 1024


class Lost(ConnectionError):
    """The connection broke, or the server answered something that is not SMTP."""


class Connection(asyncio.Protocol):
    """An SMTP session opened by aiosmtplib (TLS, authentication, EHLO), whose transactions
    we then write ourselves: aiosmtplib reads one reply per command written, while PIPELINING
    (RFC 2920, which Postfix and the sink announce) sends MAIL, RCPT and DATA in one write and
    reads their three replies in order, two round trips a message instead of four. A server
    that does not announce it gets one command at a time."""

    def __init__(self, transport: asyncio.Transport, pipelining: bool, timeout: float) -> None:
        self.transport = transport
        self.pipelining = pipelining
        self.timeout = timeout
        self.buffer = bytearray()
        self.lines: list[bytes] = []
        self.replies: deque[tuple[int, str]] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.lost: Lost | None = None
        transport.set_protocol(self)

    @property
    def is_connected(self) -> bool:
        return self.lost is None and not self.transport.is_closing()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\n")) >= 0:
            line = bytes(self.buffer[: end + 1])
            del self.buffer[: end + 1]
            self.lines.append(line)
            if line[3:4] == b"-":  # a line of a multi-line reply, more to come
                continue
            try:
                code = int(line[:3])
            except ValueError:
                self._lose(Lost(f"not an SMTP reply: {line[:80]!r}"))
                return
            text = "\n".join(x[4:].strip(b" \t\r\n").decode("utf-8", "replace") for x in self.lines)
            self.replies.append((code, text))
            self.lines = []
        if len(self.buffer) > _MAX_REPLY:
            self._lose(Lost("an SMTP reply without its end"))
        elif self.replies:
            self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = self.lost or Lost(f"the SMTP server closed the connection: {exc!r}")
        self._wake()

    def _lose(self, why: Lost) -> None:
        self.lost = why
        self.transport.close()
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def reply(self) -> tuple[int, str]:
        """The next reply, in the order the commands went."""
        while not self.replies:
            if self.lost is not None:
                raise self.lost
            self.waiter = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(self.waiter, self.timeout)
        return self.replies.popleft()

    async def send(self, sender: bytes, to: bytes, raw: bytes) -> Answer:
        """One message: its provider's answer (the first refusal, or the reply to its data).
        A broken connection or a reply too late raises (the pool drops the connection)."""
        commands = [b"MAIL FROM:<" + sender + b">\r\n", b"RCPT TO:<" + to + b">\r\n", b"DATA\r\n"]
        replies = []
        if self.pipelining:
            self.transport.write(b"".join(commands))
            replies = [await self.reply() for _ in commands]
        else:
            for command, ok in zip(commands, _ACCEPTED, strict=True):
                self.transport.write(command)
                replies.append(await self.reply())
                if replies[-1][0] not in ok:
                    break
        refusal = next(
            (r for r, ok in zip(replies, _ACCEPTED, strict=False) if r[0] not in ok), None
        )
        if refusal is not None:
            await self._reset(started=len(replies) == 3 and replies[2][0] == 354)
            return smtp_answer(*refusal)
        body = _LEADING_DOT.sub(b"..", _LINE_ENDS.sub(b"\r\n", raw))
        self.transport.write(body + (b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"))
        code, text = await self.reply()
        if code == 421:  # the server is closing the connection
            self.transport.close()
        return smtp_answer(code, text)

    async def _reset(self, started: bool) -> None:
        """After a refusal: the transaction dropped (RSET), the connection kept for the next
        message; its data ended first when a pipelined DATA was accepted all the same."""
        try:
            if started:
                self.transport.write(b".\r\n")
                await self.reply()
            self.transport.write(b"RSET\r\n")
            code, _ = await self.reply()
            if code != 250:
                self.transport.close()
        except (Lost, TimeoutError):
            self.transport.close()

    async def quit(self) -> None:
        with suppress(Lost, TimeoutError, RuntimeError):
            self.transport.write(b"QUIT\r\n")
            await asyncio.wait_for(self.reply(), 1.0)
        self.transport.close()


# What MAIL, RCPT and DATA answer when they accept.
_ACCEPTED: tuple[tuple[int, ...], ...] = ((250,), (250, 251), (354,))


class SmtpPool:
    """At most ``size`` open connections, each used for one message at a time and kept open
    between messages; a connection that failed is dropped and a new one opened next time."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.idle: asyncio.LifoQueue[Connection] = asyncio.LifoQueue()
        self.slots = asyncio.Semaphore(settings.smtp_pool_size)

    async def _connect(self) -> Connection:
        smtp = aiosmtplib.SMTP(
            hostname=self.s.smtp_host,
            port=self.s.smtp_port,
            timeout=self.s.smtp_timeout_s,
            start_tls=self.s.smtp_starttls,
        )
        await smtp.connect()
        if self.s.smtp_username:
            await smtp.login(self.s.smtp_username, self.s.smtp_password)
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
        transport = cast(asyncio.Transport, smtp.transport)
        return Connection(transport, smtp.supports_extension("pipelining"), self.s.smtp_timeout_s)

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
                answer = await smtp.send(sender.encode(), to.encode(), raw)
            except aiosmtplib.SMTPResponseException as exc:  # refused while connecting
                return smtp_answer(exc.code, exc.message)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                if smtp is not None:
                    smtp.transport.close()
                return refused(f"smtp {type(exc).__name__}: {exc}", temporary=True)
            if smtp.is_connected:
                self.idle.put_nowait(smtp)
            return answer

    async def close(self) -> None:
        while not self.idle.empty():
            await self.idle.get_nowait().quit()
