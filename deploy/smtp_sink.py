"""The SMTP sink of `make run` and of Compose (aiosmtpd): every message it accepts is kept as
``<n>.eml`` in a directory, for ``python -m deploy.messaging list`` to show. Run through
``python -m deploy.messaging smtp-sink``."""

from __future__ import annotations

import asyncio
import re
import signal
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any


class Pipelining:
    """An aiosmtpd handler's EHLO that announces PIPELINING (RFC 2920), as Postfix does: aiosmtpd
    reads the commands from its stream one after the other and answers each in turn, so a
    client may send MAIL, RCPT and DATA together."""

    async def handle_EHLO(
        self, server: object, session: object, envelope: object, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname  # type: ignore[attr-defined]  # the hook's duty
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


class MaildirSink(Pipelining):
    """An aiosmtpd handler that keeps each message as ``<n>.eml`` in a directory."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.count = len(list(self.dir.glob("*.eml")))

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.count += 1
        data: bytes = envelope.original_content or b""  # type: ignore[attr-defined]
        path = self.dir / f"{self.count:08d}.eml"
        path.with_suffix(".tmp").write_bytes(data)
        path.with_suffix(".tmp").replace(path)
        return f"250 2.0.0 Ok: queued as {path.stem}"


def sink_controller(handler: object, host: str, port: int) -> Any:
    """An aiosmtpd Controller whose server reads DATA in one piece: aiosmtpd reads it a line at
    a time (some eighty awaits for a 3 KB e-mail, half of the sink's CPU in a campaign of
    100,000, docs/benchmarks.md), so the sink measured itself more than the sender."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import MISSING, SMTP, syntax

    class WholeData(SMTP):
        @syntax("DATA")
        async def smtp_DATA(self, arg: str) -> None:
            if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
                return
            assert self.envelope is not None
            if not self.envelope.rcpt_tos:
                await self.push("503 Error: need RCPT command")
                return
            if arg:
                await self.push("501 Syntax: DATA")
                return
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            data = bytearray()
            while True:  # up to a line of a lone dot (a line ending with a dot goes on)
                try:
                    data += await self._reader.readuntil(b".\r\n")
                except asyncio.LimitOverrunError as exc:  # longer than a line: read on
                    data += await self._reader.readexactly(exc.consumed)
                    continue
                if len(data) == 3 or data[-5:-3] == b"\r\n":
                    break
            if self.data_size_limit and len(data) > self.data_size_limit:
                self._set_post_data_state()  # type: ignore[no-untyped-call]
                await self.push("552 Error: Too much mail data")
                return
            # a leading dot was doubled by the client (RFC 5321 4.5.2)
            self.envelope.original_content = self.envelope.content = _UNSTUFF.sub(
                b"", bytes(data[:-3])
            )
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push("250 OK" if status is MISSING else status)

    class Sink(Controller):
        def factory(self) -> SMTP:
            return WholeData(self.handler, **self.SMTP_kwargs)

    return Sink(handler, hostname=host, port=port)


_UNSTUFF = re.compile(rb"(?m)^\.")


def run_smtp_sink(directory: Path, port: int, host: str = "127.0.0.1") -> None:
    # Blocked before the server's thread starts, so that only sigwait sees them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    controller = sink_controller(MaildirSink(directory), host, port)
    controller.start()
    try:
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
    finally:
        controller.stop()


def mail_received(directory: Path) -> list[tuple[Path, str, str, str]]:
    """(file, from, to, subject) of each message the sink kept, oldest first."""
    out = []
    for path in sorted(directory.glob("*.eml")):
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        out.append((path, str(msg["From"]), str(msg["To"]), str(msg["Subject"])))
    return out
