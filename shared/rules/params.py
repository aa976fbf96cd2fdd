"""The parameters of one merchant's offline terminals, and their compilation into rule books.

The cards service builds a ``TerminalParameters`` from its rules snapshot
(``services.cards.domain.rulebooks.from_snapshot``) and publishes it as JSON whenever
``rules_version`` moves; the terminal keeps the newest and ``compile``s it. The compiled book
holds this merchant only: a ``RuleBook`` evaluates a sale from its merchant's slots and the
promotions that apply to that merchant, so a one-merchant book gives the reward and the fee
the server's whole-network book gives for a sale at this merchant, to the cent (the property
test in tests/unit/test_terminal_params.py holds the two together).

Pure: no I/O, nothing from ``services``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates, ProductFamily
from shared.rules.engine import RuleBook
from shared.rules.levels import CODE_PATTERN, Level
from shared.rules.programs import Program, ProgramKind, ProgramStatus
from shared.rules.promotions import Effect, Multiplier, Promotion, RateOverride
from shared.rules.visit_threshold import VisitThreshold

Rate = int  # basis points, 0..10 000


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FamilyParams(_Doc):
    code: str
    taux_client_bps: Rate | None = Field(default=None, ge=0, le=10_000)
    tobacco: bool = False
    gambling: bool = False
    book: bool = False


class ProgramParams(_Doc):
    program_id: str
    kind: ProgramKind
    families: list[str] | None = None  # None: the whole catalogue
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    status: ProgramStatus = ProgramStatus.ACTIVE
    points_per_euro: int = 0
    units_per_reward: int = 0
    reward_cents: int = 0


class PromotionParams(_Doc):
    promotion_id: str
    starts_at: datetime
    ends_at: datetime
    # Exactly one effect: a rate override, or a multiplier numerator / denominator.
    taux_client_bps: Rate | None = None
    multiplier_numerator: int | None = None
    multiplier_denominator: int | None = None
    merchant_id: str | None = None  # None: the association's, every merchant
    families: list[str] | None = None


class VisitThresholdParams(_Doc):
    visits_needed: int = Field(default=1, ge=1)
    max_days: int | None = Field(default=None, gt=0)


class NetworkParams(_Doc):
    mode: CalculationMode
    taux_client_bps: Rate
    taux_uc_bps: Rate


class MerchantRates(_Doc):
    """This merchant's rates for a card type: the card type's own at this merchant, else the
    merchant's; ``None`` is the network's."""

    taux_client_bps: Rate | None = None
    taux_uc_bps: Rate | None = None


class CardTypeParams(_Doc):
    card_type_id: UUID
    kind: str
    # None: a gift, prepaid or e-purse card type, which holds money and earns nothing.
    program: ProgramParams | None = None
    network: NetworkParams | None = None
    merchant_rates: MerchantRates = MerchantRates()
    promotions: list[PromotionParams] = Field(default_factory=list)
    visit_threshold: VisitThresholdParams = VisitThresholdParams()
    validity_months: int | None = None


class LevelParams(_Doc):
    """A customer status level applicable at this merchant (``shared.rules.levels``)."""

    level_id: str
    code: str = Field(pattern=CODE_PATTERN)
    name: str
    merchant_id: str | None = None  # None: the association's, every merchant
    # Exactly one effect: a rate override, or a multiplier numerator / denominator.
    taux_client_bps: Rate | None = Field(default=None, ge=0, le=10_000)
    multiplier_numerator: int | None = Field(default=None, ge=0)
    multiplier_denominator: int | None = Field(default=None, gt=0)


class CardLevelParams(_Doc):
    """A card whose account holds a level, at the document's version."""

    card_number: str
    level_id: str


class TerminalParameters(_Doc):
    """What one merchant's offline terminals need, at one ``rules_version``."""

    rules_version: int
    association_id: UUID
    merchant_id: UUID
    # The merchant's catalogue: the same for every card type.
    families: list[FamilyParams] = Field(default_factory=list)
    # Every card type accepted at this merchant, by card_type_id.
    card_types: list[CardTypeParams] = Field(default_factory=list)
    # A card unused for this many days is dormant (F4): treated as lost, refused online and
    # offline alike (``services.cards.domain.card_refusal``). None: no dormancy.
    dormant_after_days: int | None = Field(default=None, gt=0)
    # The status levels applicable here and the cards whose account holds one (issue 14): the
    # terminal gives those cards the level's rate, as the server does online.
    levels: list[LevelParams] = Field(default_factory=list)
    card_levels: list[CardLevelParams] = Field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> TerminalParameters:
        return cls.model_validate(document)


@dataclass(frozen=True, slots=True)
class TerminalRules:
    """A card type's rules at this merchant, as the terminal evaluates them."""

    card_type_id: UUID
    kind: str
    book: RuleBook | None  # None: the card type earns nothing
    visit_threshold: VisitThreshold
    program: Program | None
    validity_months: int | None
    # card number → the promotions of the levels its account holds (the same for every type).
    levels: Mapping[str, tuple[Promotion, ...]] = field(default_factory=dict)

    def personal(self, card_number: str) -> tuple[Promotion, ...]:
        """What ``RuleBook.evaluate`` takes as the card's personal promotions: its levels."""
        return self.levels.get(card_number, ())


def program_of(p: ProgramParams) -> Program:
    return Program(
        program_id=p.program_id,
        kind=p.kind,
        families=frozenset(p.families) if p.families is not None else None,
        valid_from=p.valid_from,
        valid_until=p.valid_until,
        status=p.status,
        points_per_euro=p.points_per_euro,
        units_per_reward=p.units_per_reward,
        reward_cents=p.reward_cents,
    )


def promotion_of(p: PromotionParams) -> Promotion:
    effect: Effect
    if p.taux_client_bps is not None:
        effect = RateOverride(p.taux_client_bps)
    elif p.multiplier_numerator is not None and p.multiplier_denominator is not None:
        effect = Multiplier(p.multiplier_numerator, p.multiplier_denominator)
    else:
        raise ValueError(f"promotion {p.promotion_id} has no effect")
    return Promotion(
        promotion_id=p.promotion_id,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        effect=effect,
        merchant_id=p.merchant_id,
        families=frozenset(p.families) if p.families is not None else None,
    )


def level_of(p: LevelParams) -> Level:
    effect: Effect
    if p.taux_client_bps is not None:
        effect = RateOverride(p.taux_client_bps)
    elif p.multiplier_numerator is not None and p.multiplier_denominator is not None:
        effect = Multiplier(p.multiplier_numerator, p.multiplier_denominator)
    else:
        raise ValueError(f"level {p.level_id} has no effect")
    return Level(p.level_id, p.code, p.name, effect, p.merchant_id)


def card_levels(params: TerminalParameters) -> dict[str, tuple[Promotion, ...]]:
    """Each listed card's level promotions; a card naming a level not in the document, none."""
    levels = {p.level_id: level_of(p).promotion() for p in params.levels}
    out: dict[str, list[Promotion]] = {}
    for c in params.card_levels:
        if c.level_id in levels:
            out.setdefault(c.card_number, []).append(levels[c.level_id])
    return {n: tuple(ps) for n, ps in out.items()}


def visit_threshold_of(t: VisitThresholdParams) -> VisitThreshold:
    return VisitThreshold(t.visits_needed, timedelta(days=t.max_days) if t.max_days else None)


def family_of(f: FamilyParams) -> ProductFamily:
    return ProductFamily(f.code, f.taux_client_bps, f.tobacco, f.gambling, f.book)


def compile(params: TerminalParameters) -> dict[UUID, TerminalRules]:
    """The rules of every card type accepted at the merchant, by card type id."""
    families = [family_of(f) for f in params.families]
    levels = card_levels(params)
    out: dict[UUID, TerminalRules] = {}
    for ct in params.card_types:
        book: RuleBook | None = None
        program = program_of(ct.program) if ct.program is not None else None
        if program is not None and ct.network is not None:
            n = ct.network
            merchant = Merchant.with_families(
                str(params.merchant_id),
                families,
                ct.merchant_rates.taux_client_bps,
                ct.merchant_rates.taux_uc_bps,
            )
            book = RuleBook(
                NetworkRates(n.mode, n.taux_client_bps, n.taux_uc_bps),
                [merchant],
                program,
                [promotion_of(p) for p in ct.promotions],
            )
        out[ct.card_type_id] = TerminalRules(
            card_type_id=ct.card_type_id,
            kind=ct.kind,
            book=book,
            visit_threshold=visit_threshold_of(ct.visit_threshold),
            program=program,
            validity_months=ct.validity_months,
            levels=levels,
        )
    return out


def is_dormant_on(last_used_on: date | None, on: date, dormant_after_days: int | None) -> bool:
    """Dormancy as an offline terminal can judge it from the card, which keeps the date of its
    last use (``services.cards.domain.is_dormant`` on the server, from its instant): unused for
    ``dormant_after_days`` days. A card never used offline says nothing here (the server knows
    its issue date; the card does not)."""
    if dormant_after_days is None or last_used_on is None:
        return False
    return (on - last_used_on).days >= dormant_after_days
