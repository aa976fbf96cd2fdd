"""Helpers of issue 14's tests (sponsorship, status levels, statistics), shared by their
integration tests and the end-to-end growth scenario: a customer enrolled at the till with a
referral code, the sponsorship API, the rewards in cards; a status level's terms, the offline
terminal program with a chip card, the rate a sale was booked at; the statistics API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from shared.card.application import CardApplication, SamApplication
from shared.card.state import personalize
from shared.client import TerminalClient
from shared.clock import PARIS
from terminal.adapters.journal import Journal
from terminal.app import Desk
from terminal.reader import DirectReader
from terminal.terminal import Terminal
from tests import harness
from tests.conftest import Network, eventually
from tests.people import call, file_of, new_email, new_phone

CRM = harness.url("crm")
CARDS = harness.url("cards")
GRACE_DAYS = 10


# --- sponsorship ------------------------------------------------------------------------------


async def enrol_at_till(net: Network, code: str | None = None, till: int = 0) -> tuple[str, str]:
    """(account, phone) of a customer enrolled at the till, with a referral code or none."""
    phone = new_phone()
    extra = {"referral_code": code} if code else {}
    r = await net.terminals[till].enrol(phone, email=new_email(), **extra)
    assert r.status == 201, r
    return r.body["account_id"], phone


async def sponsorship(http: aiohttp.ClientSession, account: str) -> dict[str, Any]:
    await file_of(http, account)
    status, body = await call(http, "GET", f"{CRM}/v1/customers/{account}/sponsorship")
    assert status == 200, body
    return body  # type: ignore[no-any-return]


async def entries_of(http: aiohttp.ClientSession, account: str, kind: str) -> list[dict[str, Any]]:
    status, body = await call(http, "GET", f"{CARDS}/v1/accounts/{account}")
    assert status == 200, body
    return [e for e in body["entries"] if e["kind"] == kind]


async def rewarded(http: aiohttp.ClientSession, account: str, n: int = 1) -> list[dict[str, Any]]:
    """The account's sponsorship entries in cards, once there are ``n``."""

    async def there() -> bool:
        return len(await entries_of(http, account, "sponsorship")) >= n

    await eventually(there, what=f"{n} sponsorship reward(s) of {account}")
    return await entries_of(http, account, "sponsorship")


async def amounts(http: aiohttp.ClientSession, account: str, n: int) -> list[int]:
    """The account's sponsorship entries' amounts (credits and reversals), once there are
    ``n``, oldest first (cards lists the newest first)."""
    return [e["amount_cents"] for e in reversed(await rewarded(http, account, n))]


async def linked(http: aiohttp.ClientSession, newcomer: str) -> None:
    """Once crm has linked the newcomer to its sponsor."""

    async def there() -> bool:
        return (await sponsorship(http, newcomer))["sponsor"] is not None

    await eventually(there, what=f"{newcomer} linked")


async def programme(http: aiohttp.ClientSession, path: str, **terms: Any) -> dict[str, Any]:
    status, body = await call(http, "PUT", f"{CRM}{path}/sponsorship-programme", terms)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


# --- status levels ---------------------------------------------------------------------------


async def booked_rate(db: asyncpg.Connection, reference: uuid.UUID) -> tuple[int, str] | None:
    """The rate and its source of a sale, as clearing booked it for the statements."""
    row = await db.fetchrow(
        """SELECT rate_bps, rate_source FROM clearing.journal_entries
           WHERE kind = 'accrual' AND reference_id = $1""",
        reference,
    )
    return None if row is None else (row["rate_bps"], row["rate_source"])


async def rate_when_booked(db: asyncpg.Connection, reference: uuid.UUID) -> tuple[int, str]:
    async def booked() -> bool:
        return await booked_rate(db, reference) is not None

    await eventually(booked, what=f"the booking of {reference}")
    found = await booked_rate(db, reference)
    assert found is not None
    return found


def level_terms(net: Network, **terms: Any) -> dict[str, Any]:
    return {
        "association_id": str(net.association_id),
        "code": "privilege",
        "name": "Privilège",
        "rank": 1,
        "min_spent_cents": 50_000,
        "min_visits": 12,
        "window_months": 12,
        "taux_client_bps": 600,
        "grace_days": GRACE_DAYS,
    } | terms


def offline_desk(directory: Path, net: Network, card: dict[str, Any]) -> Desk:
    """The terminal program of the network's first till, the customer's chip card inserted
    (the card and SAM applications in process: the APDUs pcscd would carry)."""
    t = net.terminals[0]
    journal = Journal(directory / "terminal.db")
    journal.set(terminal_id=t.terminal_id, secret=t.secret, gateway=harness.url("terminals"))
    expires = card["expires_on"]
    state = personalize(
        card["number"],
        uuid.UUID(card["card_type_id"]),
        date.fromisoformat(expires) if expires else date(2099, 12, 31),
    )
    reader = DirectReader(CardApplication(state), SamApplication())
    return Desk(Terminal(journal, reader), "fr")


async def synced_until(desk: Desk, what: str, done: Any) -> None:
    async def check() -> bool:
        ok, _ = await desk.sync_once("ip")
        return bool(ok and done(desk.journal.get("params") or {}))

    await eventually(check, 30, what)


# --- statistics ------------------------------------------------------------------------------


async def anonymous(till: TerminalClient, cents: int, when: str) -> None:
    r = await till.anonymous_sale(cents, occurred_at=when)
    assert (r.status, r.body["status"], r.body["amount_cents"]) == (201, "recorded", cents), r


async def stats(http: aiohttp.ClientSession, **query: str) -> dict[str, Any]:
    status, body = await call(http, "GET", f"{CRM}/v1/statistics?{qs(query)}")
    assert status == 200, body
    return body  # type: ignore[no-any-return]


# The statistics' money and count figures, compared whole with those computed by hand.
MONEY = (
    "revenue_cents",
    "member_revenue_cents",
    "anonymous_revenue_cents",
    "member_share_bps",
    "sales",
    "visits",
    "anonymous_sales",
    "average_basket_cents",
    "returns",
    "returned_cents",
    "rewards_granted_cents",
    "redemptions",
    "rewards_spent_cents",
)


def at(day: str, hm: str) -> str:
    return datetime.fromisoformat(f"{day}T{hm}:00").replace(tzinfo=PARIS).isoformat()


def qs(query: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in query.items())
