"""The EPC's rules for SEPA payments that the IBAN and BIC registries do not carry (pure: no
I/O): which countries the SEPA schemes reach and which of them are outside the EEA (their
payments carry a postal address), the SEPA Creditor Identifier, the character set of SEPA
files and the lengths of their texts, the identifiers (mandate references, message ids).

IBAN and BIC themselves are checked against schwifty's registries (``bank.py``). Errors are
``BankDetailsError`` with the field and a sentence the merchant can act on.

Sources: the EPC list of countries in the SEPA schemes (EPC409-09), the EPC rules for the
Creditor Identifier (EPC262-08), the 2023 SCT and SDD rulebooks (postal addresses), the
character set of the SEPA implementation guidelines and the ISO 20022 schemas (address
lengths); ISO 3166 (country codes) through pycountry, which schwifty reads too.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Literal

import pycountry
from schwifty.checksum import ISO7064_mod97_10

Field = Literal["iban", "bic", "creditor_id", "holder", "mandate_id", "address"]


class BankDetailsError(ValueError):
    """Bank details a bank would reject; ``detail`` is meant for the merchant's eyes."""

    def __init__(self, field: Field, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field: Field = field
        self.detail = detail


# ISO 3166-1 alpha-2, plus XK (Kosovo) which SWIFT and the IBAN registry use.
ISO_COUNTRIES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries) | {"XK"}

# EPC409-09: the countries whose IBANs the SEPA schemes reach (EU, EEA, CH, GB, MC, SM, VA,
# AD, GI, and since 2025 AL, MD, ME, MK). schwifty's own "SEPA zone" flag lags behind it (no
# AL, MD, ME, MK) and counts New Caledonia and French Polynesia in, which use the CFP franc.
SEPA_SCHEME_COUNTRIES: frozenset[str] = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "IS",
        "LI",
        "NO",
        "CH",
        "GB",
        "MC",
        "SM",
        "VA",
        "AD",
        "GI",
        "AL",
        "MD",
        "ME",
        "MK",
    ]
)
# Their territories inside SEPA. Their IBANs mostly start with the parent's prefix (FR for
# Guadeloupe, GB for Jersey, FI for Åland), but the registry knows their own prefixes too, and
# a BIC names the country of the branch: a bank in Réunion or Jersey has its own code.
SEPA_TERRITORIES: frozenset[str] = frozenset(
    ["GF", "GP", "MQ", "RE", "YT", "PM", "BL", "MF", "AX", "JE", "GG", "IM"]
)
SEPA_IBAN_COUNTRIES: frozenset[str] = SEPA_SCHEME_COUNTRIES | SEPA_TERRITORIES
SEPA_BIC_COUNTRIES: frozenset[str] = SEPA_IBAN_COUNTRIES
# SEPA countries outside the EEA. The EPC's 2023 SCT (EPC125-05) and SDD Core (EPC016-06)
# rulebooks, in force since 19 November 2023, require the postal address (at least the town
# and the country) in a payment that involves a PSP of such a country: a bank there, or one
# paying or collecting from there, rejects a file without it. AL, MD, ME and MK (SEPA since
# 2025, see above) are outside the EEA too. JE, GG and IM IBANs mostly start with GB.
NON_EEA_SEPA_COUNTRIES: frozenset[str] = frozenset(
    ["CH", "GB", "MC", "SM", "VA", "AD", "GI", "JE", "GG", "IM", "AL", "MD", "ME", "MK"]
)

_MOD97 = ISO7064_mod97_10()


def compact(s: str) -> str:
    # Merchants paste IBANs from PDFs and RIBs: spaces, non-breaking spaces, tabs, lowercase.
    return "".join(s.split()).upper()


def format_iban(iban: str) -> str:
    """Groups of four for display: ``FR76 3000 6000 0112 3456 7890 189``."""
    c = compact(iban)
    return " ".join(c[i : i + 4] for i in range(0, len(c), 4))


def mod97_check_digits(payload: str, country: str) -> str:
    """ISO 7064 MOD 97-10 check digits of ``payload`` followed by ``country``: an IBAN's over
    its BBAN, a creditor identifier's over its national identifier."""
    digits: str = _MOD97.compute([compact(payload), country.upper()])
    return digits


def creditor_id_check_digits(country: str, national_id: str) -> str:
    """Check digits of a SEPA Creditor Identifier (EPC262-08).

    As for an IBAN, but over the national identifier only: the creditor business code
    (``ZZZ`` by default) is left out, so a creditor may change it without new digits.
    """
    return mod97_check_digits(national_id, country)


# Total length of a Creditor Identifier per country, from EPC262-08 ("Creditor Identifier
# Overview"): its per-country examples, cross-checked with an independent implementation of
# the document where there is one (not for IE and PT, whose national part is 6 digits).
# Belgium has two forms: the 10-digit enterprise number (17) or a bank-issued "nnnD" and 9
# digits (20). The other SEPA countries (CY, GR, MT, FI, CH, GB...) get only the generic rule
# below: 2 letters, 2 check digits (mod 97 over the national identifier, the business code
# skipped), 35 characters at most. No length is guessed: refusing a real identifier would stop
# an association's collections.
_CREDITOR_ID_LENGTHS: dict[str, tuple[int, ...]] = {
    "AT": (18,),
    "BE": (17, 20),
    "DE": (18,),
    "EE": (20,),
    "ES": (16,),
    "FR": (13,),
    "IE": (13,),
    "IT": (23,),
    "LU": (26,),
    "NL": (19,),
    "PT": (13,),
}


def normalize_creditor_id(s: str) -> str:
    """The compact SEPA Creditor Identifier (e.g. ``FR72ZZZ123456``) if valid."""
    cid = compact(s)
    m = re.fullmatch(r"([A-Z]{2})([0-9]{2})([A-Z0-9]{3})([A-Z0-9]{1,28})", cid)
    if m is None:
        raise BankDetailsError(
            "creditor_id",
            f"Creditor identifier {cid or '(empty)'} is not well formed: 2-letter country, 2 "
            "check digits, a 3-character business code (often ZZZ), then the national "
            "identifier, 35 characters at most (e.g. FR72ZZZ123456).",
        )
    country, digits, _business, national = m.groups()
    if country not in SEPA_SCHEME_COUNTRIES:
        raise BankDetailsError(
            "creditor_id",
            f"Creditor identifier {cid}: {country!r} is not a country of the SEPA schemes.",
        )
    lengths = _CREDITOR_ID_LENGTHS.get(country)
    if lengths is not None and len(cid) not in lengths:
        expected = " or ".join(str(n) for n in lengths)
        raise BankDetailsError(
            "creditor_id",
            f"Creditor identifier {cid} has {len(cid)} characters; one from {country} has "
            f"{expected}.",
        )
    if digits != creditor_id_check_digits(country, national):
        raise BankDetailsError(
            "creditor_id",
            f"Creditor identifier {cid} fails its check digits (mod 97); copy it again from "
            "the letter your bank (or the Banque de France) sent.",
        )
    return cid


# The character set every SEPA bank must accept (EPC implementation guidelines, 1.4).
SEPA_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ")

# Letters NFKD leaves whole, and signs with a meaning worth keeping; the rest become spaces.
_TRANSLITERATION = str.maketrans(
    {
        "œ": "oe",
        "Œ": "OE",
        "æ": "ae",
        "Æ": "AE",
        "ß": "ss",
        "ẞ": "SS",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "Th",
        "ı": "i",
        # "&" is outside the set; "+" keeps a name like "Durand & Fils" recognisable.
        "&": "+",
        "€": "EUR",
        "‘": "'",
        "’": "'",
        "ʼ": "'",
        "‐": "-",
        "‑": "-",
        "–": "-",
        "—": "-",
        "−": "-",
    }
)


def sepa_text(s: str, max_len: int, *, field: Field = "holder") -> str:
    """``s`` in the SEPA Latin character set, at most ``max_len`` characters.

    Accents are dropped ("Éloïse" → "Eloise"), "&" becomes "+", anything else outside the set
    a space; spaces are collapsed. Raises ``BankDetailsError`` on ``field`` if nothing is
    left, since the schema requires at least one character.
    """
    decomposed = unicodedata.normalize("NFKD", s.translate(_TRANSLITERATION))
    kept = "".join(
        c if c in SEPA_CHARS else " " for c in decomposed if not unicodedata.combining(c)
    )
    text = " ".join(kept.split())[:max_len].rstrip()
    if not text:
        raise BankDetailsError(
            field,
            f"{s!r} has no character a bank accepts (Latin letters, digits, / - ? : ( ) . , ' +).",
        )
    return text


def normalize_holder(s: str) -> str:
    """The account holder's name as it will appear in SEPA files (70 characters at most)."""
    return sepa_text(s, 70, field="holder")


# ISO 20022 PostalAddress24 (pain.001.001.09, pain.008.001.08): StrtNm and TwnNm are
# Max70Text and Max35Text, BldgNb and PstCd Max16Text.
STREET_MAX = 70
BUILDING_NUMBER_MAX = 16
POSTCODE_MAX = 16
TOWN_MAX = 35


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A structured postal address, its texts already in the SEPA character set."""

    street: str | None = None
    building_number: str | None = None
    postcode: str | None = None
    town: str
    country: str


def _address_text(what: str, s: str, max_len: int) -> str:
    # Refused rather than cut: a town or a postcode cut short is a wrong address. The limit
    # is on the transliterated text ("€" becomes "EUR"), so it is measured after, uncut.
    text = sepa_text(s, sys.maxsize, field="address")
    if len(text) > max_len:
        raise BankDetailsError(
            "address",
            f"The {what} has {len(text)} characters once written in a SEPA file; {max_len} at "
            "most fit: abbreviate it.",
        )
    return text


def normalize_address(
    *,
    town: str,
    country: str,
    street: str | None = None,
    building_number: str | None = None,
    postcode: str | None = None,
) -> Address:
    """The address as SEPA files carry it, else ``BankDetailsError`` on ``address``.

    Texts are transliterated like names ("Zürich" → "Zurich") and refused if too long for
    their ISO 20022 element; ``country`` is an ISO 3166 alpha-2 code, in any case.
    """
    code = compact(country)
    if code not in ISO_COUNTRIES:
        raise BankDetailsError(
            "address",
            f"Country {country!r} is not an ISO 3166 country code; write two letters, such as "
            "FR or CH.",
        )
    return Address(
        street=None if street is None else _address_text("street", street, STREET_MAX),
        building_number=None
        if building_number is None
        else _address_text("building number", building_number, BUILDING_NUMBER_MAX),
        postcode=None if postcode is None else _address_text("postcode", postcode, POSTCODE_MAX),
        town=_address_text("town", town, TOWN_MAX),
        country=code,
    )


def address_required(iban: str) -> bool:
    """Whether the holder of ``iban`` must have a postal address in SEPA files: its bank is
    in a SEPA country outside the EEA."""
    return compact(iban)[:2] in NON_EEA_SEPA_COUNTRIES


def check_address(iban: str, address: Address | None) -> None:
    """``BankDetailsError`` on ``address`` if ``iban`` requires one and there is none."""
    if address is None and address_required(iban):
        country = compact(iban)[:2]
        raise BankDetailsError(
            "address",
            f"IBAN {format_iban(iban)} is held in {country}, a SEPA country outside the EEA: "
            "its payments must carry the holder's postal address. Give at least the town and "
            "the country.",
        )


_IDENTIFIER_CHARS = SEPA_CHARS - {" "}


def identifier_problem(s: str) -> str | None:
    """Why ``s`` cannot be a SEPA identifier (MsgId, EndToEndId, MndtId…), or None.

    EPC rules: 1 to 35 characters of the SEPA set (we also refuse spaces, which banks
    handle unevenly), not starting or ending with "/" and without "//".
    """
    if not 1 <= len(s) <= 35:
        return f"{s!r} has {len(s)} characters; 1 to 35 are allowed"
    bad = sorted({c for c in s if c not in _IDENTIFIER_CHARS})
    if bad:
        return f"{s!r} contains {''.join(bad)!r}; only letters, digits and / - ? : ( ) . , ' +"
    if s.startswith("/") or s.endswith("/") or "//" in s:
        return f"{s!r} starts or ends with '/' or contains '//'"
    return None


def validate_mandate_id(s: str) -> str:
    """The Unique Mandate Reference (1-35 SEPA characters, no spaces), stripped."""
    mandate_id = s.strip()
    problem = identifier_problem(mandate_id)
    if problem is not None:
        raise BankDetailsError("mandate_id", f"Mandate reference {problem}.")
    return mandate_id
