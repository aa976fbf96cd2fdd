"""What identifies an account besides its phone (F2): an e-mail address, a bank-card token."""

from __future__ import annotations

import re
from typing import Literal

# What names an account in a look-up.
Kind = Literal["phone", "email", "card", "token"]

# No space nor control character in an address: it is stored and looked up as given.
_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f-\x9f]+"
_EMAIL = re.compile(rf"{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}")
_TOKEN = re.compile(r"[A-Za-z0-9._:+/=-]{4,200}")
_POSTAL = re.compile(r"[0-9]{5}")


def email(value: str) -> str:
    """An e-mail address, lower-cased; ValueError when it is not one."""
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError(f"not an e-mail address: {value!r}")
    return value


def token(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError("a token is 4 to 200 letters, digits or ._:+/=-")
    return value


def postal_code(value: str) -> str:
    if not _POSTAL.fullmatch(value):
        raise ValueError("a postal code is 5 digits")
    return value
