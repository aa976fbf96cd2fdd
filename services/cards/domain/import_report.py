"""The rules of a customer file imported at start-up (F5), around its reading
(``services.cards.domain.customer_import``): the bytes must be UTF-8 text, and the report gives every
rejected line, whether refused at reading or at writing, in the file's order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.cards.domain.base import Refused
from services.cards.domain.customer_import import Customer, Report

MAX_RAW = 1000  # characters of a rejected line shown in the report


@dataclass(frozen=True, slots=True)
class RejectedLine:
    line: int  # the header is line 1
    raw: str
    reasons: list[str]


def decode(raw: bytes) -> str:
    """The file as text: UTF-8, and no NUL (not a spreadsheet's binary export)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(
            422,
            "File not in UTF-8",
            f"byte {exc.start} is not UTF-8: export the file as CSV UTF-8",
        ) from exc
    if "\x00" in text:
        raise Refused(422, "Not a text file", "the file contains NUL characters")
    return text


def rejected_lines(report: Report, refused: Iterable[tuple[Customer, str]]) -> list[RejectedLine]:
    """The lines the reading rejected and those the writing refused (a card number another
    account holds...), by line number, each shown cut to ``MAX_RAW`` characters."""
    lines = [RejectedLine(r.line, r.raw[:MAX_RAW], list(r.reasons)) for r in report.rejected]
    lines += [RejectedLine(c.line, c.raw[:MAX_RAW], [reason]) for c, reason in refused]
    lines.sort(key=lambda r: r.line)
    return lines
