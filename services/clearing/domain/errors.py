"""What the books' rules refuse, as a value the service layer turns into a problem answer
(status, title, the sentence for the reader, a stable ``reason``): the rules stay free of HTTP."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(f"{title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra
