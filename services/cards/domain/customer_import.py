"""Validation of an existing customer file imported at start-up (F5): pure, so the report of
rejected lines is the same whether the file comes through the API or the command line.

A file is CSV with a header line, comma- or semicolon-separated (French spreadsheets export
with semicolons), in UTF-8 (a BOM is accepted). Columns are recognised by their French or
English names; the phone number is the one required field, because it identifies a cardless
account in its association. Every line is either accepted or rejected with all its reasons
and its line number; nothing is dropped silently. A phone seen twice in the file keeps its
first line and rejects the others, so that a file never creates two accounts for one person.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from shared.fields import control_character
from shared.rules.codes import InvalidCode, parse_card_number
from shared.rules.phone import InvalidPhone, normalise

COLUMNS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "telephone", "téléphone", "tel", "tél", "portable", "mobile"),
    "email": ("email", "e-mail", "mail", "courriel"),
    "title": ("title", "civilite", "civilité"),
    "first_name": ("first_name", "firstname", "prenom", "prénom"),
    "last_name": ("last_name", "lastname", "name", "nom"),
    "birth_date": ("birth_date", "birthdate", "date_naissance", "date de naissance", "naissance"),
    "postal_code": ("postal_code", "zip", "code_postal", "code postal", "cp"),
    "card_number": ("card_number", "card", "carte", "numero_carte", "numéro de carte"),
    "balance": ("balance", "cagnotte", "solde"),
}
_ALIASES = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_POSTAL = re.compile(r"^\d{5}$")
MAX_BALANCE_CENTS = 100_000_00


class ImportFileError(ValueError):
    """The file as a whole cannot be read (no header, no phone column, not text)."""


@dataclass(frozen=True, slots=True)
class Customer:
    line: int
    raw: str  # as read: the report shows it if the import rejects the line (card taken...)
    phone: str
    email: str | None = None
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    postal_code: str | None = None
    card_number: str | None = None
    balance_cents: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    raw: str
    reasons: tuple[str, ...]


@dataclass
class Report:
    accepted: list[Customer] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def _date(raw: str) -> date:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"birth date not understood: {raw!r} (expected DD/MM/YYYY)")


def _cents(raw: str) -> int:
    """Euros as typed in a French or English spreadsheet: ``12,50``, ``12.50``, ``1 234,5``."""
    s = raw.replace("\u00a0", "").replace(" ", "").replace("€", "").replace(",", ".")
    try:
        euros = Decimal(s)
    except InvalidOperation as exc:
        raise ValueError(f"balance not understood: {raw!r}") from exc
    cents = euros * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"balance has more than two decimals: {raw!r}")
    if cents < 0:
        raise ValueError(f"negative balance: {raw!r}")
    if cents > MAX_BALANCE_CENTS:
        raise ValueError(f"balance above {MAX_BALANCE_CENTS // 100} €: {raw!r}")
    return int(cents)


def read(text: str, today: date) -> Report:
    """Validate a whole file; ``today`` bounds birth dates (no I/O here, not even the clock)."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise ImportFileError("the file is empty or has no header line")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(rows)
    names = [_ALIASES.get(h.strip().lower()) for h in header]
    if "phone" not in names:
        raise ImportFileError(
            "no phone column: the header needs one of " + ", ".join(COLUMNS["phone"])
        )
    report = Report(ignored_columns=[h for h, n in zip(header, names, strict=True) if n is None])
    seen: dict[str, int] = {}
    for number, values in enumerate(rows, start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines are not customers
        raw = delimiter.join(values)
        if len(values) != len(header):
            report.rejected.append(
                Rejected(number, raw, (f"{len(values)} fields, the header has {len(header)}",))
            )
            continue
        fields = {n: v.strip() for n, v in zip(names, values, strict=True) if n and v.strip()}
        reasons: list[str] = []
        parsed: dict[str, object] = {}
        try:
            parsed["phone"] = normalise(fields.get("phone", ""))
        except InvalidPhone:
            reasons.append(f"phone missing or invalid: {fields.get('phone', '')!r}")
        if "email" in fields:
            if _EMAIL.match(fields["email"]):
                parsed["email"] = fields["email"].lower()
            else:
                reasons.append(f"invalid e-mail: {fields['email']!r}")
        if "birth_date" in fields:
            try:
                born = _date(fields["birth_date"])
                if not date(1900, 1, 1) <= born <= today:
                    raise ValueError(f"birth date out of range: {fields['birth_date']!r}")
                parsed["birth_date"] = born
            except ValueError as exc:
                reasons.append(str(exc))
        if "postal_code" in fields:
            if _POSTAL.match(fields["postal_code"]):
                parsed["postal_code"] = fields["postal_code"]
            else:
                reasons.append(f"postal code is 5 digits: {fields['postal_code']!r}")
        if "card_number" in fields:
            try:
                parsed["card_number"] = parse_card_number(fields["card_number"])
            except InvalidCode as exc:
                reasons.append(str(exc))
        if "balance" in fields:
            try:
                parsed["balance_cents"] = _cents(fields["balance"])
            except ValueError as exc:
                reasons.append(str(exc))
        for name in ("title", "first_name", "last_name"):
            # The same rule as the API's names (shared/fields.py): no control or format
            # character (RLO, ESC, CR/LF...) reaches a card printer or a statement.
            found = control_character(fields.get(name, ""))
            if found is not None:
                reasons.append(f"{name} holds a control character ({found})")
        phone = parsed.get("phone")
        if isinstance(phone, str) and phone in seen:
            reasons.append(f"same phone as line {seen[phone]}")
        if reasons:
            report.rejected.append(Rejected(number, raw, tuple(reasons)))
            continue
        assert isinstance(phone, str)
        seen[phone] = number
        for name in ("title", "first_name", "last_name"):
            if name in fields:
                parsed[name] = fields[name][:100]
        report.accepted.append(Customer(line=number, raw=raw, **parsed))  # type: ignore[arg-type]
    return report
