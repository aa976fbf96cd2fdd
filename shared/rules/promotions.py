"""Promotions (F7): a merchant's own or network-wide, for a period, per family, as a rate
override or a multiplier.

A promotion is live from ``starts_at`` (inclusive) to ``ends_at`` (exclusive). It applies to a
sale when it is live at the sale's time, is the network's (``merchant_id=None``) or the sale's
merchant's, and covers the sale's family (``families=None`` = every family).

Combining several live promotions, always the same way whatever their order of creation:

1. **Overrides**: the highest override rate is taken, and only if it is above the base rate (a
   promotion never lowers what a customer earns); ties go to the smaller ``promotion_id``.
   Every other override is reported as skipped. An override sets a taux client, so it applies
   to cagnotte programs only.
2. **Multipliers**: all of them, multiplied together (``x2`` and ``x3/2`` make ``x3``), applied
   once to the rate in bp from step 1, rounded half up to the whole bp before the reward is
   rounded to the cent (``shared.rules.money.apply_rate``). Integers only.

A **personal** promotion (``reason`` set: one account's, e.g. crm's birthday offer of a double
rate for N days) is not compiled into a rule book: the caller gives it with the sale of that
account (``RuleBook.evaluate(sale, personal)``). It combines with the others by the same rule,
after them, and its steps are named by its reason (``promotion.birthday``), so a statement's
rate column says why the rate was doubled. A customer's status level (``shared.rules.levels``)
is one too, of reason ``level``, its steps named by the level's code (``level.privilege``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared.rules.catalogue import check_rate
from shared.rules.explain import Step
from shared.rules.programs import ProgramKind

# The reasons of a personal promotion; each names the steps it applies (``promotion.<reason>``).
PERSONAL_REASONS = frozenset({"birthday", "level"})


@dataclass(frozen=True, slots=True)
class RateOverride:
    taux_client_bps: int

    def __post_init__(self) -> None:
        check_rate(self.taux_client_bps, "override")


@dataclass(frozen=True, slots=True)
class Multiplier:
    """``numerator / denominator``: double points is ``Multiplier(2)``, +50 % is ``Multiplier(3, 2)``."""

    numerator: int
    denominator: int = 1

    def __post_init__(self) -> None:
        if self.numerator < 0 or self.denominator <= 0:
            raise ValueError("a multiplier is a non-negative numerator over a positive denominator")

    def __str__(self) -> str:
        return (
            f"x{self.numerator}"
            if self.denominator == 1
            else f"x{self.numerator}/{self.denominator}"
        )


Effect = RateOverride | Multiplier


@dataclass(frozen=True, slots=True)
class Promotion:
    promotion_id: str
    starts_at: datetime
    ends_at: datetime
    effect: Effect
    merchant_id: str | None = None
    families: frozenset[str] | None = None
    reason: str | None = None  # a personal promotion's (PERSONAL_REASONS); None: the catalogue's
    label: str | None = None  # a status level's code (reason ``level``): its steps' name

    def __post_init__(self) -> None:
        if self.starts_at.utcoffset() is None or self.ends_at.utcoffset() is None:
            raise ValueError(f"promotion {self.promotion_id}: dates must be time-zone aware")
        if self.ends_at <= self.starts_at:
            raise ValueError(f"promotion {self.promotion_id}: ends_at must be after starts_at")
        if self.reason is not None and self.reason not in PERSONAL_REASONS:
            raise ValueError(f"promotion {self.promotion_id}: no personal reason {self.reason}")
        if (self.reason == "level") != (self.label is not None):
            raise ValueError(f"promotion {self.promotion_id}: a level, and only one, has a label")

    @property
    def owner(self) -> str:
        if self.reason == "level":
            return f"the customer's status {self.label}"
        if self.reason is not None:
            return f"the customer's {self.reason} offer"
        return "network" if self.merchant_id is None else f"merchant {self.merchant_id}"

    @property
    def owner_args(self) -> tuple[tuple[str, str | int], ...]:
        """Who the promotion is of, for ``shared.rules.wording`` (its ``owner`` in words)."""
        if self.reason == "level":
            return (("owner", "level"), ("label", str(self.label)))
        if self.reason is not None:
            return (("owner", self.reason),)
        if self.merchant_id is None:
            return (("owner", "network"),)
        return (("owner", "merchant"), ("merchant", self.merchant_id))

    def rule(self, effect: str) -> str:
        """The name of the step this promotion applies: ``promotion.override`` or
        ``promotion.multiplier``, or for a personal one ``promotion.<reason>`` (a status level:
        ``level.<code>``)."""
        if self.reason == "level":
            return f"level.{self.label}"
        return f"promotion.{self.reason}" if self.reason is not None else f"promotion.{effect}"

    def is_live(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    def applies_to(self, merchant_id: str, product_family: str | None) -> bool:
        if self.merchant_id is not None and self.merchant_id != merchant_id:
            return False
        return self.families is None or (
            product_family is not None and product_family in self.families
        )


def multiply_rate(rate_bps: int, numerator: int, denominator: int) -> int:
    """``rate × numerator / denominator`` rounded half up to the whole bp."""
    return (rate_bps * numerator * 2 + denominator) // (2 * denominator)


@dataclass(frozen=True, slots=True)
class Scheduled:
    promotion: Promotion
    period: str  # formatted once: a dry run shows it, the hot path should not format dates

    @classmethod
    def of(cls, p: Promotion) -> Scheduled:
        return cls(p, f"{p.starts_at.isoformat()} to {p.ends_at.isoformat()} (excluded)")


def combine(
    rate: int, promos: Iterable[Scheduled], at: datetime, kind: ProgramKind, steps: list[Step]
) -> int:
    """The rate after the promotions live at ``at`` (the combining rule above), each looked at
    appended to ``steps``. ``promos`` in order: the rule book's by id, then the personal ones."""
    live: list[Promotion] = []
    for compiled in promos:
        p = compiled.promotion
        if p.starts_at <= at < p.ends_at:
            live.append(p)
        else:
            steps.append(
                Step(
                    "promotion.period",
                    False,
                    f"promotion {p.promotion_id} ({p.owner}) is not live: {compiled.period}",
                    rate,
                    (
                        ("promotion", p.promotion_id),
                        *p.owner_args,
                        ("starts", p.starts_at.isoformat()),
                        ("ends", p.ends_at.isoformat()),
                    ),
                )
            )
    if not live:
        return rate
    best: Promotion | None = None
    best_bps = rate
    for p in live:
        # In order, so a strict > keeps the first (the smaller id) on a tie.
        if (
            kind is ProgramKind.CAGNOTTE
            and isinstance(p.effect, RateOverride)
            and p.effect.taux_client_bps > best_bps
        ):
            best, best_bps = p, p.effect.taux_client_bps
    for p in live:
        effect = p.effect
        if not isinstance(effect, RateOverride):
            continue
        if p is best:
            steps.append(
                Step(
                    p.rule("override"),
                    True,
                    f"promotion {p.promotion_id} ({p.owner}): taux client {rate} → {best_bps} bp",
                    best_bps,
                    (
                        ("promotion", p.promotion_id),
                        *p.owner_args,
                        ("before", rate),
                        ("after", best_bps),
                    ),
                    "promotion.override",
                )
            )
        elif kind is not ProgramKind.CAGNOTTE:
            why = f"an override sets a taux client, not {kind}"
            args: tuple[tuple[str, str | int], ...] = (
                ("promotion", p.promotion_id),
                ("kind", str(kind)),
            )
            steps.append(
                Step(
                    p.rule("override"),
                    False,
                    f"promotion {p.promotion_id}: {why}",
                    rate,
                    args,
                    "promotion.override.not_cagnotte",
                )
            )
        else:
            offered = effect.taux_client_bps
            if offered <= rate:
                why = f"{offered} bp is not above the base {rate} bp"
                key, args = "promotion.override.not_above", (("base", rate),)
            else:
                why = f"{offered} bp is below the better override {best_bps} bp"
                key, args = "promotion.override.below_best", (("best", best_bps),)
            args = (("promotion", p.promotion_id), ("offered", offered), *args)
            steps.append(
                Step(
                    p.rule("override"), False, f"promotion {p.promotion_id}: {why}", rate, args, key
                )
            )
    rate = base = best_bps
    num, den = 1, 1
    for p in live:
        effect = p.effect
        if isinstance(effect, Multiplier):
            num *= effect.numerator
            den *= effect.denominator
            rate = multiply_rate(base, num, den)
            steps.append(
                Step(
                    p.rule("multiplier"),
                    True,
                    f"promotion {p.promotion_id} ({p.owner}): {effect}, {base} → {rate}",
                    rate,
                    (
                        ("promotion", p.promotion_id),
                        *p.owner_args,
                        ("factor", str(effect)),
                        ("before", base),
                        ("after", rate),
                    ),
                    "promotion.multiplier",
                )
            )
    return rate
