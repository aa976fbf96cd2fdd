"""Phone numbers identify cardless accounts, so one number must have one spelling (E.164)."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s.\-()/]")


class InvalidPhone(ValueError):
    pass


def normalise(raw: str, default_country_code: str = "33") -> str:
    """``06 12 34 56 78`` → ``+33612345678``; ``0033…`` and ``+…`` are kept international."""
    s = _SEPARATORS.sub("", raw.strip())
    if s.startswith("00"):
        s = "+" + s[2:]
    elif s.startswith("0") and len(s) == 10:
        s = f"+{default_country_code}{s[1:]}"
    if not re.fullmatch(r"\+[1-9][0-9]{7,14}", s):  # [0-9]: \d takes any script's digits
        raise InvalidPhone(f"not a phone number: {raw!r}")
    return s
