"""The rules of every card type, compiled from the rows of the catalogue into ``shared.rules``
rule books (pure: the rows are read by ``services.cards.adapters.rulebooks``).

One rule book per card type: the card type's program, its network rates (its own, else its
association's), every merchant that accepts it with the merchant's catalogue and rates (the
card type's rates at that merchant, else the merchant's own), and the promotions of the card
type's association plus the merchants' own. Books are compiled on first use and dropped when
``rules_version`` moves: every change to what a sale earns bumps it in its transaction
(``adapters.rulebooks.bump``), so every cards process sees the change at its next batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from shared.rules import params
from shared.rules.catalogue import (
    CalculationMode,
    Merchant,
    NetworkRates,
    ProductFamily,
    taux_client_for,
    taux_uc_for,
)
from shared.rules.engine import RuleBook
from shared.rules.params import (
    CardTypeParams,
    FamilyParams,
    MerchantRates,
    NetworkParams,
    ProgramParams,
    PromotionParams,
    TerminalParameters,
    VisitThresholdParams,
)
from shared.rules.programs import Program, ProgramKind, ProgramStatus
from shared.rules.promotions import Multiplier, Promotion, RateOverride
from shared.rules.visit_threshold import VisitThreshold

Row = Mapping[str, Any]  # a row of the catalogue, as the adapter read it


@dataclass(frozen=True, slots=True)
class CardTypeRules:
    card_type_id: UUID
    association_id: UUID
    kind: str
    book: RuleBook | None  # None: the card type holds money and earns nothing
    visit_threshold: VisitThreshold
    accepted_at: frozenset[UUID]  # merchants
    validity_months: int | None

    @property
    def program(self) -> Program | None:
        return self.book.program if self.book else None


@dataclass(frozen=True, slots=True)
class MerchantInfo:
    merchant_id: UUID
    association_id: UUID


def default_rates(association: Row, merchant: Row) -> tuple[int, int]:
    """The taux client and taux UC a sale without product family earns at ``merchant`` by
    default (the association's rate mode and rates, the merchant's own rates), with the rules
    engine's own functions: what the clearing statements show as the merchant's rates."""
    network = NetworkRates(
        CalculationMode(association["rate_mode"]),
        association["taux_client_bps"],
        association["taux_uc_bps"],
    )
    own = Merchant(str(merchant["id"]), merchant["taux_client_bps"], merchant["taux_uc_bps"])
    client, _ = taux_client_for(network, own, None)
    return client, taux_uc_for(network, own)


def program_of(r: Row) -> Program:
    # Through the terminals' parameters: the server and the terminal read a program alike.
    return params.program_of(_program_params(r))


def visit_threshold_of(r: Row | None) -> VisitThreshold:
    if r is None:
        return VisitThreshold(1)
    days = r["visit_threshold_max_days"]
    return VisitThreshold(r["visit_threshold"], timedelta(days=days) if days else None)


def promotion_of(r: Row) -> Promotion:
    effect = (
        RateOverride(r["taux_client_bps"])
        if r["taux_client_bps"] is not None
        else Multiplier(r["multiplier_numerator"], r["multiplier_denominator"])
    )
    return Promotion(
        promotion_id=str(r["id"]),
        starts_at=r["starts_at"],
        ends_at=r["ends_at"],
        effect=effect,
        merchant_id=str(r["merchant_id"]) if r["merchant_id"] else None,
        families=frozenset(r["families"]) if r["families"] is not None else None,
    )


class Snapshot:
    """Everything the rules read, at one ``rules_version``; books compiled lazily."""

    def __init__(self, version: int, rows: dict[str, list[Row]]) -> None:
        self.version = version
        self.associations = {r["id"]: r for r in rows["associations"]}
        self.merchants = {
            r["id"]: MerchantInfo(r["id"], r["association_id"]) for r in rows["merchants"]
        }
        self._merchant_rows = {r["id"]: r for r in rows["merchants"]}
        self._programs = {r["id"]: r for r in rows["programs"]}
        self._card_types = {r["id"]: r for r in rows["card_types"]}
        self._families: dict[UUID, list[ProductFamily]] = defaultdict(list)
        # What the statements show of a family: its label, by (merchant, code).
        self._labels = {(r["merchant_id"], r["code"]): r.get("label") for r in rows["families"]}
        for r in rows["families"]:
            self._families[r["merchant_id"]].append(
                ProductFamily(
                    r["code"], r["taux_client_bps"], r["tobacco"], r["gambling"], r["book"]
                )
            )
        self._type_rates = {(r["card_type_id"], r["merchant_id"]): r for r in rows["type_rates"]}
        self._acceptances: dict[UUID, list[Row]] = defaultdict(list)
        for r in rows["acceptances"]:
            self._acceptances[r["card_type_id"]].append(r)
        self._by_association: dict[UUID, list[UUID]] = defaultdict(list)
        for m in rows["merchants"]:
            self._by_association[m["association_id"]].append(m["id"])
        self._promotions = list(rows["promotions"])
        self._books: dict[UUID, CardTypeRules] = {}
        self._accepted_by: dict[UUID, list[UUID]] | None = None

    def names(self, merchant_id: UUID) -> tuple[dict[str, str], dict[str, str]]:
        """What a person reads for a rule book's ids: the promotions' names (by id) and the
        merchant's families' labels (by code), for ``shared.rules.wording.Reader``."""
        promotions = {str(p["id"]): p["name"] for p in self._promotions if p.get("name")}
        families = {
            code: label
            for (mid, code), label in self._labels.items()
            if mid == merchant_id and label
        }
        return promotions, families

    def family_label(self, merchant_id: UUID, code: str | None) -> str | None:
        """The label of the merchant's family ``code``; None when it has none or is unknown."""
        return None if code is None else self._labels.get((merchant_id, code))

    def default_card_type(self, association_id: UUID) -> UUID | None:
        a = self.associations.get(association_id)
        return a["default_card_type_id"] if a else None

    def rules(self, card_type_id: UUID) -> CardTypeRules | None:
        compiled = self._books.get(card_type_id)
        if compiled is None:
            ct = self._card_types.get(card_type_id)
            if ct is None:
                return None
            compiled = self._books[card_type_id] = self._compile(ct)
        return compiled

    def _accepting(self, ct: Row) -> list[UUID]:
        if ct["kind"] == "merchant":
            return [ct["merchant_id"]]
        merchants = set(self._by_association[ct["association_id"]])
        for a in self._acceptances[ct["id"]]:
            if a["merchant_id"] is None:
                merchants.update(self._by_association[a["association_id"]])
            else:
                merchants.add(a["merchant_id"])
        return sorted(merchants)

    def _network(self, ct: Row) -> NetworkRates:
        """The card type's network rates: its own, else its association's."""
        a = self.associations[ct["association_id"]]
        return NetworkRates(
            CalculationMode(a["rate_mode"]),
            ct["taux_client_bps"] if ct["taux_client_bps"] is not None else a["taux_client_bps"],
            ct["taux_uc_bps"] if ct["taux_uc_bps"] is not None else a["taux_uc_bps"],
        )

    def _merchant_rates(self, ct: Row, mid: UUID) -> tuple[int | None, int | None]:
        """The card type's rates at merchant ``mid``, else the merchant's own (taux client, UC)."""
        m = self._merchant_rows[mid]
        own = self._type_rates.get((ct["id"], mid))
        client = (
            own["taux_client_bps"]
            if own and own["taux_client_bps"] is not None
            else m["taux_client_bps"]
        )
        uc = own["taux_uc_bps"] if own and own["taux_uc_bps"] is not None else m["taux_uc_bps"]
        return client, uc

    def _promotion_rows(self, ct: Row, merchants: Iterable[UUID]) -> list[Row]:
        """The association's promotions and those of ``merchants``."""
        wanted = set(merchants)
        return [
            p
            for p in self._promotions
            if (p["merchant_id"] is None and p["association_id"] == ct["association_id"])
            or (p["merchant_id"] is not None and p["merchant_id"] in wanted)
        ]

    def _compile(self, ct: Row) -> CardTypeRules:
        accepted = self._accepting(ct)
        program_row = self._programs.get(ct["program_id"]) if ct["program_id"] else None
        book: RuleBook | None = None
        if program_row is not None:
            merchants = [
                Merchant.with_families(
                    str(mid), self._families[mid], *self._merchant_rates(ct, mid)
                )
                for mid in accepted
            ]
            promotions = [promotion_of(p) for p in self._promotion_rows(ct, accepted)]
            book = RuleBook(self._network(ct), merchants, program_of(program_row), promotions)
        return CardTypeRules(
            card_type_id=ct["id"],
            association_id=ct["association_id"],
            kind=ct["kind"],
            book=book,
            visit_threshold=visit_threshold_of(program_row),
            accepted_at=frozenset(accepted),
            validity_months=ct["validity_months"],
        )

    def card_types_at(self, merchant_id: UUID) -> list[UUID]:
        """The card types a merchant accepts, in id order."""
        if self._accepted_by is None:
            index: dict[UUID, list[UUID]] = defaultdict(list)
            for ct_id in sorted(self._card_types):
                rules = self.rules(ct_id)
                assert rules is not None
                for mid in rules.accepted_at:
                    index[mid].append(ct_id)
            self._accepted_by = index
        return self._accepted_by.get(merchant_id, [])

    def terminal_parameters(self, merchant_id: UUID) -> TerminalParameters:
        """What the merchant's offline terminals need: see ``from_snapshot``."""
        m = self._merchant_rows[merchant_id]
        card_types = []
        for ct_id in self.card_types_at(merchant_id):
            ct = self._card_types[ct_id]
            program_row = self._programs.get(ct["program_id"]) if ct["program_id"] else None
            program: ProgramParams | None = None
            network: NetworkParams | None = None
            promotions: list[PromotionParams] = []
            if program_row is not None:
                program = _program_params(program_row)
                n = self._network(ct)
                network = NetworkParams(
                    mode=n.mode, taux_client_bps=n.taux_client_bps, taux_uc_bps=n.taux_uc_bps
                )
                promotions = [
                    _promotion_params(p)
                    for p in sorted(self._promotion_rows(ct, [merchant_id]), key=lambda p: p["id"])
                ]
            client, uc = self._merchant_rates(ct, merchant_id)
            threshold = visit_threshold_of(program_row)
            card_types.append(
                CardTypeParams(
                    card_type_id=ct_id,
                    kind=ct["kind"],
                    program=program,
                    network=network,
                    merchant_rates=MerchantRates(taux_client_bps=client, taux_uc_bps=uc),
                    promotions=promotions,
                    visit_threshold=VisitThresholdParams(
                        visits_needed=threshold.visits_needed,
                        max_days=threshold.max_period.days if threshold.max_period else None,
                    ),
                    validity_months=ct["validity_months"],
                )
            )
        return TerminalParameters(
            rules_version=self.version,
            association_id=m["association_id"],
            merchant_id=merchant_id,
            families=[
                FamilyParams(
                    code=f.code,
                    taux_client_bps=f.taux_client_bps,
                    tobacco=f.tobacco,
                    gambling=f.gambling,
                    book=f.book,
                )
                for f in sorted(self._families[merchant_id], key=lambda f: f.code)
            ],
            card_types=card_types,
        )


def from_snapshot(snapshot: Snapshot, merchant_id: UUID) -> TerminalParameters:
    """The parameters of one merchant's offline terminals at the snapshot's ``rules_version``:
    every card type it accepts with the program, the network rates, the merchant's rates for
    that card type, the promotions that can apply here, the visit threshold and the validity.
    Pure: built from what the snapshot already read."""
    return snapshot.terminal_parameters(merchant_id)


def _program_params(r: Row) -> ProgramParams:
    return ProgramParams(
        program_id=str(r["id"]),
        kind=ProgramKind(r["kind"]),
        families=sorted(r["families"]) if r["families"] is not None else None,
        valid_from=r["valid_from"],
        valid_until=r["valid_until"],
        status=ProgramStatus(r["status"]),
        points_per_euro=r["points_per_euro"],
        units_per_reward=r["units_per_reward"],
        reward_cents=r["reward_cents"],
    )


def _promotion_params(r: Row) -> PromotionParams:
    return PromotionParams(
        promotion_id=str(r["id"]),
        starts_at=r["starts_at"],
        ends_at=r["ends_at"],
        taux_client_bps=r["taux_client_bps"],
        multiplier_numerator=r["multiplier_numerator"],
        multiplier_denominator=r["multiplier_denominator"],
        merchant_id=str(r["merchant_id"]) if r["merchant_id"] else None,
        families=sorted(r["families"]) if r["families"] is not None else None,
    )
