"""Segments and campaigns (F24), pure: the filters of a segment of a network's or a
merchant's customers (saved under a name, or given inline), what makes a filter invalid, the
filters as the JSON a campaign records them in; and the id of each campaign message
(derived, so sending again asks for the same messages, which notifications sends once)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from services.crm.domain.people import CHANNEL_FIELDS
from services.crm.domain.triggers import NAMESPACE

CHANNELS = ("email", "sms", "post")


@dataclass(frozen=True, slots=True)
class Filters:
    """What a customer must be to be in a segment; every filter given must hold (None or empty:
    no filter). At a merchant the last visit, the spend, the visits and the families bought
    are the customer's at that merchant; in the network, the customer's in all its shops.

    ``seen_since``: a visit on or after; ``not_seen_since``: no visit on or after (or never);
    spend and visits bounds inclusive; ``product_families``: bought one of them (a sale not
    cancelled); ``birth_months``: born in one of these months (1-12; the customer's own birth
    date, not a spouse's or a child's); ``consent_channel``: consented (confirmed) to that
    channel in the segment's scope, for the file's current address; ``level_codes``: holds one
    of these status levels now, the scope's own (the association's levels in the network, the
    merchant's at a merchant: ``customer_levels``, as cards reviews them)."""

    seen_since: datetime | None = None
    not_seen_since: datetime | None = None
    min_spent_cents: int | None = None
    max_spent_cents: int | None = None
    min_visits: int | None = None
    max_visits: int | None = None
    product_families: tuple[str, ...] = ()
    birth_months: tuple[int, ...] = ()
    consent_channel: str | None = None
    level_codes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The filters given, as JSON values (what a campaign records, what a segment stores)."""
        out: dict[str, Any] = {}
        for name in _INSTANTS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat()
        for name in _SCALARS:
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.product_families:
            out["product_families"] = list(self.product_families)
        if self.birth_months:
            out["birth_months"] = list(self.birth_months)
        if self.level_codes:
            out["level_codes"] = list(self.level_codes)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Filters:
        """The filters recorded by ``as_json`` (or by a campaign made before saved segments,
        whose filters were the same keys, fewer of them)."""
        given: dict[str, Any] = {
            n: datetime.fromisoformat(data[n]) for n in _INSTANTS if data.get(n)
        }
        given.update({n: data[n] for n in _SCALARS if data.get(n) is not None})
        return cls(
            **given,
            product_families=tuple(data.get("product_families") or ()),
            birth_months=tuple(data.get("birth_months") or ()),
            level_codes=tuple(data.get("level_codes") or ()),
        )


_INSTANTS = ("seen_since", "not_seen_since")
_NUMBERS = ("min_spent_cents", "max_spent_cents", "min_visits", "max_visits")
_SCALARS = (*_NUMBERS, "consent_channel")


def problems(f: Filters) -> list[str]:
    """Why the filters cannot select anyone or are not filters at all (empty: they are valid).
    A segment that is empty today is valid; one that is empty by its own terms is a mistake."""
    out = []
    for name in _NUMBERS:
        value = getattr(f, name)
        if value is not None and value < 0:
            out.append(f"{name} is negative")
    lo, hi = f.min_spent_cents, f.max_spent_cents
    if lo is not None and hi is not None and lo > hi:
        out.append("min_spent_cents is above max_spent_cents")
    if f.min_visits is not None and f.max_visits is not None and f.min_visits > f.max_visits:
        out.append("min_visits is above max_visits")
    seen, unseen = f.seen_since, f.not_seen_since
    if seen is not None and unseen is not None and unseen <= seen:
        out.append("not_seen_since is not after seen_since: no visit can be in between")
    if f.max_visits == 0 and (f.seen_since is not None or f.product_families):
        out.append("max_visits 0 with a visit or a family bought required")
    if any(not 1 <= m <= 12 for m in f.birth_months):
        out.append("a birth month is 1 to 12")
    if len(set(f.birth_months)) != len(f.birth_months):
        out.append("a birth month is given twice")
    if len(set(f.product_families)) != len(f.product_families):
        out.append("a product family is given twice")
    if len(set(f.level_codes)) != len(f.level_codes):
        out.append("a status level is given twice")
    if f.consent_channel is not None and f.consent_channel not in CHANNELS:
        out.append(f"consent_channel is one of {', '.join(CHANNELS)}")
    return out


@dataclass(frozen=True, slots=True)
class Segment:
    """An association's customers (``merchant_id`` None) or a merchant's file, filtered."""

    association_id: UUID
    merchant_id: UUID | None
    filters: Filters = Filters()


# What an export shows of a customer's contact details, by channel (domain/people.py).
CONTACT = tuple(name for names in CHANNEL_FIELDS.values() for name in names)


def exported(
    row: dict[str, Any],
    at_merchant: bool,
    joined_how: str | None,
    consented_there: set[str],
    channel: str | None,
) -> dict[str, Any]:
    """A customer's export line as its scope may see it. At a merchant, a member added from
    another shop's file shows only the contact details of the channels they consented to for
    this merchant (as ``people.merchant_view``); an export for a channel (a marketing export,
    of consenting customers only) shows only that channel's contact details, whatever else the
    file holds (data minimisation: a mailing list of e-mails needs no postal address)."""
    hidden: set[str] = set()
    if at_merchant and joined_how == "import":
        hidden |= {
            n for ch, names in CHANNEL_FIELDS.items() if ch not in consented_there for n in names
        }
    if channel is not None:
        hidden |= {n for ch, names in CHANNEL_FIELDS.items() if ch != channel for n in names}
    return {k: None if k in hidden else v for k, v in row.items()}


def campaign_job(campaign_id: UUID) -> str:
    return f"campaign:{campaign_id}"


def campaign_message_id(campaign_id: UUID, account_id: UUID, day: date) -> UUID:
    """The one message a campaign asks for a person on its day of sending."""
    return uuid.uuid5(NAMESPACE, f"campaign/{campaign_id}/{account_id}/{day.isoformat()}")


def sends_on(monthly_day: int | None, day: date) -> bool:
    """A monthly newsletter goes on its day of each month; a one-off campaign goes when sent."""
    return monthly_day is None or day.day == monthly_day
