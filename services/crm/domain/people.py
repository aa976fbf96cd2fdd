"""The customer file (F20), pure: its fields, the ones still "à remplir", what a change
changed, how an erased file is named. No I/O: the use cases read and write, these decide."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, Literal
from uuid import UUID

from shared.rules.email import normalise as normalise_email

Language = Literal["fr", "en"]

# The merchant guide (seed 003): "Civilité / Nom / Prénom / adresse mail, téléphone mobile
# (l'un ou l'autre est obligatoire) / code postal". What is missing is shown "à remplir".
TO_FILL = ("title", "last_name", "first_name", "mobile_or_email", "postal_code")

# The details the other services keep a copy of (cards: names on the card records; clearing:
# names on the statements' detail lines; both: the identifiers): the change events carry them.
SHARED = ("title", "first_name", "last_name", "phone", "email")


@dataclass(frozen=True, slots=True)
class Details:
    """What the file holds of a person. ``phone`` is the mobile (E.164), where SMS go."""

    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address: str | None = None
    postal_code: str | None = None
    town: str | None = None
    phone: str | None = None
    landline: str | None = None
    email: str | None = None
    birth_date: date | None = None
    spouse_birthday: date | None = None
    children_birthdays: tuple[date, ...] = ()
    language: Language = "fr"
    notes: str | None = None

    def updated(self, changes: dict[str, Any]) -> Details:
        """These details with ``changes`` applied (a None clears a field)."""
        if "children_birthdays" in changes:
            changes = {**changes, "children_birthdays": tuple(changes["children_birthdays"] or ())}
        if changes.get("language", "fr") is None:
            changes = {**changes, "language": "fr"}
        return replace(self, **changes)


FIELDS = tuple(f.name for f in fields(Details))


def to_fill(d: Details) -> list[str]:
    """The mandatory fields still missing, in the order the guide lists them."""
    missing = {
        "title": d.title is None,
        "last_name": d.last_name is None,
        "first_name": d.first_name is None,
        "mobile_or_email": d.phone is None and d.email is None,
        "postal_code": d.postal_code is None,
    }
    return [name for name in TO_FILL if missing[name]]


def changed(before: Details, after: Details) -> list[str]:
    return [name for name in FIELDS if getattr(before, name) != getattr(after, name)]


def details_shared(d: Details) -> dict[str, Any]:
    """What the other services keep of the details (the fields of the change event)."""
    return {name: getattr(d, name) for name in SHARED}


def email(value: str) -> str:
    """An e-mail address by its syntax, lower-cased (``shared.rules.email``: the same rule as
    the till's and cards'); ValueError when it is not one."""
    return normalise_email(value)


def pseudonym(account_id: UUID) -> str:
    """The name an erased file keeps: stable per account (the ledgers' lines of one account
    still read as one person's), and telling nothing of the person."""
    return "anonyme-" + hashlib.sha256(b"comptoir-erased:" + account_id.bytes).hexdigest()[:12]


# What a merchant sees of a member per channel consented (seed 003: "acceptez-vous d'importer
# les données suivantes": e-mail, mobile, adresse, each with its authorisation).
CHANNEL_FIELDS = {
    "email": ("email",),
    "sms": ("phone",),
    "post": ("address", "postal_code", "town"),
}


def merchant_view(d: Details, joined_how: str, channels: set[str]) -> Details:
    """The file as one merchant sees it. A customer enrolled or seen at the merchant is the
    merchant's own; a member added from another shop's file shows only the contact details of
    the channels they consented to for this merchant (not withdrawn), and no notes."""
    if joined_how != "import":
        return d
    hidden = {
        name
        for channel, names in CHANNEL_FIELDS.items()
        if channel not in channels
        for name in names
    }
    cleared: dict[str, Any] = dict.fromkeys(hidden)
    return replace(d, notes=None, **cleared)
