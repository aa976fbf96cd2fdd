"""Request field types shared by the services' HTTP models: one parsing rule per identifier,
with the pure rules of ``shared.rules`` behind it, and pydantic's error message on failure."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, AwareDatetime, Field
from pydantic_core import PydanticCustomError

from shared.rules.codes import InvalidCode, parse_card_number
from shared.rules.email import InvalidEmail
from shared.rules.email import normalise as normalise_email
from shared.rules.phone import InvalidPhone, normalise


def _phone(value: str) -> str:
    try:
        return normalise(value)
    except InvalidPhone as exc:
        raise ValueError(str(exc)) from exc


def _email(value: str) -> str:
    try:
        return normalise_email(value)
    except InvalidEmail as exc:
        raise ValueError(str(exc)) from exc


def _card(value: str) -> str:
    try:
        return parse_card_number(value)
    except InvalidCode as exc:
        raise ValueError(str(exc)) from exc


# Unicode categories refused in a name or a label (issue 11, finding 8): Cc are the C0/C1
# controls (NUL, ESC, CR, LF, tab...), Cf the invisible format characters (RLO U+202E turns
# "gpj.exe" into "exe.jpg" on screen; zero-width spaces make two names look alike), Cs lone
# surrogates PostgreSQL cannot store. Letters with accents, apostrophes and spaces all pass.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def control_character(value: str) -> str | None:
    """The first character of ``value`` a name may not hold, as U+XXXX, or None."""
    for ch in value:
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            return f"U+{ord(ch):04X}"
    return None


def _text(value: str) -> str:
    """Stripped, not empty, no control or format characters: PostgreSQL text cannot hold NUL,
    and a card printer, a statement or a screen should not receive the others."""
    value = value.strip()
    found = control_character(value)
    if found is not None:
        raise ValueError(f"control characters are not allowed (found {found})")
    if not value:
        raise ValueError("empty")
    return value


def as_utc(value: datetime) -> datetime:
    """The instant in UTC: ``10:00+01:00`` and ``09:00Z`` become the same value, so one instant
    is one line whatever offset a terminal wrote it in. An instant Python cannot hold in UTC
    (year 1 at ``+01:00`` is year 0 in UTC) is refused here, at the edge, instead of crashing
    the consumer that would convert it later (issue 11, finding 4)."""
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("this instant is outside the years 1 to 9999 in UTC") from exc


# E.164 once parsed by libphonenumber (shared.rules.phone), a national form read as French:
# "06 12 34 56 78" → "+33612345678"; "+32 470 12 34 56" stays Belgian.
PhoneNumber = Annotated[str, Field(min_length=1, max_length=32), AfterValidator(_phone)]
# An e-mail address by its syntax (shared.rules.email), lower-cased: "G.Buis@Example.FR" →
# "g.buis@example.fr", the one spelling the till, cards and crm look up and write to.
EmailAddress = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_email)]
# A person's title, as the merchant guide (seed 003) has it: Monsieur, Madame, neither. crm's
# file and cards' correction of an account take the same three.
Title = Literal["M", "MME", "MX"]
# 16 digits with a Luhn check digit; spaces and dashes allowed as typed.
CardNumber = Annotated[str, Field(max_length=32), AfterValidator(_card)]
# Narrower: ``Annotated[Text, Field(max_length=70)]``. A default ``= Field(max_length=70)``
# beside Text is not applied: pydantic keeps the 200 of the Annotated metadata, in the
# validation and in the schema.
Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_text)]
Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_text)]
# An aware instant, normalised to UTC (see ``as_utc``).
UtcInstant = Annotated[AwareDatetime, AfterValidator(as_utc)]
# A product family's code, as product_families.code's CHECK: letters, digits, "_", "." and
# "-", so no formula, no space, no control character can travel as a family. A well-formed
# code the merchant's catalogue does not hold earns as a sale without family (docs/rules.md,
# step ``family.unknown``).
PRODUCT_FAMILY_CODE = "[A-Za-z0-9_.-]{1,64}"
ProductFamilyCode = Annotated[str, Field(pattern=f"^{PRODUCT_FAMILY_CODE}$")]


# The codes of the rules a model checks across its fields (``coded_error``): a body that breaks
# only such a rule is answered with that rule's code rather than ``malformed`` (shared/http.py).
CODED_ERRORS: set[str] = set()


def coded_error(code: str, message: str) -> PydanticCustomError:
    """A validation error of a model's own rule, with a stable code: when a body breaks that
    rule and nothing else, the problem's ``code`` and ``reason`` are ``code`` (an enrolment
    with neither phone nor e-mail is ``contact_required``, which a till can show as "ask for a
    mobile or an e-mail"); with other errors it is ``malformed``, as any."""
    CODED_ERRORS.add(code)
    return PydanticCustomError(code, message)


# PostgreSQL text cannot hold U+0000: a request body that has it is refused at the edge
# (shared.http.parse_model) rather than failing at the insert.
_NUL_JSON = b"\\u0000"


def json_has_nul(raw: bytes) -> bool:
    """Whether a JSON body holds the NUL character in a key or a string. The byte test is
    cheap; the walk runs only on the rare body that has the escape."""
    if _NUL_JSON not in raw:
        return False
    try:
        return _has_nul(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return False


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
