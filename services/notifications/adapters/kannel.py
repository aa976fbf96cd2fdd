"""SMS out through Kannel's smsbox (its ``sendsms`` HTTP interface), with the delivery report
asked back on notifications' own route (``dlr-url``, carrying our message id).

smsbox answers ``0: Accepted for delivery`` (202) or ``3: Queued for later delivery`` (202: the
operator link is down, Kannel keeps it); a 4xx (bad number, bad credentials) is permanent, a
5xx or no answer temporary. Kannel gives no id of its own at this point: the operator's id comes
with the delivery report (``%F``)."""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

import aiohttp

from services.notifications.domain.messages import Answer, accepted, refused
from shared.settings import Settings

# Kannel's delivery report types (%d): 1 delivered, 2 undelivered, 4 buffered, 8 accepted by
# the operator, 16 rejected by it. Asked: all of them.
DLR_MASK = 31


def dlr_url(settings: Settings, message_id: UUID) -> str:
    query = urlencode({"token": settings.sms_callback_token, "message_id": str(message_id)})
    # %d and %F are Kannel's, filled in when it calls back: kept out of the encoding.
    return f"{settings.notifications_url}/v1/sms/reports?{query}&type=%d&smsc_id=%F"


class Kannel:
    def __init__(self, settings: Settings, http: aiohttp.ClientSession) -> None:
        self.s = settings
        self.http = http

    async def send(self, message_id: UUID, to: str, text: str, ucs2: bool) -> Answer:
        params = {
            "username": self.s.sms_username,
            "password": self.s.sms_password,
            "from": self.s.sms_sender,
            "to": to,
            "text": text,
            "charset": "UTF-8",
            # 0: the GSM 7-bit alphabet, 2: UCS-2 (what the segment count assumed).
            "coding": "2" if ucs2 else "0",
            "dlr-mask": str(DLR_MASK),
            "dlr-url": dlr_url(self.s, message_id),
        }
        try:
            async with self.http.get(self.s.sms_sendsms_url, params=params) as r:
                body = (await r.text()).strip()
                status = r.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return refused(f"kannel {type(exc).__name__}: {exc}", temporary=True)
        if status in (200, 202) and body[:2] in ("0:", "3:"):
            return accepted(f"kannel:{message_id}")
        return refused(f"kannel {status} {body[:200]}", temporary=status >= 500)
