"""The SMTP sink of `make run` and of Compose (aiosmtpd): every message it accepts is kept as
``<n>.eml`` in a directory, for ``python -m deploy.messaging list`` to show. Run through
``python -m deploy.messaging smtp-sink``."""

from __future__ import annotations

import signal
from email import message_from_bytes, policy
from pathlib import Path


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


def run_smtp_sink(directory: Path, port: int, host: str = "127.0.0.1") -> None:
    from aiosmtpd.controller import Controller

    # Blocked before the server's thread starts, so that only sigwait sees them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    controller = Controller(MaildirSink(directory), hostname=host, port=port)
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
