"""What crm's use cases share: the source of its events, its signed links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from services.crm.domain import tokens
from shared.events import Event, EventData, new_event
from shared.http import Problem
from shared.settings import Settings

SOURCE = "crm"
PROBLEMS = "https://comptoir.dev/problems/"

DETAILS_LINK_LIFETIME = timedelta(days=30)
# An unsubscribe link works long after its message was sent (an old e-mail in an inbox).
UNSUBSCRIBE_LINK_LIFETIME = timedelta(days=400)


def event(data: EventData, subject: str) -> Event[Any]:
    return new_event(SOURCE, data, subject=subject)


@dataclass(frozen=True, slots=True)
class Links:
    """The signed links of the public routes, as people reach them."""

    key: bytes
    base: str

    @classmethod
    def of(cls, settings: Settings) -> Links:
        return cls(bytes.fromhex(settings.link_key), settings.public_url.rstrip("/"))

    def token(self, purpose: tokens.Purpose, subject: UUID, expires: datetime) -> str:
        return tokens.sign(self.key, purpose, subject, expires)

    def details(self, account_id: UUID, now: datetime) -> str:
        t = self.token("details", account_id, now + DETAILS_LINK_LIFETIME)
        return f"{self.base}/v1/public/details/{t}"

    def consent(self, consent_id: UUID, expires: datetime) -> str:
        return f"{self.base}/v1/public/consents/{self.token('consent', consent_id, expires)}"

    def unsubscribe(self, consent_id: UUID, now: datetime) -> str:
        t = self.token("unsubscribe", consent_id, now + UNSUBSCRIBE_LINK_LIFETIME)
        return f"{self.base}/v1/public/unsubscribe/{t}"

    def verify(self, token: str, purpose: tokens.Purpose, now: datetime) -> UUID:
        """The token's subject, or the problem: 404 for a bad link, 410 for an expired one."""
        try:
            return tokens.verify(self.key, token, purpose, now)
        except tokens.InvalidToken as exc:
            if exc.reason == "expired_token":
                raise Problem(410, "Link expired", "ask for a new link", reason=exc.reason) from exc
            raise Problem(404, "Unknown link", "this link is not valid", reason=exc.reason) from exc
