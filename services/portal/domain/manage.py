"""The back office's pure rules (issue 15, item 3, MANAGER): a campaign's form read into what
crm takes (its text in the template's variables, its segment's filters), each mistake named
by its field so that the page says which field and why."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from services.portal.domain.desk import cents
from shared.clock import PARIS

CHANNELS = ("email", "sms")
TEMPLATES = ("quick_news", "newsletter")
MAX_NAME, MAX_BODY, MAX_OFFER, MAX_SMS = 100, 2000, 200, 300
MAX_DAYS = 3650
# The form's fields, in the page's order (a page given back keeps what was typed).
FIELDS = (
    "form_id",
    "name",
    "channel",
    "template",
    "body",
    "offer",
    "seen_within_days",
    "not_seen_for_days",
    "min_spent",
    "min_visits",
    "family",
    "when",
    "send_date",
    "send_time",
    "monthly_day",
)
# How far ahead a campaign can be scheduled (crm's own bound).
MAX_AHEAD = timedelta(days=366)


class FormRefused(Exception):
    """The form's mistakes: field → the sentence's key (the words module's)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Campaign:
    name: str
    channel: str
    template: str
    variables: dict[str, str]
    filters: dict[str, Any] = field(default_factory=dict)
    monthly_day: int | None = None  # a newsletter sent each month on this day; None: once
    send_at: datetime | None = None  # a one-off campaign scheduled for this instant (aware)

    def segment(self, merchant_id: str) -> dict[str, Any]:
        """crm's inline segment: the merchant's customers the filters keep, on the channel."""
        return {"merchant_id": merchant_id, "channel": self.channel, **self.filters}


def _days(value: str, errors: dict[str, str], name: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        errors[name] = "A number of days, from 1 to 3650."
        return None
    return int(text)


def campaign(fields: dict[str, str], families: set[str], now: datetime) -> Campaign:
    """The campaign the form asks (FormRefused naming each wrong field otherwise)."""
    errors: dict[str, str] = {}
    name = " ".join(fields.get("name", "").split())
    if not 1 <= len(name) <= MAX_NAME:
        errors["name"] = "Give the campaign a name (100 characters at most)."
    channel = fields.get("channel", "")
    if channel not in CHANNELS:
        errors["channel"] = "Choose e-mail or SMS."
    template = fields.get("template", "quick_news")
    if template not in TEMPLATES:
        errors["template"] = "Choose quick news or the newsletter."
    body, offer = fields.get("body", "").strip(), fields.get("offer", "").strip()
    longest = MAX_SMS if channel == "sms" else MAX_BODY
    if not body:
        errors["body"] = "Write the message."
    elif len(body) > longest:
        errors["body"] = "The message is too long for this channel."
    if len(offer) > MAX_OFFER:
        errors["offer"] = "The offer is too long (200 characters at most)."
    filters: dict[str, Any] = {}
    seen = _days(fields.get("seen_within_days", ""), errors, "seen_within_days")
    if seen is not None:
        filters["seen_since"] = (now - timedelta(days=seen)).isoformat()
    gone = _days(fields.get("not_seen_for_days", ""), errors, "not_seen_for_days")
    if gone is not None:
        filters["not_seen_since"] = (now - timedelta(days=gone)).isoformat()
    if seen is not None and gone is not None:
        errors["not_seen_for_days"] = "Seen lately and not seen lately cannot both hold."
    spent = fields.get("min_spent", "").strip()
    if spent:
        amount = cents(spent)
        if amount is None:
            errors["min_spent"] = "The amount is not a price: for example 12,50."
        else:
            filters["min_spent_cents"] = amount
    visits = fields.get("min_visits", "").strip()
    if visits:
        if not visits.isdigit() or int(visits) > 10**6:
            errors["min_visits"] = "A number of visits, such as 3."
        else:
            filters["min_visits"] = int(visits)
    family = fields.get("family", "")
    if family:
        if family not in families:
            errors["family"] = "Choose one of your product families."
        else:
            filters["product_families"] = [family]
    monthly_day = None
    if fields.get("when") == "monthly":
        day = fields.get("monthly_day", "").strip()
        if not day.isdigit() or not 1 <= int(day) <= 28:
            errors["monthly_day"] = "A day of the month, from 1 to 28."
        else:
            monthly_day = int(day)
    send_at: datetime | None = None
    if fields.get("when") == "later":
        chosen = paris_instant(fields.get("send_date", ""), fields.get("send_time", ""), now)
        if isinstance(chosen, str):
            errors["send_date"] = chosen
        else:
            send_at = chosen
    if errors:
        raise FormRefused(errors)
    variables = {"body": body} | ({"offer": offer} if offer else {})
    return Campaign(name, channel, template, variables, filters, monthly_day, send_at)


def paris_instant(day: str, at: str, now: datetime) -> datetime | str:
    """A day (``2026-12-24``) and a time (``18:30``) typed in Paris time, as an instant to
    come within ``MAX_AHEAD``; otherwise the sentence that says why not."""
    try:
        d = date.fromisoformat(day.strip())
        t = time.fromisoformat(at.strip())
    except ValueError:
        return "A day and a time, such as 2026-12-24 and 18:30."
    if t.second or t.microsecond or t.tzinfo is not None:
        return "A day and a time, such as 2026-12-24 and 18:30."
    instant = datetime.combine(d, t, PARIS)
    if instant <= now:
        return "Choose a time to come."
    if instant > now + MAX_AHEAD:
        return "Choose a time within a year."
    return instant


# --- product families, promotions -----------------------------------------------------------

_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def bps(typed: str) -> int | None:
    """A rate typed in percent (``3``, ``2,5``, ``2.75``) as basis points; None otherwise."""
    text = typed.strip().replace("%", "").replace(" ", "").replace(",", ".")
    if not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,2})?", text):
        return None
    value = int((Decimal(text) * 100).to_integral_exact())
    return value if 0 <= value <= 10_000 else None


def percent(value: int | None) -> str:
    """Basis points as a percentage to read (``3,5 %``); an empty string for none."""
    if value is None:
        return ""
    text = f"{Decimal(value) / 100:f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "\u202f%"


@dataclass(frozen=True, slots=True)
class Family:
    code: str
    body: dict[str, Any]


def family(fields: dict[str, str]) -> Family:
    """A product family of the catalogue: its code, label, own rate (optional), flags."""
    errors: dict[str, str] = {}
    code = fields.get("code", "").strip()
    if not _CODE.match(code):
        errors["code"] = "A code of letters, digits, dots, dashes (64 at most)."
    label = " ".join(fields.get("label", "").split())
    if not 1 <= len(label) <= 100:
        errors["label"] = "Give the family a label."
    body: dict[str, Any] = {"label": label}
    rate = fields.get("rate", "").strip()
    if rate:
        value = bps(rate)
        if value is None:
            errors["rate"] = "A rate in percent, such as 3 or 2,5."
        body["taux_client_bps"] = value
    for flag in ("tobacco", "gambling", "book"):
        body[flag] = fields.get(flag) == "on"
    if errors:
        raise FormRefused(errors)
    return Family(code, body)


def _day(typed: str) -> date | None:
    try:
        return date.fromisoformat(typed.strip())
    except ValueError:
        return None


def promotion(fields: dict[str, str], families: set[str], merchant_id: str) -> dict[str, Any]:
    """A promotion of the merchant's: a rate or a multiplier, on a family or all, from a day
    to a day (both included; Paris time)."""
    errors: dict[str, str] = {}
    name = " ".join(fields.get("name", "").split())
    if not 1 <= len(name) <= 100:
        errors["name"] = "Give the promotion a name."
    start, end = _day(fields.get("starts", "")), _day(fields.get("ends", ""))
    if start is None:
        errors["starts"] = "A day, such as 2026-12-24."
    if end is None:
        errors["ends"] = "A day, such as 2026-12-24."
    elif start is not None and end < start:
        errors["ends"] = "The last day comes on or after the first."
    body: dict[str, Any] = {"name": name, "merchant_id": merchant_id}
    kind = fields.get("kind", "rate")
    if kind == "rate":
        rate = bps(fields.get("rate", ""))
        if rate is None:
            errors["rate"] = "A rate in percent, such as 3 or 2,5."
        body["taux_client_bps"] = rate
    else:
        times = fields.get("times", "").strip()
        if not times.isdigit() or not 1 <= int(times) <= 100:
            errors["times"] = "A multiplier from 1 to 100, such as 2."
        else:
            body["multiplier"] = {"numerator": int(times), "denominator": 1}
    chosen = fields.get("family", "")
    if chosen:
        if chosen not in families:
            errors["family"] = "Choose one of your product families."
        body["families"] = [chosen]
    if errors:
        raise FormRefused(errors)
    assert start is not None and end is not None
    body["starts_at"] = datetime.combine(start, time(), PARIS).isoformat()
    body["ends_at"] = datetime.combine(end + timedelta(days=1), time(), PARIS).isoformat()
    return body


# --- the customer file, statements -----------------------------------------------------------

MAX_NOTE, MAX_NOTES = 500, 4000


def with_note(notes: str | None, day: date, text: str) -> str:
    """The file's notes with one more line, dated (the same line twice: once). FormRefused
    when the note is empty or the notes would be too long."""
    text = " ".join(text.split())
    if not 1 <= len(text) <= MAX_NOTE:
        raise FormRefused({"note": "Write the note (500 characters at most)."})
    line = f"{day.isoformat()} — {text}"
    lines = (notes or "").splitlines()
    if lines and lines[-1] == line:
        return notes or ""
    joined = "\n".join([*lines, line])
    if len(joined) > MAX_NOTES:
        raise FormRefused({"note": "The file's notes are full (4000 characters)."})
    return joined


def months(today: date, n: int = 12) -> list[str]:
    """The last ``n`` periods (``YYYY-MM``), this month first."""
    y, m, found = today.year, today.month, []
    for _ in range(n):
        found.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return found


def period(value: str) -> str | None:
    return value if re.fullmatch(r"20[0-9]{2}-(0[1-9]|1[0-2])", value) else None


def paris_parts(iso: str | None) -> tuple[str, str]:
    """An instant of a service's answer as the day and time a form shows in Paris time
    (``2026-12-24``, ``18:30``); empty for none."""
    if not iso:
        return "", ""
    at = datetime.fromisoformat(iso).astimezone(PARIS)
    return at.date().isoformat(), at.strftime("%H:%M")


def when(iso: str | None, language: str) -> str:
    """An instant of a service's answer as a person in Paris reads it (``07/12/2026 13:53``;
    in English ``2026-12-07 13:53``); a dash for none."""
    if not iso:
        return "—"
    at = datetime.fromisoformat(iso).astimezone(PARIS)
    return at.strftime("%d/%m/%Y %H:%M" if language == "fr" else "%Y-%m-%d %H:%M")
