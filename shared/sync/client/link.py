"""The half-duplex link layer over a byte stream (STX/ETX/LRC frames, ACK/NAK,
shared/sync/framing.py), used by the terminal's line transport and the gateway's line server."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from shared.sync import framing
from shared.sync.client.transport import (
    ACK_TIMEOUT_S,
    INTERBYTE_TIMEOUT_S,
    LINK_RETRIES,
    TransportError,
)


class LinkError(TransportError):
    pass


class Link:
    """Half-duplex link over a byte stream: frames acknowledged one at a time, a frame
    re-sent after a NAK or ACK_TIMEOUT_S of silence, LINK_RETRIES times."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        interbyte_timeout_s: float = INTERBYTE_TIMEOUT_S,
        retries: int = LINK_RETRIES,
        max_payload: int = framing.MAX_PAYLOAD,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.ack_timeout_s = ack_timeout_s
        self.interbyte_timeout_s = interbyte_timeout_s
        self.retries = retries
        self.decoder = framing.Decoder(max_payload)
        self.events: deque[framing.Event] = deque()
        self.naks_sent = 0
        # Called with the reason of each damaged frame this side NAKs: the gateway counts
        # malformed frames and hangs up on a client that sends only those (issue 11).
        self.on_bad: Callable[[str], None] | None = None

    async def next_event(self, timeout: float) -> framing.Event | None:
        """The next event within ``timeout`` seconds (None: silence); ConnectionError at EOF."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.events:
            left = deadline - loop.time()
            if left <= 0:
                return None
            wait = min(left, self.interbyte_timeout_s) if self.decoder.in_frame else left
            try:
                data = await asyncio.wait_for(self.reader.read(65536), wait)
            except TimeoutError:
                if self.decoder.in_frame:
                    bad = self.decoder.reset()  # a frame stopped half way
                    if bad is not None:
                        self.events.append(bad)
                continue
            if not data:
                raise ConnectionError("the line was closed")
            self.events.extend(self.decoder.feed(data))
        return self.events.popleft()

    def control(self, byte: int) -> None:
        if byte == framing.NAK:
            self.naks_sent += 1
        self.writer.write(bytes((byte,)))

    def _bad(self, bad: framing.Bad) -> None:
        self.control(framing.NAK)
        if self.on_bad is not None:
            self.on_bad(bad.reason)

    async def send(self, payload: bytes) -> None:
        """Send a frame and wait for its ACK. A frame arriving meanwhile means the peer got
        ours and moved on (its ACK was lost): it is kept for ``receive``."""
        frame = framing.encode(payload)
        for _ in range(self.retries + 1):
            self.writer.write(frame)
            await self.writer.drain()
            while True:
                ev = await self.next_event(self.ack_timeout_s)
                if ev is None:
                    break  # silence: send again
                if isinstance(ev, framing.Control):
                    if ev.byte == framing.ACK:
                        return
                    if ev.byte == framing.NAK:
                        break
                    raise ConnectionError("the peer ended the session (EOT)")
                if isinstance(ev, framing.Frame):
                    self.events.appendleft(ev)
                    return
                self._bad(ev)
        raise LinkError(f"no ACK after {self.retries + 1} sendings")

    async def receive(self, timeout: float) -> bytes | None:
        """The next intact frame (ACKed at once), NAKing damaged ones; None on silence."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ev = await self.next_event(max(0.0, deadline - loop.time()))
            if ev is None:
                return None
            if isinstance(ev, framing.Frame):
                self.control(framing.ACK)
                return ev.payload
            if isinstance(ev, framing.Bad):
                self._bad(ev)
            elif ev.byte == framing.EOT:
                raise ConnectionError("the peer ended the session (EOT)")
            # a stray ACK or NAK outside a wait: nothing to do

    async def close(self, eot: bool = True) -> None:
        with contextlib.suppress(Exception):
            if eot:
                self.writer.write(bytes((framing.EOT,)))
                await self.writer.drain()
        with contextlib.suppress(Exception):
            self.writer.close()
            await self.writer.wait_closed()
