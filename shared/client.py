"""HTTP clients for Comptoir: a signing terminal client and a back-office client.

Used by the demo seed, the CLI, the tests and the benchmarks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from shared import signing


@dataclass
class Reply:
    status: int
    body: Any


class TerminalClient:
    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, terminal_id: str, secret: str
    ) -> None:
        self.session = session
        self.base = base_url.rstrip("/")
        self.terminal_id = terminal_id
        self.secret = secret

    async def request(
        self, method: str, path: str, payload: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        body = b"" if payload is None else orjson.dumps(payload)
        h = signing.headers(self.terminal_id, self.secret, method, path, body)
        h["Content-Type"] = "application/json"
        h.update(headers or {})
        async with self.session.request(method, self.base + path, data=body, headers=h) as r:
            raw = await r.read()
            return Reply(r.status, orjson.loads(raw) if raw else None)

    async def sale(
        self,
        phone: str | None,
        amount_cents: int,
        product_family: str | None = None,
        sale_id: str | None = None,
        *,
        card_number: str | None = None,
        email: str | None = None,
        **extra: Any,
    ) -> Reply:
        """A sale for a phone or, with ``email``, an e-mail address (a cardless account) or,
        with ``card_number``, a card."""
        payload: dict[str, Any] = {
            "sale_id": sale_id or str(uuid.uuid4()),
            "customer": _customer(phone, card_number, email),
            "amount_cents": amount_cents,
            **extra,
        }
        if product_family:
            payload["product_family"] = product_family
        return await self.request("POST", "/v1/sales", payload)

    async def redeem(
        self,
        phone: str | None,
        amount_cents: int,
        redemption_id: str | None = None,
        *,
        card_number: str | None = None,
        purse: str = "cagnotte",
        email: str | None = None,
        **extra: Any,
    ) -> Reply:
        """Pay with the cagnotte, or with ``purse="stored_value"`` the money on a gift card."""
        return await self.request(
            "POST",
            "/v1/redemptions",
            {
                "redemption_id": redemption_id or str(uuid.uuid4()),
                "customer": _customer(phone, card_number, email),
                "amount_cents": amount_cents,
                "purse": purse,
                **extra,
            },
        )

    async def return_sale(
        self,
        sale_id: str,
        amount_cents: int,
        reason: str = "returned",
        return_id: str | None = None,
        **extra: Any,
    ) -> Reply:
        """A return of ``amount_cents`` of a sale, or its cancellation (``reason="cancelled"``)."""
        return await self.request(
            "POST",
            "/v1/returns",
            {
                "return_id": return_id or str(uuid.uuid4()),
                "sale_id": sale_id,
                "amount_cents": amount_cents,
                "reason": reason,
                **extra,
            },
        )

    async def anonymous_sale(
        self,
        amount_cents: int,
        product_family: str | None = None,
        sale_id: str | None = None,
        **extra: Any,
    ) -> Reply:
        """A sale without a member, for the statistics (it earns nothing)."""
        payload: dict[str, Any] = {
            "sale_id": sale_id or str(uuid.uuid4()),
            "amount_cents": amount_cents,
            **extra,
        }
        if product_family:
            payload["product_family"] = product_family
        return await self.request("POST", "/v1/anonymous-sales", payload)

    async def enrol(self, phone: str | None = None, **details: Any) -> Reply:
        """A quick enrolment by ``phone``, ``email=`` or both (``enrolment_id=`` to choose it)."""
        body: dict[str, Any] = {"enrolment_id": str(uuid.uuid4())}
        if phone is not None:
            body["phone"] = phone
        return await self.request("POST", "/v1/enrolments", {**body, **details})


def _customer(
    phone: str | None, card_number: str | None, email: str | None = None
) -> dict[str, str]:
    if card_number:
        return {"card_number": card_number}
    return {"email": email} if email else {"phone": phone or ""}


class AdminClient:
    def __init__(self, session: aiohttp.ClientSession, token: str) -> None:
        self.session = session
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, url: str, payload: Any = None) -> Reply:
        data = None if payload is None else orjson.dumps(payload)
        async with self.session.request(
            method, url, data=data, headers={**self.headers, "Content-Type": "application/json"}
        ) as r:
            raw = await r.read()
            return Reply(r.status, orjson.loads(raw) if raw else None)
