"""Request field types shared by the services' HTTP models: one parsing rule per identifier,
with the pure rules of ``shared.rules`` behind it, and pydantic's error message on failure."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

from shared.rules.codes import InvalidCode, parse_card_number
from shared.rules.phone import InvalidPhone, normalise


def _phone(value: str) -> str:
    try:
        return normalise(value)
    except InvalidPhone as exc:
        raise ValueError(str(exc)) from exc


def _card(value: str) -> str:
    try:
        return parse_card_number(value)
    except InvalidCode as exc:
        raise ValueError(str(exc)) from exc


def _text(value: str) -> str:
    """Stripped, not empty, no control characters: PostgreSQL text cannot hold NUL, and a
    card printer or a statement should not receive the others."""
    value = value.strip()
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("control characters are not allowed")
    if not value:
        raise ValueError("empty")
    return value


# E.164 once parsed: "06 12 34 56 78" → "+33612345678".
PhoneNumber = Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_phone)]
# 16 digits with a Luhn check digit; spaces and dashes allowed as typed.
CardNumber = Annotated[str, Field(max_length=32), AfterValidator(_card)]
# Narrower: ``Annotated[Text, Field(max_length=70)]``. A default ``= Field(max_length=70)``
# beside Text is not applied: pydantic keeps the 200 of the Annotated metadata, in the
# validation and in the schema.
Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_text)]
Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_text)]
