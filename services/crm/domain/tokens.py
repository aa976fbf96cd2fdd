"""The signed links of crm's public routes, pure (the key and the time are given): a
purpose, a subject (an account or a consent), an expiry, and an HMAC-SHA256 over them. A link
made for one purpose cannot serve another; a link past its expiry is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

Purpose = Literal["details", "consent", "unsubscribe"]


class InvalidToken(ValueError):
    """``reason``: ``bad_token`` (forged, truncated, another purpose) or ``expired_token``."""

    def __init__(self, reason: Literal["bad_token", "expired_token"]) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:20]


def sign(key: bytes, purpose: Purpose, subject: UUID, expires: datetime) -> str:
    payload = f"{purpose}.{subject}.{int(expires.timestamp())}".encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def verify(key: bytes, token: str, purpose: Purpose, now: datetime) -> UUID:
    """The subject of a valid ``token`` made for ``purpose``; InvalidToken otherwise."""
    try:
        head, mac = token.split(".")
        payload = _unb64(head)
        if not hmac.compare_digest(_mac(key, payload), _unb64(mac)):
            raise InvalidToken("bad_token")
        made_for, subject, expires = payload.decode().split(".")
        if made_for != purpose:
            raise InvalidToken("bad_token")
        if datetime.fromtimestamp(int(expires), UTC) <= now:
            raise InvalidToken("expired_token")
        return UUID(subject)
    except InvalidToken:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("bad_token") from exc
