"""Pure aggregation of visits into the counters of the customer file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

K = TypeVar("K")


@dataclass(slots=True)
class Tally:
    visits: int
    spent_cents: int
    first_at: datetime
    last_at: datetime

    def add(self, cents: int, at: datetime) -> None:
        self.visits += 1
        self.spent_cents += cents
        self.first_at = min(self.first_at, at)
        self.last_at = max(self.last_at, at)


def tally(visits: list[tuple[K, int, datetime]]) -> dict[K, Tally]:
    """Sum (key, amount, time) visits per key: one upsert per customer per batch."""
    out: dict[K, Tally] = {}
    for key, cents, at in visits:
        t = out.get(key)
        if t is None:
            out[key] = Tally(1, cents, at, at)
        else:
            t.add(cents, at)
    return out
