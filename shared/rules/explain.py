"""What a dry run answers besides the number: the rules looked at, in order, and the refusals.

Each step and refusal carries, besides its English ``detail``, its wording ``key`` and the
structured ``args`` it was said with, so ``shared.rules.wording`` can say it in French or
English from the same data."""

from __future__ import annotations

from dataclasses import dataclass

Args = tuple[tuple[str, str | int], ...]


@dataclass(frozen=True, slots=True)
class Step:
    """One rule looked at for a sale.

    ``applied`` says whether it changed the outcome; ``rate`` is the earn rate after it
    (see ``shared.rules.engine`` for its unit per program kind); ``detail`` says why, for people.
    ``wording``: the key of its words in ``shared.rules.wording.STEPS`` when not its rule.
    """

    rule: str
    applied: bool
    detail: str
    rate: int
    args: Args = ()
    wording: str = ""

    @property
    def key(self) -> str:
        return self.wording or self.rule


@dataclass(frozen=True, slots=True)
class Refusal:
    """A reward refused in whole or in part, with a stable ``code`` and the reason."""

    code: str
    detail: str
    args: Args = ()
    wording: str = ""

    @property
    def key(self) -> str:
        return self.wording or self.code
