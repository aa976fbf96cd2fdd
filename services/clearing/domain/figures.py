"""A merchant's statement figures for a period, the association's totals and each shop's rank
(F18; pure: no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Figures:
    """A merchant's statement for one period, the columns merchants know first. Amounts in
    cents; returns are taken off the cagnottages and fees; ``net_cents`` > 0: the merchant
    pays the pivot, < 0: the pivot pays the merchant."""

    purchases_count: int = 0
    purchases_cents: int = 0
    cagnottages_cents: int = 0
    fees_cents: int = 0
    returns_count: int = 0
    returns_cents: int = 0
    redemptions_count: int = 0
    redemptions_cents: int = 0
    stored_value_spent_cents: int = 0
    loads_cents: int = 0
    partner_share_cents: int = 0
    adjustments_cents: int = 0
    net_cents: int = 0

    @property
    def fees_and_cagnottages_cents(self) -> int:
        return self.fees_cents + self.cagnottages_cents

    def computed_net(self) -> int:
        """The net the columns add up to; the journal's (``net_cents``) must equal it."""
        return (
            self.cagnottages_cents
            + self.fees_cents
            - self.redemptions_cents
            - self.stored_value_spent_cents
            + self.loads_cents
            + self.partner_share_cents
            + self.adjustments_cents
        )

    def as_dict(self) -> dict[str, int]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["fees_and_cagnottages_cents"] = self.fees_and_cagnottages_cents
        return out

    @classmethod
    def from_dict(cls, d: dict[str, int]) -> Figures:
        return cls(**{f.name: d[f.name] for f in fields(cls)})


def totals(figures: Sequence[Figures]) -> Figures:
    return Figures(**{f.name: sum(getattr(x, f.name) for x in figures) for f in fields(Figures)})


RANKED = ("purchases_cents", "purchases_count", "cagnottages_cents", "redemptions_cents")


@dataclass(frozen=True, slots=True)
class Rank:
    """A shop among the association's ``of`` shops on one figure: 1 is the highest."""

    rank: int
    of: int
    min: int
    max: int
    average: int  # rounded half up
    average_hundredths: int = 0  # the average in hundredths, rounded half up (1.33 → 133)


def ranking(figures: dict[UUID, Figures]) -> dict[UUID, dict[str, Rank]]:
    """Each shop's rank within its association on the ``RANKED`` figures, with the
    association's min, max and average; equal figures share the better rank."""
    out: dict[UUID, dict[str, Rank]] = {m: {} for m in figures}
    n = len(figures)
    for name in RANKED:
        values = sorted((getattr(f, name) for f in figures.values()), reverse=True)
        if not values:
            continue
        first: dict[int, int] = {}
        for i, v in enumerate(values):
            first.setdefault(v, i + 1)
        average = (2 * sum(values) + n) // (2 * n)
        hundredths = (200 * sum(values) + n) // (2 * n)
        for m, f in figures.items():
            v = getattr(f, name)
            out[m][name] = Rank(first[v], n, values[-1], values[0], average, hundredths)
    return out
