"""Phone numbers identify cardless accounts, so one number must have one spelling (E.164).

The numbering plans are libphonenumber's (``phonenumbers``), not ours: a number typed in
national form is read in the default region (the association's, France unless told), and a
number in international form (``+32…``, ``0032…``) keeps its own country instead of being
forced to +33.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

# What a person types: ASCII digits, a leading +, and the separators of the usual spellings.
# libphonenumber itself would also read letters (1-800-FLOWERS), extensions ("ext. 12") and
# digits inside text ("tel: 06…"): none of them belongs in an identifier.
_TYPED = re.compile(r"\+?[0-9\s.\-()/]+")


# A French number written without separators, in E.164 or national form, as tills and
# customers mostly send it: libphonenumber accepts every one of them (nine digits after the +33
# or the trunk 0, the first not 0: a number of an allocated range, or of the plan's only
# possible length), and gives it as +33 and those nine digits. It is read here without
# libphonenumber's 40 µs (``tests/unit/test_phone.py`` checks the two agree on every
# four-digit beginning). Any other spelling, or another region, goes through libphonenumber.
_FRENCH = re.compile(r"(?:\+33|0)([1-9][0-9]{8})")


class InvalidPhone(ValueError):
    pass


def region_of(default_country_code: str) -> str:
    """The region (ISO 3166 alpha-2) whose numbering plan reads a national number: ``"33"`` →
    ``"FR"``, ``"32"`` → ``"BE"`` (a calling code shared by several regions gives its main one,
    ``"1"`` → ``"US"``)."""
    region: str = phonenumbers.region_code_for_country_code(int(default_country_code))
    if region == phonenumbers.UNKNOWN_REGION:
        raise ValueError(f"no region has the calling code +{default_country_code}")
    return region


def normalise(raw: str, default_country_code: str = "33", *, region: str | None = None) -> str:
    """``06 12 34 56 78`` → ``+33612345678``; ``0032 470 12 34 56`` and ``+41 79 123 45 67``
    keep their country; ``0470 12 34 56`` is read in ``region`` (by default the region of
    ``default_country_code``: France), so it is Belgian only for a Belgian association."""
    s = raw.strip()
    if not _TYPED.fullmatch(s):
        raise InvalidPhone(f"not a phone number: {raw!r}")
    region = region or region_of(default_country_code)
    if region == "FR" and (french := _FRENCH.fullmatch(s)):
        return "+33" + french[1]
    e164 = _e164(s, region)
    if e164 is None:
        raise InvalidPhone(f"not a phone number: {raw!r}")
    return e164


# libphonenumber is pure Python: parsing and checking a number takes some 40 µs, and the gateway
# checks one with each sale (bench/ingest's gateway spent 2-8 % more CPU a sale without this
# cache, docs/benchmarks.md, 2026-12-07). A loyalty card's customers come back, so their
# numbers recur: the answers for the last numbers seen are kept (bounded: 7 MB when full, 210 bytes
# each; a refused one too, so that repeating a bad number costs no more). It maps spellings to
# spellings in one process's memory, never to an account, and older ones fall out as new ones
# come: nothing an erasure must reach.
@lru_cache(maxsize=32768)
def _e164(typed: str, region: str) -> str | None:
    """The E.164 form of a number as typed (separators and all), read in ``region``; None
    when it is not an acceptable number."""
    try:
        number = phonenumbers.parse(typed, region)
    except NumberParseException:
        return None
    if not _acceptable(number):
        return None
    e164: str = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return e164


def _acceptable(number: phonenumbers.PhoneNumber) -> bool:
    """A number of a range its country has allocated, or one whose length fits the country's
    plan. The second half is deliberate: libphonenumber's ranges reach its metadata months after
    a regulator opens them, and a customer's new number must not be refused at the till (the
    test fixtures use the French 07 00 range, which the metadata does not list). A length that
    fits only a local, dial-within-the-area number (``00 12 34 56 78`` read as +1 234 5678) is
    not enough, nor a national number that still begins with the trunk prefix (``06 12 34 56 7``,
    a digit short, would otherwise become +33 0 61 23 45 67)."""
    if phonenumbers.is_valid_number(number):
        return True
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != ValidationResult.IS_POSSIBLE:
        return False
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    if metadata is None:
        return False
    trunk = metadata.national_prefix
    return not (trunk and phonenumbers.national_significant_number(number).startswith(trunk))
