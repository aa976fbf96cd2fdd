"""What a sync transport is (``Transport``), how it fails (``TransportError``,
``SyncRefused``) and the link's timings, shared by the session and both transports."""

from __future__ import annotations

from typing import Any, Protocol

from shared.sync import framing

# Link timings (seconds): the wait for an ACK, the gap allowed inside a frame, the wait for
# the answer to a request (a chunk's commit included), and the retries after NAK or silence.
ACK_TIMEOUT_S = 3.0
INTERBYTE_TIMEOUT_S = 5.0
REPLY_TIMEOUT_S = 30.0
LINK_RETRIES = 3
GATEWAY_DOMAIN = ":gw"  # the gateway's frames are MAC'd over challenge + ":gw"
ZERO_MAC = "0" * framing.MAC_HEX  # frames the gateway cannot authenticate (greeting, early errors)


class TransportError(Exception):
    """The line or the network failed: the session is lost, a new one resumes."""


class SyncRefused(Exception):
    """The gateway refused a message (``code``: shared.sync.messages.ERRORS)."""

    def __init__(self, code: str, detail: str, status: int = 0, **extra: Any) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.status = status
        self.extra = extra


# Refusals a new session cures (the gateway said where to resume, or was busy).
RESUMABLE = frozenset(
    {"busy", "session_expired", "unknown_session", "out_of_order", "replay", "protocol"}
)


class Transport(Protocol):
    terminal_id: str

    async def call(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send one message (``hello``, ``chunk``, ``close``, ``updates``), return the reply
        body; raise SyncRefused or TransportError."""
        ...

    async def reset(self) -> None:
        """Forget the connection after a failure; the next ``hello`` opens a new one."""
        ...

    async def aclose(self) -> None: ...
