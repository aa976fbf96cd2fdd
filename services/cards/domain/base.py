"""What the cards service's domain modules share: a refused command, and the shape of a row.

A rule that refuses raises ``Refused`` with what the client is told (status, title, detail, a
stable ``reason``); the use case turns it into the HTTP problem. The domain reads the rows the
adapters found through ``Row``: anything indexed by column name (a database record, a dict).
"""

from __future__ import annotations

from typing import Any, Protocol


class Row(Protocol):
    def __getitem__(self, key: str) -> Any: ...


class Refused(Exception):
    """A command the rules refuse. ``reason`` None: the problem derives it from the title."""

    def __init__(
        self, status: int, title: str, detail: str, reason: str | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.reason = reason
        self.extra = extra
