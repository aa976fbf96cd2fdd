"""The front desk's pure rules (issue 15, item 3, CARD): what a search term names, an amount
typed at the counter read as cents, and amounts written in the person's language (CLDR)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Literal

from babel.numbers import format_currency

Kind = Literal["card", "phone", "email", "name"]
MAX_CENTS = 10_000_000  # 100 000 €: a typing slip beyond, not a sale at a counter
_PHONE = re.compile(r"^\+?[0-9][0-9 .\-()]{7,19}$")


def search_kind(term: str) -> tuple[Kind, str]:
    """What the one search field was given: an e-mail has an @, 16 digits (spaces allowed)
    are a card number, a number that reads as a phone is a phone; anything else is a name."""
    term = " ".join(term.split())
    if "@" in term:
        return "email", term.lower()
    digits = re.sub(r"[ \-]", "", term)
    if digits.isdigit() and len(digits) == 16:
        return "card", digits
    if _PHONE.match(term):
        return "phone", term
    return "name", term


def cents(typed: str) -> int | None:
    """``12,50``, ``12.50``, ``12`` → 1250; None for anything else, zero, or too much."""
    text = typed.strip().replace("\u202f", "").replace(" ", "").replace("€", "")
    if not re.fullmatch(r"[0-9]{1,6}([.,][0-9]{1,2})?", text):
        return None
    try:
        value = int((Decimal(text.replace(",", ".")) * 100).to_integral_exact())
    except InvalidOperation:
        return None
    return value if 0 < value <= MAX_CENTS else None


def money(amount_cents: int, language: str) -> str:
    """An amount in euros as the person reads it: ``12,50 €`` in French, ``€12.50`` in English."""
    locale = "fr_FR" if language == "fr" else "en_GB"
    return format_currency(Decimal(amount_cents) / 100, "EUR", locale=locale)
