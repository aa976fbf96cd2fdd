"""The back office's pure rules (issue 15, item 3, MANAGER): a campaign's form read into what
crm takes (its text in the template's variables, its segment's filters), each mistake named
by its field so that the page says which field and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.portal.domain.desk import cents

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
)


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
    if errors:
        raise FormRefused(errors)
    variables = {"body": body} | ({"offer": offer} if offer else {})
    return Campaign(name, channel, template, variables, filters)
