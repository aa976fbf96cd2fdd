"""Signed terminal requests: HMAC-SHA256 with the terminal's secret over the method, the path,
a timestamp, a single-use nonce and the SHA-256 of the body (docs in README, "Terminal API").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from shared import clock

TERMINAL = "X-Comptoir-Terminal"
TIMESTAMP = "X-Comptoir-Timestamp"
NONCE = "X-Comptoir-Nonce"
SIGNATURE = "X-Comptoir-Signature"


def canonical(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join(
        [method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()]
    ).encode()


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(
        secret.encode(), canonical(method, path, timestamp, nonce, body), hashlib.sha256
    ).hexdigest()


def headers(terminal_id: str, secret: str, method: str, path: str, body: bytes) -> dict[str, str]:
    """The headers a terminal sends with a request."""
    ts = str(int(clock.now().timestamp()))  # the gateway checks it on the same clock
    nonce = secrets.token_hex(16)
    return {
        TERMINAL: terminal_id,
        TIMESTAMP: ts,
        NONCE: nonce,
        SIGNATURE: sign(secret, method, path, ts, nonce, body),
    }


def verify(
    secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes, signature: str
) -> bool:
    return hmac.compare_digest(sign(secret, method, path, timestamp, nonce, body), signature)
