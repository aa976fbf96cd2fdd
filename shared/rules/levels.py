"""Customer status levels (issue 14, item 2): "Privilège" from 500 € spent or 12 visits over
the last 12 months, with its own rate (an override) or a multiplier.

A level is defined per association (every merchant) or per merchant (its sales only). The
cards service reviews each account's level once a day from its booked history
(``services.cards.domain.levels``); while an account holds a level, its sales earn through
the rules engine as with a personal promotion (``shared.rules.promotions``) of reason
``level``: combined after the catalogue's promotions, within the 100 % and the legal caps,
its step named ``level.<code>`` so that a statement says why the rate was higher.

The offline terminal holds the levels and the cards whose account holds one in its parameters
(``shared.rules.params``), so it computes the reward the server computes online; the server
checks a chip card's sale against the parameters that terminal held (a level granted after its
last download does not make an honest sale suspect).

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.rules.promotions import Effect, Promotion

# A level held applies from the moment it was granted (online) or, on a terminal, from the
# parameters' download on: its promotion is live over all time a sale can carry.
ALWAYS = datetime(2000, 1, 1, tzinfo=UTC)
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"


@dataclass(frozen=True, slots=True)
class Level:
    """A level as the rules engine applies it: its code names the steps (``level.<code>``)."""

    level_id: str
    code: str
    name: str
    effect: Effect
    merchant_id: str | None = None  # None: at every merchant of the association

    def promotion(self, since: datetime = ALWAYS) -> Promotion:
        """The account's personal promotion while it holds this level (from ``since``)."""
        return Promotion(
            promotion_id=f"level-{self.level_id}",
            starts_at=since,
            ends_at=FOREVER,
            effect=self.effect,
            merchant_id=self.merchant_id,
            reason="level",
            label=self.code,
        )
