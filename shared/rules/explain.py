"""What a dry run answers besides the number: the rules looked at, in order, and the refusals."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Step:
    """One rule looked at for a sale.

    ``applied`` says whether it changed the outcome; ``rate`` is the earn rate after it
    (see ``shared.rules.engine`` for its unit per program kind); ``detail`` says why, for people.
    """

    rule: str
    applied: bool
    detail: str
    rate: int


@dataclass(frozen=True, slots=True)
class Refusal:
    """A reward refused in whole or in part, with a stable ``code`` and the reason."""

    code: str
    detail: str
