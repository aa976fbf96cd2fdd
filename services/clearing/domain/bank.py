"""IBAN and BIC of the bank details the clearing service pays and collects with (pure: no
I/O), checked against schwifty's registries (the SWIFT IBAN registry, ISO 13616 check digits,
ISO 9362), with the EPC's rules on top (``epc.py``: the SEPA countries, addresses, creditor
identifiers, the character set).

A merchant types an IBAN, a BIC and an account holder name, and a postal address when the
bank is in a SEPA country outside the EEA; the association types its SEPA Creditor
Identifier (ICS in France). Each is checked before it is stored, and again by the SEPA
writers (``sepa.py``) before it goes into a file: a bank rejects a whole file for one bad
account, days later. The sentences are ours: they tell a merchant what to do.
"""

from __future__ import annotations

import functools
import re

from schwifty import BIC, IBAN, registry
from schwifty.domain import IBANSpec
from schwifty.exceptions import (
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidStructure,
    SchwiftyException,
)

from services.clearing.domain.epc import ISO_COUNTRIES as ISO_COUNTRIES
from services.clearing.domain.epc import NON_EEA_SEPA_COUNTRIES as NON_EEA_SEPA_COUNTRIES
from services.clearing.domain.epc import SEPA_BIC_COUNTRIES as SEPA_BIC_COUNTRIES
from services.clearing.domain.epc import SEPA_CHARS as SEPA_CHARS
from services.clearing.domain.epc import SEPA_IBAN_COUNTRIES as SEPA_IBAN_COUNTRIES
from services.clearing.domain.epc import Address as Address
from services.clearing.domain.epc import BankDetailsError as BankDetailsError
from services.clearing.domain.epc import address_required as address_required
from services.clearing.domain.epc import check_address as check_address
from services.clearing.domain.epc import compact, mod97_check_digits
from services.clearing.domain.epc import creditor_id_check_digits as creditor_id_check_digits
from services.clearing.domain.epc import format_iban as format_iban
from services.clearing.domain.epc import identifier_problem as identifier_problem
from services.clearing.domain.epc import normalize_address as normalize_address
from services.clearing.domain.epc import normalize_creditor_id as normalize_creditor_id
from services.clearing.domain.epc import normalize_holder as normalize_holder
from services.clearing.domain.epc import sepa_text as sepa_text
from services.clearing.domain.epc import validate_mandate_id as validate_mandate_id

_BBAN_PART = re.compile(r"(\d+)!([nac])")
_BBAN_WORDS = {"n": "digits", "a": "capital letters", "c": "letters or digits"}


@functools.cache
def _specs() -> dict[str, IBANSpec]:
    """The IBAN formats of schwifty's registry, by country. Its "aspirational" formats
    (reserved, not yet in the SWIFT registry) are left out: banks may refuse them."""
    out: dict[str, IBANSpec] = {}
    for country in sorted(ISO_COUNTRIES):
        try:
            spec = registry.get_iban_spec(country)
        except InvalidCountryCode:
            continue
        if not spec.aspirational:
            out[country] = spec
    return out


# The BBAN (what follows country and check digits) of each country, in the registry's
# notation: "5!n" five digits, "4!a" four capital letters, "11!c" eleven letters or digits.
IBAN_BBAN_FORMATS: dict[str, str] = {c: s.bban_spec for c, s in _specs().items()}
IBAN_LENGTHS: dict[str, int] = {c: s.iban_length for c, s in _specs().items()}


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits that make ``country + digits + bban`` a valid IBAN."""
    return mod97_check_digits(bban, country)


def _layout(country: str) -> str:
    parts = _BBAN_PART.findall(IBAN_BBAN_FORMATS[country])
    return ", ".join(f"{n} {_BBAN_WORDS[k]}" for n, k in parts)


def normalize_iban(s: str, *, sepa_only: bool = False) -> str:
    """The compact IBAN if ``s`` is a valid one, else ``BankDetailsError`` on ``iban``.

    ``sepa_only`` also requires a country the SEPA schemes reach: what a SEPA file needs.
    """
    iban = compact(s)
    shown = format_iban(iban) if iban else "(empty)"
    if not iban:
        raise BankDetailsError("iban", "The IBAN is empty; copy it from your bank's RIB.")
    if not re.fullmatch(r"[A-Z0-9]+", iban):
        bad = next(c for c in iban if not ("A" <= c <= "Z" or "0" <= c <= "9"))
        raise BankDetailsError(
            "iban", f"IBAN {shown} contains {bad!r}: an IBAN has only letters and digits."
        )
    country = iban[:2]
    if country not in IBAN_LENGTHS:
        raise BankDetailsError(
            "iban",
            f"IBAN {shown} starts with {country!r}, which is not a country of the IBAN "
            "registry; an IBAN starts with its country code, such as FR.",
        )
    expected = IBAN_LENGTHS[country]
    if len(iban) != expected:
        raise BankDetailsError(
            "iban",
            f"IBAN {shown} has {len(iban)} characters; an IBAN from {country} has {expected}. "
            "A character is missing or doubled.",
        )
    if not iban[2:4].isdigit():
        raise BankDetailsError(
            "iban", f"IBAN {shown}: the third and fourth characters must be digits."
        )
    try:
        IBAN(iban)
    except InvalidStructure:
        raise BankDetailsError(
            "iban",
            f"IBAN {shown} does not follow the layout of {country} accounts after its first "
            f"four characters ({_layout(country)}); a letter may have been typed for a digit.",
        ) from None
    except InvalidChecksumDigits:
        raise BankDetailsError(
            "iban",
            f"IBAN {shown} fails its check digits (mod 97): a character is mistyped or two "
            "are swapped; copy it again from your bank's RIB.",
        ) from None
    except SchwiftyException as exc:  # a registry that learnt a new refusal
        raise BankDetailsError("iban", f"IBAN {shown} is not valid: {exc}.") from None
    if sepa_only and country not in SEPA_IBAN_COUNTRIES:
        raise BankDetailsError(
            "iban",
            f"IBAN {shown} is from {country}, outside the SEPA area: the network can only "
            "pay and collect by SEPA transfer and direct debit.",
        )
    return iban


# SWIFT's rule for the location code (ISO 9362 leaves it open, and so does schwifty): its
# first character is not 0 or 1, its second not the letter O (read as the digit 0).
_LOCATION = re.compile(r"[A-Z2-9][A-NP-Z0-9]")


def normalize_bic(s: str, iban_country: str | None = None) -> str:
    """The BIC (8 or 11 characters, uppercase) if well formed, else ``BankDetailsError``.

    With ``iban_country`` (the BIC goes with an IBAN in a SEPA file), the bank's country must
    be one the SEPA schemes reach. A BIC from another country than the IBAN is not refused:
    territories (Réunion, Jersey…) and some cross-border banks legitimately differ.
    """
    bic = compact(s)
    if len(bic) not in (8, 11):
        raise BankDetailsError(
            "bic", f"BIC {bic or '(empty)'} has {len(bic)} characters; a BIC has 8 or 11."
        )
    country = bic[4:6]
    checked = BIC(bic, allow_invalid=True)
    try:
        checked.validate(enforce_swift_compliance=True)
        if not _LOCATION.fullmatch(bic[6:8]):
            raise InvalidStructure(bic)
    except InvalidStructure:
        raise BankDetailsError(
            "bic",
            f"BIC {bic} is not well formed: 4 letters for the bank, 2 for the country, then "
            "2 letters or digits for the city and optionally 3 for the branch.",
        ) from None
    except InvalidCountryCode:
        # pycountry (schwifty's) follows ISO 3166 to the letter; SWIFT has XK for Kosovo.
        if country not in ISO_COUNTRIES:
            raise BankDetailsError(
                "bic", f"BIC {bic}: {country!r} (5th and 6th characters) is not a country code."
            ) from None
    except SchwiftyException as exc:
        raise BankDetailsError("bic", f"BIC {bic} is not valid: {exc}.") from None
    if iban_country is not None and country not in SEPA_BIC_COUNTRIES:
        raise BankDetailsError(
            "bic",
            f"BIC {bic} is a bank in {country}, outside the SEPA area; give the BIC of the "
            "bank that holds your IBAN.",
        )
    return bic
