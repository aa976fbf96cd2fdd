"""The detail lines behind each exported figure (docs/statistics.md): the columns of each file
and the line of each fact. Pure: the rows come from the adapters, the files from shared/xlsx
and shared/tabular."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from shared import tabular
from shared.xlsx import PARIS, Column

# A file is refused past this many lines (a narrower scope or period answers): XLSX itself
# stops at 1,048,576 rows.
MAX_LINES = 1_000_000


def _id(name: str) -> Column:
    """A column of ids (uuids)."""
    return Column(name, "text", 38)


# When a fact happened, on which Paris day, and what kind of fact it is.
_WHEN = (Column("DATE", "datetime", 17), Column("JOUR", "date", 11), Column("NATURE", "text", 16))
SALES = (
    *_WHEN,
    _id("ID"),
    _id("BOUTIQUE"),
    _id("COMMERCANT"),
    _id("CLIENT"),
    Column("MONTANT", "cents", 12),
    Column("FAMILLE", "text", 14),
    _id("VENTE"),
)
REWARDS = (
    *_WHEN,
    _id("ID"),
    _id("BOUTIQUE"),
    _id("CLIENT"),
    Column("ACCORDE", "cents", 12),
    Column("DEPENSE", "cents", 12),
)
CUSTOMERS = (
    _id("CLIENT"),
    Column("VISITES", "int", 10),
    Column("DEPENSE", "cents", 12),
    Column("PREMIERE VISITE", "date", 15),
    Column("DERNIERE VISITE", "date", 15),
)
INACTIVE = (_id("CLIENT"), Column("DERNIERE VISITE", "date", 15))
ENROLMENTS = (
    Column("DATE", "datetime", 17),
    _id("CLIENT"),
    _id("ASSOCIATION"),
    _id("COMMERCANT"),
)
CONSENTS = (
    _id("CLIENT"),
    Column("CANAL", "text", 8),
    _id("COMMERCANT"),
    Column("CONFIRME LE", "datetime", 17),
)
SPONSORSHIP = (
    *_WHEN,
    _id("FILLEUL"),
    _id("COMPTE"),
    _id("COMMERCANT"),
    Column("STATUT", "text", 12),
    Column("MONTANT", "cents", 12),
)
SPONSORED = (
    _id("CLIENT"),
    _id("PARRAIN"),
    Column("VISITES", "int", 10),
    Column("DEPENSE", "cents", 12),
)
COLUMNS: Mapping[str, Sequence[Column]] = {
    "sales": SALES,
    "rewards": REWARDS,
    "customers": CUSTOMERS,
    "inactive": INACTIVE,
    "enrolments": ENROLMENTS,
    "consents": CONSENTS,
    "sponsorship": SPONSORSHIP,
    "sponsored": SPONSORED,
}
# The kinds of facts each file lists.
SALE_KINDS = ("sale", "anonymous_sale", "return", "cancellation")
REWARD_KINDS = ("sale", "return", "cancellation", "redemption")
# A return or a cancellation takes its amount (and reward) off: negative in the file.
_SIGN = {"sale": 1, "anonymous_sale": 1, "return": -1, "cancellation": -1, "redemption": 1}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def sale_line(r: Mapping[str, Any]) -> list[object]:
    return [
        r["occurred_at"],
        r["day"],
        r["kind"],
        _text(r["id"]),
        _text(r["shop_id"]),
        _text(r["merchant_id"]),
        _text(r["account_id"]),
        _SIGN[r["kind"]] * r["amount_cents"],
        r["product_family"],
        _text(r["sale_id"]),
    ]


def reward_line(r: Mapping[str, Any]) -> list[object]:
    spent = r["kind"] == "redemption"
    return [
        r["occurred_at"],
        r["day"],
        r["kind"],
        _text(r["id"]),
        _text(r["shop_id"]),
        _text(r["account_id"]),
        0 if spent else _SIGN[r["kind"]] * r["reward_cents"],
        r["amount_cents"] if spent else 0,
    ]


def customer_line(r: Mapping[str, Any]) -> list[object]:
    return [
        _text(r["account_id"]),
        r["visits"],
        r["spent_cents"],
        r["first_visit"],
        r["last_visit"],
    ]


def inactive_line(r: Mapping[str, Any]) -> list[object]:
    return [_text(r["account_id"]), r["last_visit"]]


def enrolment_line(r: Mapping[str, Any]) -> list[object]:
    return [
        r["enrolled_at"],
        _text(r["account_id"]),
        _text(r["association_id"]),
        _text(r["merchant_id"]),
    ]


def consent_line(r: Mapping[str, Any]) -> list[object]:
    return [_text(r["account_id"]), r["channel"], _text(r["merchant_id"]), r["confirmed_at"]]


def sponsorship_line(r: Mapping[str, Any]) -> list[object]:
    """A link (its sponsor, the merchant where the newcomer enrolled, how it was made) or a
    reward (the account credited, its funder, granted or capped)."""
    return [
        r["at"],
        r["at"].astimezone(PARIS).date(),
        r["nature"],
        _text(r["newcomer_id"]),
        _text(r["sponsor_id"]),
        _text(r["merchant_id"]),
        r["status"],
        r["amount_cents"],
    ]


def sponsored_line(r: Mapping[str, Any]) -> list[object]:
    return [_text(r["account_id"]), _text(r["sponsor_id"]), r["visits"], r["spent_cents"]]


def csv_cells(row: Sequence[object], columns: Sequence[Column]) -> list[object]:
    """Cells for the one CSV writer, French Excel's dialect: amounts in euros as numbers,
    times in Paris, every text neutralised by the writer."""
    out: list[object] = []
    for value, column in zip(row, columns, strict=True):
        if value is None:
            out.append("")
        elif isinstance(value, datetime):
            out.append(value.astimezone(PARIS).strftime("%d/%m/%Y %H:%M"))
        elif column.kind == "cents" and isinstance(value, int):
            out.append(tabular.euros(value))
        else:
            out.append(value)
    return out
