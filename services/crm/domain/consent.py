"""Consent (F21), pure: which marketing message may reach whom, and the double opt-in's code.

A consent is per person, channel (email, sms, post) and scope (the network: ``merchant_id``
None; or one merchant). It is asked (pending), confirmed (the link clicked, the code typed,
or a signature on paper for the post), withdrawn (one click, STOP, a bounce, the API). A
marketing message needs a confirmed consent of its exact channel and scope, given for the
address it goes to: a consent confirmed for an old e-mail address does not follow a new one."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

ConsentChannel = Literal["email", "sms", "post"]
Status = Literal["pending", "confirmed", "withdrawn"]

CODE_LIFETIME = timedelta(minutes=30)
MAX_CODE_ATTEMPTS = 5
LINK_LIFETIME = timedelta(days=7)

# The wording a person agrees to, kept with the proof (the version is the text itself).
WORDING = {
    "email": "J'accepte de recevoir par e-mail les offres et actualités de {scope}.",
    "sms": "J'accepte de recevoir par SMS les offres et actualités de {scope}.",
    "post": "J'accepte de recevoir par courrier les offres et actualités de {scope}.",
}


@dataclass(frozen=True, slots=True)
class Consent:
    id: UUID
    channel: ConsentChannel
    merchant_id: UUID | None
    status: Status
    address: str | None


def may_send(
    consents: Iterable[Consent],
    channel: ConsentChannel,
    merchant_id: UUID | None,
    address: str | None,
) -> Consent | None:
    """The consent a marketing message on ``channel`` from ``merchant_id`` (None: the
    network) to ``address`` relies on, or None: it may not be sent. The one place this is
    decided; every marketing message crm requests goes through it."""
    if address is None:
        return None
    for c in consents:
        if (
            c.channel == channel
            and c.merchant_id == merchant_id
            and c.status == "confirmed"
            and (channel == "post" or c.address == address)
        ):
            return c
    return None


def wording(channel: ConsentChannel, scope_label: str) -> str:
    return WORDING[channel].format(scope=scope_label)


def code_digest(consent_id: UUID, code: str) -> bytes:
    """The SMS code as kept: hashed with its consent, so a row read does not give it."""
    return hashlib.sha256(consent_id.bytes + code.encode()).digest()


class CodeRefused(ValueError):
    """``reason``: ``wrong_code``, ``expired_code``, ``too_many_attempts``, ``not_pending``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_code(
    consent_id: UUID,
    status: Status,
    digest: bytes | None,
    expires_at: datetime | None,
    attempts: int,
    code: str,
    now: datetime,
) -> None:
    """Whether ``code`` confirms the consent; CodeRefused says why not."""
    if status != "pending" or digest is None or expires_at is None:
        raise CodeRefused("not_pending")
    if attempts >= MAX_CODE_ATTEMPTS:
        raise CodeRefused("too_many_attempts")
    if now >= expires_at:
        raise CodeRefused("expired_code")
    if code_digest(consent_id, code) != digest:
        raise CodeRefused("wrong_code")
