"""Loyalty programs (F6): what a sale earns, on which families, when, and their life cycle.

- ``cagnotte``: euros, at the taux client of the calculation mode (``shared.rules.catalogue``);
- ``points``: ``points_per_euro`` points per euro spent (pro rata, half up per sale), converted
  to a reward of ``reward_cents`` for every ``units_per_reward`` points;
- ``stamps``: one stamp per item bought (the sale's quantity), ``units_per_reward`` stamps give
  a reward of ``reward_cents``.

Scope is the whole catalogue (``families=None``) or a set of product family codes. A program is valid
from ``valid_from`` (inclusive) to ``valid_until`` (exclusive), either open-ended. Status moves
active ⇄ suspended, and either → deleted, which is final; any other move is refused with
``ProgramTransitionRefused``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class ProgramKind(StrEnum):
    CAGNOTTE = "cagnotte"
    POINTS = "points"
    STAMPS = "stamps"


class ProgramStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class ProgramTransitionRefused(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Conversion:
    """Units (points or stamps) turned into rewards; the units left stay on the card."""

    rewards: int
    reward_cents: int
    units_left: int


@dataclass(frozen=True, slots=True)
class Program:
    program_id: str
    kind: ProgramKind = ProgramKind.CAGNOTTE
    families: frozenset[str] | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    status: ProgramStatus = ProgramStatus.ACTIVE
    points_per_euro: int = 0
    units_per_reward: int = 0
    reward_cents: int = 0

    def __post_init__(self) -> None:
        for bound in (self.valid_from, self.valid_until):
            if bound is not None and bound.utcoffset() is None:
                raise ValueError(
                    f"program {self.program_id}: validity dates must be time-zone aware"
                )
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError(f"program {self.program_id}: valid_until must be after valid_from")
        if self.kind is ProgramKind.CAGNOTTE:
            return
        if self.units_per_reward <= 0 or self.reward_cents <= 0:
            raise ValueError(
                f"program {self.program_id}: a {self.kind} program needs units_per_reward > 0 "
                "and reward_cents > 0"
            )
        if self.kind is ProgramKind.POINTS and self.points_per_euro <= 0:
            raise ValueError(f"program {self.program_id}: points_per_euro must be > 0")

    def covers(self, product_family: str | None) -> bool:
        return self.families is None or (
            product_family is not None and product_family in self.families
        )

    def validity_refusal(self, at: datetime) -> str | None:
        """``None`` when the program is valid at ``at``, else the refusal code."""
        if self.valid_from is not None and at < self.valid_from:
            return "program_not_started"
        if self.valid_until is not None and at >= self.valid_until:
            return "program_ended"
        return None

    def convert(self, units: int) -> Conversion:
        """Turn a balance of points or stamps into whole rewards (the rest is kept)."""
        if self.kind is ProgramKind.CAGNOTTE:
            raise ValueError("a cagnotte program earns euros, there is nothing to convert")
        if units < 0:
            raise ValueError("a balance of units is never negative")
        rewards, left = divmod(units, self.units_per_reward)
        return Conversion(rewards, rewards * self.reward_cents, left)


def suspend(program: Program) -> Program:
    if program.status is not ProgramStatus.ACTIVE:
        raise ProgramTransitionRefused(
            f"program {program.program_id} is {program.status}: only an active program can be suspended"
        )
    return replace(program, status=ProgramStatus.SUSPENDED)


def resume(program: Program) -> Program:
    if program.status is not ProgramStatus.SUSPENDED:
        raise ProgramTransitionRefused(
            f"program {program.program_id} is {program.status}: only a suspended program can be resumed"
        )
    return replace(program, status=ProgramStatus.ACTIVE)


def delete(program: Program) -> Program:
    if program.status is ProgramStatus.DELETED:
        raise ProgramTransitionRefused(f"program {program.program_id} is already deleted")
    return replace(program, status=ProgramStatus.DELETED)
