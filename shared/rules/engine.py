"""Evaluate a sale against the rules of a network: the reward, the fee, and why.

A ``RuleBook`` is compiled once from the configuration (network rates, merchants and their
families, the program, the promotions): per (merchant, family) it keeps the base rate, the
fee rate, the scope and legal verdicts and the promotions that could apply, so evaluating a
sale is two dict lookups and a short loop over those promotions.

Order of application (docs/rules.md):

1. merchant: unknown → refused (``unknown_merchant``); the fee (taux UC) is computed as today,
   ``apply_rate(amount, merchant's taux UC or the network's)``, whatever the reward;
2. family: one missing from the merchant's catalogue earns as a sale without family (the
   merchant's rate, no flags), and the step says so;
3. program: status (``program_suspended``, ``program_deleted``), validity period
   (``program_not_started``, ``program_ended``), scope (``out_of_scope``);
4. law: tobacco, gambling → nothing (``legal_tobacco``, ``legal_gambling``);
5. base earn rate: the calculation mode (cagnotte), ``points_per_euro`` (points), one stamp per
   item (stamps);
6. promotions: best override, then the product of multipliers (``shared.rules.promotions``);
7. a taux client never above 100 %;
8. law: books capped at 5 % (``legal_book_cap``, the capped amount in the reason);
9. rounding half up to the cent (or the point), per sale.

The earn ``rate`` of each step is, per program kind: the taux client in bp (cagnotte); points
per 10 000 cents, i.e. ``points = apply_rate(amount, rate)`` and 1 point per euro is 100
(points); the stamps earned (stamps).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared.rules import legal
from shared.rules.catalogue import (
    Merchant,
    NetworkRates,
    ProductFamily,
    taux_client_for,
    taux_uc_for,
)
from shared.rules.explain import Args, Refusal, Step
from shared.rules.money import MAX_RATE_BPS, apply_rate, format_eur
from shared.rules.programs import Program, ProgramKind, ProgramStatus
from shared.rules.promotions import PERSONAL_REASONS, Promotion, Scheduled, combine
from shared.rules.rates import Reward


@dataclass(frozen=True, slots=True)
class Sale:
    merchant_id: str
    product_family: str | None
    amount_cents: int
    at: datetime
    quantity: int = 1


# The rules that set a taux client, from the base rate to the caps (docs/rules.md's order).
RATE_SOURCES = frozenset(
    {
        "rate.family",
        "rate.merchant",
        "rate.network",
        "promotion.override",
        "promotion.multiplier",
        "rate.max",
        "legal.book_cap",
    }
    # a personal promotion (promotions.py); a level's is named by its code (LEVEL_SOURCE)
    | {f"promotion.{r}" for r in PERSONAL_REASONS if r != "level"}
)
# A customer's status level sets it too, named by its code (``level.privilege``).
LEVEL_SOURCE = "level."


def _within_book_cap(rate: int) -> Step:
    return Step(
        "legal.book_cap", False, "within the 5 % cap on books", rate, (), "legal.book_cap.within"
    )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What a sale earns: euros (cagnotte), points or stamps, the fee, and the rules behind it."""

    kind: ProgramKind
    reward_cents: int
    points: int
    stamps: int
    fee_cents: int
    taux_client_bps: int
    taux_uc_bps: int
    steps: tuple[Step, ...]
    refusals: tuple[Refusal, ...]

    @property
    def refused(self) -> bool:
        """Nothing earned, for a reason in ``refusals``."""
        return bool(self.refusals) and not (self.reward_cents or self.points or self.stamps)

    @property
    def rate_source(self) -> str | None:
        """The rule whose taux client the sale earned at: the rule of the last applied step
        that set it (``RATE_SOURCES``), or None when nothing was earned at a rate (a refusal,
        points or stamps). What a statement's detail line says of its rate."""
        if self.kind is not ProgramKind.CAGNOTTE or self.refused:
            return None
        for step in reversed(self.steps):
            if step.applied and (step.rule in RATE_SOURCES or step.rule.startswith(LEVEL_SOURCE)):
                return step.rule
        return None

    def as_reward(self) -> Reward:
        """The shape ``shared.rules.rates.reward_for`` returns, for the server's cards service."""
        return Reward(self.reward_cents, self.fee_cents, self.taux_client_bps, self.taux_uc_bps)


@dataclass(frozen=True, slots=True)
class _Slot:
    """Everything about a (merchant, family) that does not depend on the sale."""

    family: ProductFamily | None
    base_rate: int
    base_step: Step
    uc_bps: int
    refusal: Refusal | None  # scope or law: the sale earns nothing whatever its amount
    refusal_step: Step | None
    book: bool
    promotions: tuple[Scheduled, ...]


class RuleBook:
    """The compiled rules of one network and program. Immutable once built."""

    __slots__ = (
        "_network",
        "_program",
        "_program_refusal",
        "_slots",
        "_validity",
        "_validity_args",
    )

    def __init__(
        self,
        network: NetworkRates,
        merchants: Iterable[Merchant],
        program: Program,
        promotions: Iterable[Promotion] = (),
    ) -> None:
        self._network = network
        self._program = program
        promos = sorted(promotions, key=lambda p: p.promotion_id)
        ids = [p.promotion_id for p in promos]
        if len(set(ids)) != len(ids):
            raise ValueError("promotion ids must be unique")
        compiled = [Scheduled.of(p) for p in promos]
        self._program_refusal: Refusal | None = None
        if program.status is not ProgramStatus.ACTIVE:
            self._program_refusal = Refusal(
                f"program_{program.status}",
                f"program {program.program_id} is {program.status}",
                (("program", program.program_id),),
            )
        self._validity = (
            f"program {program.program_id} is valid from "
            f"{program.valid_from.isoformat() if program.valid_from else 'always'} to "
            f"{program.valid_until.isoformat() + ' (excluded)' if program.valid_until else 'no end'}"
        )
        self._validity_args: Args = (
            ("program", program.program_id),
            ("valid_from", program.valid_from.isoformat() if program.valid_from else ""),
            ("valid_until", program.valid_until.isoformat() if program.valid_until else ""),
        )
        self._slots: dict[str, dict[str | None, _Slot]] = {}
        for merchant in merchants:
            if merchant.merchant_id in self._slots:
                raise ValueError(f"merchant {merchant.merchant_id} is given twice")
            per_family: dict[str | None, _Slot] = {None: self._slot(merchant, None, compiled)}
            for code, family in merchant.families.items():
                per_family[code] = self._slot(merchant, family, compiled)
            self._slots[merchant.merchant_id] = per_family

    def _slot(
        self, merchant: Merchant, family: ProductFamily | None, promos: list[Scheduled]
    ) -> _Slot:
        program, code = self._program, family.code if family else None
        if program.kind is ProgramKind.CAGNOTTE:
            rate, rule = taux_client_for(self._network, merchant, family)
            whose = {
                "rate.family": f"family {code} of merchant {merchant.merchant_id}",
                "rate.merchant": f"merchant {merchant.merchant_id}",
                "rate.network": "the network",
            }[rule]
            args: Args = (("rate", rate),)
            if rule == "rate.family":
                args += (("family", str(code)),)
            if rule != "rate.network":
                args += (("merchant", merchant.merchant_id),)
            base_step = Step(
                rule,
                True,
                f"taux client {rate} bp of {whose} (mode {self._network.mode})",
                rate,
                (*args, ("mode", str(self._network.mode))),
            )
        elif program.kind is ProgramKind.POINTS:
            rate = program.points_per_euro * 100
            base_step = Step(
                "points.rate",
                True,
                f"{program.points_per_euro} points per euro",
                rate,
                (("points_per_euro", program.points_per_euro),),
            )
        else:
            rate = 0  # stamps: the sale's quantity, known per sale
            base_step = Step("stamps.rate", True, "one stamp per item bought", rate)
        refusal: Refusal | None = None
        if not program.covers(code):
            families = ", ".join(sorted(program.families or ()))
            refusal = Refusal(
                "out_of_scope",
                f"family {code} is outside program {program.program_id}'s scope ({families})",
                (("family", str(code)), ("program", program.program_id), ("families", families)),
            )
            refusal_step = Step("program.scope", True, refusal.detail, 0, refusal.args)
        else:
            forbidden = legal.forbidden(family)
            if forbidden is not None:
                args = (("family", str(code)),)
                refusal = Refusal(*forbidden, args)
                rule = f"legal.{forbidden[0].removeprefix('legal_')}"
                refusal_step = Step(rule, True, forbidden[1], 0, args, wording=rule)
        return _Slot(
            family=family,
            base_rate=rate,
            base_step=base_step,
            uc_bps=taux_uc_for(self._network, merchant),
            refusal=refusal,
            refusal_step=refusal_step if refusal is not None else None,
            book=family is not None and family.book,
            promotions=tuple(
                p for p in promos if p.promotion.applies_to(merchant.merchant_id, code)
            ),
        )

    @property
    def program(self) -> Program:
        return self._program

    def evaluate(self, sale: Sale, personal: Iterable[Promotion] = ()) -> Evaluation:
        """What ``sale`` earns; ``personal``: the promotions of the sale's account (its
        birthday offer, its status level), combined with the rule book's (``shared.rules.promotions``)."""
        amount, at = sale.amount_cents, sale.at
        if amount < 0 or sale.quantity < 0:
            raise ValueError("amounts and quantities are never negative")
        if at.tzinfo is None:
            raise ValueError("a sale's time must be time-zone aware")
        program = self._program
        kind = program.kind
        per_family = self._slots.get(sale.merchant_id)
        if per_family is None:
            unknown = Refusal(
                "unknown_merchant",
                f"merchant {sale.merchant_id} is not in the network",
                (("merchant", sale.merchant_id),),
            )
            return Evaluation(kind, 0, 0, 0, 0, 0, 0, (), (unknown,))
        steps: list[Step] = []
        slot = per_family.get(sale.product_family)
        if slot is None:
            slot = per_family[None]
            steps.append(
                Step(
                    "family.unknown",
                    False,
                    f"family {sale.product_family} is not in merchant {sale.merchant_id}'s catalogue: "
                    "earns as a sale without family (no family rate, no family flag)",
                    slot.base_rate,
                    (("family", str(sale.product_family)), ("merchant", sale.merchant_id)),
                )
            )
        uc = slot.uc_bps
        fee = apply_rate(amount, uc)

        refusal: Refusal | None = self._program_refusal
        if refusal is None:
            code = program.validity_refusal(at)
            if code is not None:
                refusal = Refusal(code, self._validity, self._validity_args)
            else:
                refusal = slot.refusal
                if refusal is not None and slot.refusal_step is not None:
                    steps.append(slot.refusal_step)
        if refusal is not None:
            return Evaluation(kind, 0, 0, 0, fee, 0, uc, tuple(steps), (refusal,))

        steps.append(slot.base_step)
        rate = slot.base_rate if kind is not ProgramKind.STAMPS else sale.quantity
        promos = slot.promotions
        if personal:
            code = slot.family.code if slot.family else None
            promos += tuple(
                Scheduled.of(p) for p in personal if p.applies_to(sale.merchant_id, code)
            )
        if promos:
            rate = combine(rate, promos, at, kind, steps)
        if kind is ProgramKind.CAGNOTTE:
            if rate > MAX_RATE_BPS:
                rate = MAX_RATE_BPS
                steps.append(
                    Step(
                        "rate.max",
                        True,
                        f"a taux client is at most {MAX_RATE_BPS} bp",
                        rate,
                        (("max", MAX_RATE_BPS),),
                    )
                )
            refusals: tuple[Refusal, ...] = ()
            if slot.book:
                if rate > legal.BOOK_CAP_BPS:
                    before, after = apply_rate(amount, rate), apply_rate(amount, legal.BOOK_CAP_BPS)
                    detail = (
                        f"books earn at most {legal.BOOK_CAP_BPS} bp by law: {rate} bp capped, "
                        f"{format_eur(before)} → {format_eur(after)}"
                    )
                    capped_bp: Args = (
                        ("cap", legal.BOOK_CAP_BPS),
                        ("before", rate),
                        ("before_cents", before),
                        ("after_cents", after),
                    )
                    rate = legal.BOOK_CAP_BPS
                    refusals = (Refusal("legal_book_cap", detail, capped_bp),)
                    steps.append(Step("legal.book_cap", True, detail, rate, capped_bp))
                else:
                    steps.append(_within_book_cap(rate))
            reward = apply_rate(amount, rate)
            return Evaluation(kind, reward, 0, 0, fee, rate, uc, tuple(steps), refusals)

        units = apply_rate(amount, rate) if kind is ProgramKind.POINTS else rate
        refusals = ()
        if slot.book:
            cap = legal.book_units_cap(amount, program.units_per_reward, program.reward_cents)
            if units > cap:
                detail = (
                    f"books earn at most 5 % of the price by law: {units} {kind} capped at {cap}"
                )
                capped: Args = (("units", units), ("kind", str(kind)), ("cap", cap))
                units = cap
                refusals = (
                    Refusal("legal_book_cap", detail, capped, wording="legal_book_cap.units"),
                )
                steps.append(
                    Step("legal.book_cap", True, detail, rate, capped, "legal.book_cap.units")
                )
            else:
                steps.append(_within_book_cap(rate))
        if kind is ProgramKind.POINTS:
            return Evaluation(kind, 0, units, 0, fee, 0, uc, tuple(steps), refusals)
        return Evaluation(kind, 0, 0, units, fee, 0, uc, tuple(steps), refusals)


def evaluate(sale: Sale, rules: RuleBook) -> Evaluation:
    return rules.evaluate(sale)
