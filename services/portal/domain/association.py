"""What the association back office's forms read and its pages write (pure): a month
(``YYYY-MM``), a rate typed as a percentage (``2,5`` → 250 basis points), a day; who an
actor the services recorded is, in words."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from uuid import UUID

_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
_PERCENT = re.compile(r"^[0-9]{1,3}([.,][0-9]{1,2})?$")
MAX_BPS = 10_000


def month(typed: str) -> str | None:
    """``2026-10`` (what a month field sends) as it is; None for anything else."""
    text = typed.strip()
    return text if _MONTH.match(text) else None


def month_written(period: str, language: str) -> str:
    """``2026-10`` as the person reads it: ``octobre 2026``, ``October 2026``."""
    found = _MONTH.match(period)
    if not found:
        return period
    year, number = int(found.group(1)), int(found.group(2))
    names = _FR_MONTHS if language == "fr" else _EN_MONTHS
    return f"{names[number - 1]} {year}"


_FR_MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def bps(typed: str) -> int | None:
    """A percentage as typed (``2,5``, ``2.5``, ``3``) in basis points (250); None for
    anything else or above 100 %. An empty field is the caller's (the network's rate)."""
    text = typed.strip().replace("%", "").replace("\u202f", "").replace(" ", "")
    if not _PERCENT.match(text):
        return None
    try:
        value = int((Decimal(text.replace(",", ".")) * 100).to_integral_exact())
    except InvalidOperation:
        return None
    return value if 0 <= value <= MAX_BPS else None


def percent(value: int | None, language: str) -> str:
    """Basis points as a percentage to type again: 250 → ``2,5`` (``2.5`` in English)."""
    if value is None:
        return ""
    text = f"{Decimal(value) / 100:.2f}"
    if "." in text:  # 2.50 → 2.5, 3.00 → 3; 10.00 → 10, not 1
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if language == "fr" else text


def day(typed: str) -> date | None:
    try:
        return date.fromisoformat(typed.strip())
    except ValueError:
        return None


def euros(amount_cents: int, language: str) -> str:
    """Cents as an amount to type again: 500 → ``5,00`` (``5.00`` in English)."""
    text = f"{Decimal(amount_cents) / 100:.2f}"
    return text.replace(".", ",") if language == "fr" else text


# Who closed a month or decided a held line, as the page says it (never an address).


@dataclass(frozen=True, slots=True)
class Known:
    """A person the portal knows: their name, role and association."""

    name: str
    role: str
    association_id: UUID | None


def person_of(actor: str | None) -> UUID | None:
    """The person an actor names (``person:<uuid>``), or None."""
    kind, _, rest = (actor or "").partition(":")
    if kind != "person":
        return None
    try:
        return UUID(rest)
    except ValueError:
        return None


def who(
    actor: str | None, me: str, association_id: UUID | None, people: Mapping[UUID, Known]
) -> tuple[str, str]:
    """The words key that says who an actor is, and the name it takes (``{name}``): oneself;
    a person of the association by name; the network's operator's person by name and role;
    a person gone or of elsewhere, a service, the operator's set-up token, an API token, a
    kiosk, a cardholder in words. Anything else is "an automatic process": an actor the
    services recorded is never shown as it is (it could carry an address)."""
    if not actor:
        return "actor.nobody", ""
    if actor == me:
        return "actor.you", ""
    kind, _, rest = actor.partition(":")
    if kind == "person":
        pid = person_of(actor)
        known = people.get(pid) if pid is not None else None
        if known is None:
            return "actor.former", ""
        if known.role == "operator":
            return "actor.operator_person", known.name
        if known.association_id == association_id:
            return "actor.person", known.name
        return "actor.outsider", ""
    if kind == "service" and _SERVICE.match(rest):
        return "actor.service", rest
    simple = {
        "operator": "actor.operator",
        "token": "actor.api_token",
        "kiosk": "actor.kiosk",
        "holder": "actor.holder",
    }
    return simple.get(kind, "actor.machine"), ""


_SERVICE = re.compile(r"^[a-z]{2,20}$")
