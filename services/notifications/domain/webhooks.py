"""Webhooks (issue 14, docs/webhooks.md): the event types a subscriber may choose and the
events they come from, what each delivery carries, how it is signed (Standard Webhooks,
https://www.standardwebhooks.com/) and where a subscriber's URL may point; when a failed
delivery is tried again is webhook_retries.py's. Pure: no clock read, no I/O.

A payload carries ids, amounts and times, never a person's name, address, phone or card number:
a subscriber learns *that* account 7f3e… bought for 24.60 €, not who (issue 14: "never a
customer's personal data without a consent scope that allows it"; none does yet)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from shared.contracts import (
    AccountOpened,
    ConsentChanged,
    LevelChanged,
    MonthlyStatementReady,
    SponsorshipRewardGranted,
    SponsorshipRewardReversed,
    TransactionsBooked,
)
from shared.events import TYPE_PREFIX

# THE table: each event type a subscriber may choose, and the routing key of the event it is
# made from. ``status.changed`` comes from cards' status levels (issue 14 item 2).
EVENT_TYPES: Mapping[str, str] = {
    "sale.booked": TransactionsBooked.routing_key(),
    "redemption.booked": TransactionsBooked.routing_key(),
    "customer.enrolled": AccountOpened.routing_key(),
    "consent.changed": ConsentChanged.routing_key(),
    "status.changed": LevelChanged.routing_key(),
    "statement.ready": MonthlyStatementReady.routing_key(),
    "sponsorship.rewarded": SponsorshipRewardGranted.routing_key(),
    "sponsorship.reward_reversed": SponsorshipRewardReversed.routing_key(),
}

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# A receiver refuses a timestamp further than this from its clock (replays of an old message).
TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Occurrence:
    """One thing a subscriber may hear of: ``key`` names it uniquely (the event's id, and the
    transaction's for a booked fact that carries many), so that a redelivered event makes no
    second delivery."""

    key: str
    type: str
    association_id: UUID
    merchant_id: UUID | None
    at: datetime
    data: dict[str, Any]


def _ids(**values: UUID | None) -> dict[str, str | None]:
    return {k: None if v is None else str(v) for k, v in values.items()}


def from_booked(event_id: str, fact: TransactionsBooked) -> list[Occurrence]:
    where = _ids(
        association_id=fact.association_id,
        merchant_id=fact.merchant_id,
        shop_id=fact.shop_id,
        terminal_id=fact.terminal_id,
    )
    return [
        Occurrence(
            f"{event_id}:{t.transaction_id}",
            f"{t.kind}.booked",
            fact.association_id,
            fact.merchant_id,
            t.occurred_at,
            {
                "transaction_id": str(t.transaction_id),
                "account_id": str(t.account_id),
                **where,
                "origin": fact.origin,
                "occurred_at": t.occurred_at.isoformat(),
                "amount_cents": t.amount_cents,
                "reward_cents": t.reward_cents,
                "purse": t.purse,
                "product_family": t.product_family,
            },
        )
        for t in fact.transactions
    ]


def from_opened(event_id: str, opened: AccountOpened) -> list[Occurrence]:
    # The phone, e-mail and names the event carries stay out.
    data = _ids(
        account_id=opened.account_id,
        association_id=opened.association_id,
        merchant_id=opened.merchant_id,
    )
    at = opened.opened_at
    return [
        Occurrence(
            event_id,
            "customer.enrolled",
            opened.association_id,
            opened.merchant_id,
            at,
            {**data, "opened_at": at.isoformat(), "how": opened.request_kind},
        )
    ]


def from_consent(event_id: str, c: ConsentChanged) -> list[Occurrence]:
    data = _ids(
        consent_id=c.consent_id,
        account_id=c.account_id,
        association_id=c.association_id,
        merchant_id=c.merchant_id,
    )
    extra = {"channel": c.channel, "status": c.status, "how": c.how}
    return [
        Occurrence(
            event_id,
            "consent.changed",
            c.association_id,
            c.merchant_id,
            c.changed_at,
            {**data, **extra, "changed_at": c.changed_at.isoformat()},
        )
    ]


def from_level(event_id: str, c: LevelChanged) -> list[Occurrence]:
    data = _ids(account_id=c.account_id, association_id=c.association_id, merchant_id=c.merchant_id)
    levels = {"level_code": c.level_code, "previous_level_code": c.previous_level_code}
    return [
        Occurrence(
            event_id,
            "status.changed",
            c.association_id,
            c.merchant_id,
            c.occurred_at,
            {**data, **levels, "occurred_at": c.occurred_at.isoformat()},
        )
    ]


def from_sponsorship(event_id: str, r: SponsorshipRewardGranted) -> list[Occurrence]:
    """A sponsorship reward granted (crm decides it, cards credits it under ``reward_id``): of
    the merchant whose programme funds it, none (the association's) otherwise."""
    data = _ids(
        reward_id=r.reward_id,
        account_id=r.account_id,
        newcomer_id=r.newcomer_id,
        sponsor_id=r.sponsor_id,
        association_id=r.association_id,
        merchant_id=r.merchant_id,
        sale_id=r.sale_id,
    )
    extra = {"role": r.role, "amount_cents": r.amount_cents, "trigger": r.trigger}
    return [
        Occurrence(
            event_id,
            "sponsorship.rewarded",
            r.association_id,
            r.merchant_id,
            r.occurred_at,
            {**data, **extra, "occurred_at": r.occurred_at.isoformat()},
        )
    ]


def from_sponsorship_reversal(event_id: str, r: SponsorshipRewardReversed) -> list[Occurrence]:
    """A sponsorship reward taken back, its qualifying sale cancelled or returned whole (crm
    decides it once per reward, under ``reversal_id``): of the merchant that funded it, as the
    reward's ``sponsorship.rewarded`` was."""
    data = _ids(
        reversal_id=r.reversal_id,
        reward_id=r.reward_id,
        account_id=r.account_id,
        newcomer_id=r.newcomer_id,
        association_id=r.association_id,
        merchant_id=r.merchant_id,
        sale_id=r.sale_id,
    )
    extra = {"role": r.role, "amount_cents": r.amount_cents}
    return [
        Occurrence(
            event_id,
            "sponsorship.reward_reversed",
            r.association_id,
            r.merchant_id,
            r.occurred_at,
            {**data, **extra, "occurred_at": r.occurred_at.isoformat()},
        )
    ]


def from_statement(event_id: str, s: MonthlyStatementReady, at: datetime) -> list[Occurrence]:
    """``at``: when clearing published it (the statement carries its period, not a time)."""
    data = _ids(
        statement_id=s.statement_id, association_id=s.association_id, merchant_id=s.merchant_id
    )
    figures = s.model_dump(
        include={
            "purchases_count",
            "purchases_cents",
            "cagnottages_cents",
            "fees_cents",
            "redemptions_count",
            "redemptions_cents",
            "net_cents",
            "xlsx_path",
            "csv_path",
        }
    )
    period = {"period_start": s.period_start.isoformat(), "period_end": s.period_end.isoformat()}
    return [
        Occurrence(
            event_id,
            "statement.ready",
            s.association_id,
            s.merchant_id,
            at,
            data | period | figures,
        )
    ]


def wanted(
    association_id: UUID, merchant_id: UUID | None, event_types: Iterable[str], o: Occurrence
) -> bool:
    """A merchant's subscription hears of its own shops' events; an association's, of all of
    its network's (a network-wide consent or level included)."""
    if o.type not in event_types or o.association_id != association_id:
        return False
    return merchant_id is None or merchant_id == o.merchant_id


def sources_of(event_types: Iterable[str]) -> frozenset[str]:
    """The CloudEvents types of the events ``event_types`` are made from."""
    return frozenset(TYPE_PREFIX + EVENT_TYPES[t] for t in event_types if t in EVENT_TYPES)


# Skipped only: the booked facts (the bulk) and the accounts opened (a quick enrolment at the
# till each), which clearing's and crm's queues dead-letter if malformed; any other event (a
# consent change: this queue's alone) is always parsed here.
SKIPPABLE = frozenset(TYPE_PREFIX + e.routing_key() for e in (TransactionsBooked, AccountOpened))

# A UUID as pydantic writes one (canonical, lower case): a cheaper test than parsing it, and
# one a network's id in another spelling fails, so its event is not skipped but parsed.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch


def unwanted(raw: Any, wanting: Mapping[str, frozenset[str]]) -> bool:
    """True for an event no live subscription can want, read from its envelope without
    validating it: ``wanting`` (each network's id, as ``str(UUID)`` writes it, and its live
    subscriptions' ``sources_of``, merchants' included) does not have its type for its network
    (every source's ``association_id``, as each ``from_…`` puts it in its occurrences).
    Anything unexpected (not an envelope, a type not ``SKIPPABLE``, an id or network that is
    not a canonical UUID) is not skipped: the full path judges it, dead-letters it if need be."""
    if not isinstance(raw, dict) or raw.get("specversion") != "1.0":
        return False
    type_, data, event_id = raw.get("type"), raw.get("data"), raw.get("id")
    if not isinstance(type_, str) or type_ not in SKIPPABLE or not isinstance(data, dict):
        return False
    network = data.get("association_id")
    if not isinstance(network, str) or not isinstance(event_id, str):
        return False
    if _UUID(network) is None or _UUID(event_id) is None:
        return False
    return type_ not in wanting.get(network, ())


def message_id(delivery_id: UUID) -> str:
    """The ``webhook-id``: the same for every attempt and replay of a delivery, so that a
    receiver drops a message it has already handled."""
    return f"msg_{delivery_id.hex}"


def new_secret(random: bytes) -> str:
    if len(random) < 24:
        raise ValueError("a webhook secret has at least 24 random bytes")
    return SECRET_PREFIX + base64.b64encode(random).decode()


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 of HMAC-SHA256("{id}.{timestamp}.{body}")>`` under the secret's bytes."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(msg_id: str, timestamp: int, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """The signed delivery's headers: one signature per active secret (two while a rotation's
    old secret still counts), space-separated; a receiver accepts any one it can verify."""
    if not secrets:
        raise ValueError("a delivery is signed with at least one secret")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets),
        "content-type": "application/json",
    }


def verify(secret: str, given: Mapping[str, str], body: bytes, now: datetime) -> bool:
    """What a receiver does (docs/webhooks.md), for the tests and as the reference."""
    try:
        msg_id, ts = given["webhook-id"], int(given["webhook-timestamp"])
        signatures = given["webhook-signature"].split(" ")
    except (KeyError, ValueError):
        return False
    if abs(now.timestamp() - ts) > TOLERANCE.total_seconds():
        return False
    expected = signature(secret, msg_id, ts, body)
    return any(hmac.compare_digest(expected, s) for s in signatures)


def succeeded(status: int | None) -> bool:
    """Standard Webhooks: any 2xx answer is a delivery; a redirect is not followed."""
    return status is not None and 200 <= status < 300


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")


def url_refusal(url: str, development: bool) -> str | None:
    """Why a subscriber's URL is refused (the problem's reason), or None. HTTPS only, to a
    public host: a literal private, loopback or link-local address (SSRF, a subscriber
    probing the network the service runs in) is refused here and a name resolved to one is
    refused when delivering (adapters/webhook_http.py). In development, plain HTTP to the
    machine itself is allowed (the tests' receiver)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        return "bad_url"
    if not host or parts.username or parts.password or parts.fragment:
        return "bad_url"
    loopback = host in LOOPBACK_NAMES
    if parts.scheme != "https" and not (parts.scheme == "http" and development and loopback):
        return "not_https"
    if development:
        return None
    if loopback or host.endswith((".localhost", ".local", ".internal")):
        return "private_address"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: its addresses are checked when delivering
    return None if address.is_global else "private_address"


def public_address(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False
