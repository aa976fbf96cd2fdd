"""The terminal's side of a sync session (docs/terminal-protocol.md).

``SyncClient(transport).run(journal)`` says HELLO, uploads the journal after the gateway's
last committed sequence in chunks, closes with counts and totals (re-sending the ranges the
gateway reports missing), then downloads parameters and blacklist changes and hands them to
the journal in one call, so the terminal applies them atomically. A connection lost at any
step opens a new session that resumes from what the gateway says it holds: nothing is lost
and nothing is doubled, because the gateway skips lines it already holds identically.

Transports: ``HttpTransport`` (signed requests, shared/signing.py) and ``LineTransport`` (a
raw TCP line with STX/ETX/LRC frames, ACK/NAK and MACs, shared/sync/framing.py). ``Link`` is
the half-duplex link layer both the line transport and the gateway's line server use.

One module per part: ``session`` (SyncClient, the journal it reads, its report),
``transport`` (what a transport is, its errors, the link's timings), ``http``, ``line`` and
``link``. Every name is re-exported here, so callers import from ``shared.sync.client``.
"""

from shared.sync.client.http import HttpTransport
from shared.sync.client.line import LineTransport
from shared.sync.client.link import Link, LinkError
from shared.sync.client.session import JournalSource, SyncClient, SyncReport
from shared.sync.client.transport import (
    ACK_TIMEOUT_S,
    GATEWAY_DOMAIN,
    INTERBYTE_TIMEOUT_S,
    LINK_RETRIES,
    REPLY_TIMEOUT_S,
    RESUMABLE,
    ZERO_MAC,
    SyncRefused,
    Transport,
    TransportError,
)

__all__ = [
    "ACK_TIMEOUT_S",
    "GATEWAY_DOMAIN",
    "INTERBYTE_TIMEOUT_S",
    "LINK_RETRIES",
    "REPLY_TIMEOUT_S",
    "RESUMABLE",
    "ZERO_MAC",
    "HttpTransport",
    "JournalSource",
    "LineTransport",
    "Link",
    "LinkError",
    "SyncClient",
    "SyncRefused",
    "SyncReport",
    "Transport",
    "TransportError",
]
