"""Pure validation of the bank details the clearing service pays and collects with.

A merchant types an IBAN, a BIC and an account holder name, and a postal address when the
bank is in a SEPA country outside the EEA; the association types its SEPA Creditor
Identifier (ICS in France). Each is checked here before it is stored, and again by
the SEPA writers (services/clearing/sepa.py) before it goes into a file: a bank rejects a
whole file for one bad account, days later. Errors are ``BankDetailsError`` with the field
and a sentence the merchant can act on. No I/O.

Sources: the SWIFT IBAN registry (BBAN structure per country), ISO 13616 and ISO 7064
MOD 97-10 (IBAN check digits), ISO 9362 (BIC), the EPC list of countries in the SEPA
schemes (EPC409-09), the EPC rules for the Creditor Identifier (EPC262-08), the 2023 SCT and
SDD rulebooks (postal addresses), the character set of the SEPA implementation guidelines and
the ISO 20022 schemas (address lengths).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Literal

Field = Literal["iban", "bic", "creditor_id", "holder", "mandate_id", "address"]


class BankDetailsError(ValueError):
    """Bank details a bank would reject; ``detail`` is meant for the merchant's eyes."""

    def __init__(self, field: Field, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field: Field = field
        self.detail = detail


# SWIFT IBAN registry: the BBAN (what follows country and check digits) of each country, in
# the registry's notation: "5!n" five digits, "4!a" four capital letters, "11!c" eleven
# letters or digits. The IBAN length is 4 + the sum of the counts. Checking the structure,
# not only the length, rejects a letter typed for a digit where mod 97 alone may not.
IBAN_BBAN_FORMATS: dict[str, str] = {
    "AD": "4!n4!n12!c",
    "AE": "3!n16!n",
    "AL": "8!n16!c",
    "AT": "5!n11!n",
    "AZ": "4!a20!c",
    "BA": "3!n3!n8!n2!n",
    "BE": "3!n7!n2!n",
    "BG": "4!a4!n2!n8!c",
    "BH": "4!a14!c",
    "BI": "5!n5!n11!n2!n",
    "BR": "8!n5!n10!n1!a1!c",
    "BY": "4!c4!n16!c",
    "CH": "5!n12!c",
    "CR": "4!n14!n",
    "CY": "3!n5!n16!c",
    "CZ": "4!n6!n10!n",
    "DE": "8!n10!n",
    "DJ": "5!n5!n11!n2!n",
    "DK": "4!n9!n1!n",
    "DO": "4!c20!n",
    "EE": "2!n14!n",
    "EG": "4!n4!n17!n",
    "ES": "4!n4!n1!n1!n10!n",
    "FI": "3!n11!n",
    "FK": "2!a12!n",
    "FO": "4!n9!n1!n",
    "FR": "5!n5!n11!c2!n",
    "GB": "4!a6!n8!n",
    "GE": "2!a16!n",
    "GI": "4!a15!c",
    "GL": "4!n9!n1!n",
    "GR": "3!n4!n16!c",
    "GT": "4!c20!c",
    "HN": "4!a20!n",
    "HR": "7!n10!n",
    "HU": "3!n4!n1!n15!n1!n",
    "IE": "4!a6!n8!n",
    "IL": "3!n3!n13!n",
    "IQ": "4!a3!n12!n",
    "IS": "4!n2!n6!n10!n",
    "IT": "1!a5!n5!n12!c",
    "JO": "4!a4!n18!c",
    "KW": "4!a22!c",
    "KZ": "3!n13!c",
    "LB": "4!n20!c",
    "LC": "4!a24!c",
    "LI": "5!n12!c",
    "LT": "5!n11!n",
    "LU": "3!n13!c",
    "LV": "4!a13!c",
    "LY": "3!n3!n15!n",
    "MC": "5!n5!n11!c2!n",
    "MD": "2!c18!c",
    "ME": "3!n13!n2!n",
    "MK": "3!n10!c2!n",
    "MN": "4!n12!n",
    "MR": "5!n5!n11!n2!n",
    "MT": "4!a5!n18!c",
    "MU": "4!a2!n2!n12!n3!n3!a",
    "NI": "4!a20!n",
    "NL": "4!a10!n",
    "NO": "4!n6!n1!n",
    "OM": "3!n16!c",
    "PK": "4!a16!c",
    "PL": "8!n16!n",
    "PS": "4!a21!c",
    "PT": "4!n4!n11!n2!n",
    "QA": "4!a21!c",
    "RO": "4!a16!c",
    "RS": "3!n13!n2!n",
    "RU": "9!n5!n15!c",
    "SA": "2!n18!c",
    "SC": "4!a2!n2!n16!n3!a",
    "SD": "2!n12!n",
    "SE": "3!n16!n1!n",
    "SI": "5!n8!n2!n",
    "SK": "4!n6!n10!n",
    "SM": "1!a5!n5!n12!c",
    "SO": "4!n3!n12!n",
    "ST": "8!n11!n2!n",
    "SV": "4!a20!n",
    "TL": "3!n14!n2!n",
    "TN": "2!n3!n13!n2!n",
    "TR": "5!n1!n16!c",
    "UA": "6!n19!c",
    "VA": "3!n15!n",
    "VG": "4!a16!n",
    "XK": "4!n10!n2!n",
    "YE": "4!a4!n18!c",
}

_BBAN_PART = re.compile(r"(\d+)!([nac])")
_BBAN_CLASS = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}


def _bban_parts(fmt: str) -> list[tuple[int, str]]:
    return [(int(n), kind) for n, kind in _BBAN_PART.findall(fmt)]


IBAN_LENGTHS: dict[str, int] = {
    country: 4 + sum(n for n, _ in _bban_parts(fmt)) for country, fmt in IBAN_BBAN_FORMATS.items()
}
_BBAN_PATTERNS: dict[str, re.Pattern[str]] = {
    country: re.compile("".join(f"{_BBAN_CLASS[k]}{{{n}}}" for n, k in _bban_parts(fmt)))
    for country, fmt in IBAN_BBAN_FORMATS.items()
}
_BBAN_WORDS = {"n": "digits", "a": "capital letters", "c": "letters or digits"}

# EPC409-09: countries whose IBANs the SEPA schemes reach (EU, EEA, CH, GB, MC, SM, VA, AD,
# GI, and since 2025 AL, MD, ME, MK). Their territories use the parent's IBAN prefix (FR for
# Guadeloupe, GB for Jersey, FI for Åland...), so they appear only in the BIC list below.
SEPA_IBAN_COUNTRIES: frozenset[str] = frozenset(
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
# A BIC names the country of the branch, so a bank in Réunion or Jersey has its own code.
SEPA_BIC_COUNTRIES: frozenset[str] = SEPA_IBAN_COUNTRIES | frozenset(
    ["GF", "GP", "MQ", "RE", "YT", "PM", "BL", "MF", "AX", "JE", "GG", "IM"]
)
# SEPA countries outside the EEA. The EPC's 2023 SCT (EPC125-05) and SDD Core (EPC016-06)
# rulebooks, in force since 19 November 2023, require the postal address (at least the town
# and the country) in a payment that involves a PSP of such a country: a bank there, or one
# paying or collecting from there, rejects a file without it. AL, MD, ME and MK (SEPA since
# 2025, see above) are outside the EEA too. JE, GG and IM have no IBAN prefix of their own
# (their IBANs start with GB) but are kept so the set reads as the EPC's list.
NON_EEA_SEPA_COUNTRIES: frozenset[str] = frozenset(
    ["CH", "GB", "MC", "SM", "VA", "AD", "GI", "JE", "GG", "IM", "AL", "MD", "ME", "MK"]
)
# ISO 3166-1 alpha-2, plus XK (Kosovo) which SWIFT and the IBAN registry use.
ISO_COUNTRIES: frozenset[str] = frozenset(
    [
        "AD",
        "AE",
        "AF",
        "AG",
        "AI",
        "AL",
        "AM",
        "AO",
        "AQ",
        "AR",
        "AS",
        "AT",
        "AU",
        "AW",
        "AX",
        "AZ",
        "BA",
        "BB",
        "BD",
        "BE",
        "BF",
        "BG",
        "BH",
        "BI",
        "BJ",
        "BL",
        "BM",
        "BN",
        "BO",
        "BQ",
        "BR",
        "BS",
        "BT",
        "BV",
        "BW",
        "BY",
        "BZ",
        "CA",
        "CC",
        "CD",
        "CF",
        "CG",
        "CH",
        "CI",
        "CK",
        "CL",
        "CM",
        "CN",
        "CO",
        "CR",
        "CU",
        "CV",
        "CW",
        "CX",
        "CY",
        "CZ",
        "DE",
        "DJ",
        "DK",
        "DM",
        "DO",
        "DZ",
        "EC",
        "EE",
        "EG",
        "EH",
        "ER",
        "ES",
        "ET",
        "FI",
        "FJ",
        "FK",
        "FM",
        "FO",
        "FR",
        "GA",
        "GB",
        "GD",
        "GE",
        "GF",
        "GG",
        "GH",
        "GI",
        "GL",
        "GM",
        "GN",
        "GP",
        "GQ",
        "GR",
        "GS",
        "GT",
        "GU",
        "GW",
        "GY",
        "HK",
        "HM",
        "HN",
        "HR",
        "HT",
        "HU",
        "ID",
        "IE",
        "IL",
        "IM",
        "IN",
        "IO",
        "IQ",
        "IR",
        "IS",
        "IT",
        "JE",
        "JM",
        "JO",
        "JP",
        "KE",
        "KG",
        "KH",
        "KI",
        "KM",
        "KN",
        "KP",
        "KR",
        "KW",
        "KY",
        "KZ",
        "LA",
        "LB",
        "LC",
        "LI",
        "LK",
        "LR",
        "LS",
        "LT",
        "LU",
        "LV",
        "LY",
        "MA",
        "MC",
        "MD",
        "ME",
        "MF",
        "MG",
        "MH",
        "MK",
        "ML",
        "MM",
        "MN",
        "MO",
        "MP",
        "MQ",
        "MR",
        "MS",
        "MT",
        "MU",
        "MV",
        "MW",
        "MX",
        "MY",
        "MZ",
        "NA",
        "NC",
        "NE",
        "NF",
        "NG",
        "NI",
        "NL",
        "NO",
        "NP",
        "NR",
        "NU",
        "NZ",
        "OM",
        "PA",
        "PE",
        "PF",
        "PG",
        "PH",
        "PK",
        "PL",
        "PM",
        "PN",
        "PR",
        "PS",
        "PT",
        "PW",
        "PY",
        "QA",
        "RE",
        "RO",
        "RS",
        "RU",
        "RW",
        "SA",
        "SB",
        "SC",
        "SD",
        "SE",
        "SG",
        "SH",
        "SI",
        "SJ",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SR",
        "SS",
        "ST",
        "SV",
        "SX",
        "SY",
        "SZ",
        "TC",
        "TD",
        "TF",
        "TG",
        "TH",
        "TJ",
        "TK",
        "TL",
        "TM",
        "TN",
        "TO",
        "TR",
        "TT",
        "TV",
        "TW",
        "TZ",
        "UA",
        "UG",
        "UM",
        "US",
        "UY",
        "UZ",
        "VA",
        "VC",
        "VE",
        "VG",
        "VI",
        "VN",
        "VU",
        "WF",
        "WS",
        "YE",
        "YT",
        "ZA",
        "ZM",
        "ZW",
        "XK",
    ]
)


def _compact(s: str) -> str:
    # Merchants paste IBANs from PDFs and RIBs: spaces, non-breaking spaces, tabs, lowercase.
    return "".join(s.split()).upper()


def _mod97(s: str) -> int:
    """ISO 7064 MOD 97-10 over an alphanumeric string, letters as A=10 … Z=35."""
    # int(c, 36) maps 0-9 to themselves and A-Z to 10-35, exactly the IBAN substitution;
    # Python integers are exact, so the whole number is reduced at once.
    return int("".join(str(int(c, 36)) for c in s)) % 97


def _check_digits(payload: str) -> str:
    return f"{98 - _mod97(payload + '00'):02d}"


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits that make ``country + digits + bban`` a valid IBAN."""
    return _check_digits(bban.upper() + country.upper())


def format_iban(iban: str) -> str:
    """Groups of four for display: ``FR76 3000 6000 0112 3456 7890 189``."""
    compact = _compact(iban)
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def normalize_iban(s: str, *, sepa_only: bool = False) -> str:
    """The compact IBAN if ``s`` is a valid one, else ``BankDetailsError`` on ``iban``.

    ``sepa_only`` also requires a country the SEPA schemes reach: what a SEPA file needs.
    """
    iban = _compact(s)
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
    if not _BBAN_PATTERNS[country].fullmatch(iban[4:]):
        layout = ", ".join(
            f"{n} {_BBAN_WORDS[k]}" for n, k in _bban_parts(IBAN_BBAN_FORMATS[country])
        )
        raise BankDetailsError(
            "iban",
            f"IBAN {shown} does not follow the layout of {country} accounts after its first "
            f"four characters ({layout}); a letter may have been typed for a digit.",
        )
    if _mod97(iban[4:] + iban[:4]) != 1:
        raise BankDetailsError(
            "iban",
            f"IBAN {shown} fails its check digits (mod 97): a character is mistyped or two "
            "are swapped; copy it again from your bank's RIB.",
        )
    if sepa_only and country not in SEPA_IBAN_COUNTRIES:
        raise BankDetailsError(
            "iban",
            f"IBAN {shown} is from {country}, outside the SEPA area: the network can only "
            "pay and collect by SEPA transfer and direct debit.",
        )
    return iban


_BIC = re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?")


def normalize_bic(s: str, iban_country: str | None = None) -> str:
    """The BIC (8 or 11 characters, uppercase) if well formed, else ``BankDetailsError``.

    With ``iban_country`` (the BIC goes with an IBAN in a SEPA file), the bank's country must
    be one the SEPA schemes reach. A BIC from another country than the IBAN is not refused:
    territories (Réunion, Jersey…) and some cross-border banks legitimately differ.
    """
    bic = _compact(s)
    if len(bic) not in (8, 11):
        raise BankDetailsError(
            "bic", f"BIC {bic or '(empty)'} has {len(bic)} characters; a BIC has 8 or 11."
        )
    if not _BIC.fullmatch(bic):
        raise BankDetailsError(
            "bic",
            f"BIC {bic} is not well formed: 4 letters for the bank, 2 for the country, then "
            "2 letters or digits for the city and optionally 3 for the branch.",
        )
    country = bic[4:6]
    if country not in ISO_COUNTRIES:
        raise BankDetailsError(
            "bic", f"BIC {bic}: {country!r} (5th and 6th characters) is not a country code."
        )
    if iban_country is not None and country not in SEPA_BIC_COUNTRIES:
        raise BankDetailsError(
            "bic",
            f"BIC {bic} is a bank in {country}, outside the SEPA area; give the BIC of the "
            "bank that holds your IBAN.",
        )
    return bic


def creditor_id_check_digits(country: str, national_id: str) -> str:
    """Check digits of a SEPA Creditor Identifier (EPC262-08).

    As for an IBAN, but over the national identifier only: the creditor business code
    (``ZZZ`` by default) is left out, so a creditor may change it without new digits.
    """
    return _check_digits(_compact(national_id) + country.upper())


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
    cid = _compact(s)
    m = re.fullmatch(r"([A-Z]{2})([0-9]{2})([A-Z0-9]{3})([A-Z0-9]{1,28})", cid)
    if m is None:
        raise BankDetailsError(
            "creditor_id",
            f"Creditor identifier {cid or '(empty)'} is not well formed: 2-letter country, 2 "
            "check digits, a 3-character business code (often ZZZ), then the national "
            "identifier, 35 characters at most (e.g. FR72ZZZ123456).",
        )
    country, digits, _business, national = m.groups()
    if country not in SEPA_IBAN_COUNTRIES:
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
    code = _compact(country)
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
    return _compact(iban)[:2] in NON_EEA_SEPA_COUNTRIES


def check_address(iban: str, address: Address | None) -> None:
    """``BankDetailsError`` on ``address`` if ``iban`` requires one and there is none."""
    if address is None and address_required(iban):
        country = _compact(iban)[:2]
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
