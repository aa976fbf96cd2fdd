"""The GDPR access answer as CSV, pure: everything held about a person is a tree (service →
section → records → fields); the CSV has one line per value, so nothing is left out whatever
the shape each service answered in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

HEADER = ("service", "section", "record", "field", "value")


def lines(answer: dict[str, Any]) -> Iterator[tuple[str, str, int, str, Any]]:
    for service, held in answer.items():
        if not isinstance(held, dict):
            continue  # the account id
        for section, value in held.items():
            records = value if isinstance(value, list) else [value]
            for i, record in enumerate(records):
                yield from _fields(service, section, i, "", record)


def _fields(
    service: str, section: str, i: int, prefix: str, value: Any
) -> Iterator[tuple[str, str, int, str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _fields(service, section, i, f"{prefix}{k}.", v)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for j, v in enumerate(value):
            yield from _fields(service, section, i, f"{prefix}{j}.", v)
    else:
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        elif isinstance(value, bool):  # a choice of the person's (no receipts): said in words
            value = "yes" if value else "no"
        yield (service, section, i, prefix.rstrip(".") or section, "" if value is None else value)
