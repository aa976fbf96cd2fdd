"""The rules of every card type, compiled from the database into ``shared.rules`` rule books.

One rule book per card type: the card type's program, its network rates (its own, else its
association's), every merchant that accepts it with the merchant's catalogue and rates (the
card type's rates at that merchant, else the merchant's own), and the promotions of the card
type's association plus the merchants' own. Books are compiled on first use and dropped when
``rules_version`` moves: every change to what a sale earns bumps it in its transaction
(``bump``), so every cards process sees the change at its next batch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg

from shared.rules.catalogue import CalculationMode, Merchant, NetworkRates, ProductFamily
from shared.rules.engine import RuleBook
from shared.rules.programs import Program, ProgramKind, ProgramStatus
from shared.rules.promotions import Multiplier, Promotion, RateOverride
from shared.rules.threshold import ThresholdPolicy


async def bump(conn: asyncpg.Connection) -> None:
    """Call in the transaction of any change to programs, rates, families, promotions,
    card types or acceptances."""
    await conn.execute("UPDATE rules_version SET version = version + 1")


@dataclass(frozen=True, slots=True)
class CardTypeRules:
    card_type_id: UUID
    association_id: UUID
    kind: str
    book: RuleBook | None  # None: the card type holds money and earns nothing
    threshold: ThresholdPolicy
    accepted_at: frozenset[UUID]  # merchants
    validity_months: int | None

    @property
    def program(self) -> Program | None:
        return self.book.program if self.book else None


@dataclass(frozen=True, slots=True)
class MerchantInfo:
    merchant_id: UUID
    association_id: UUID


def program_of(r: asyncpg.Record | dict[str, Any]) -> Program:
    return Program(
        program_id=str(r["id"]),
        kind=ProgramKind(r["kind"]),
        families=frozenset(r["families"]) if r["families"] is not None else None,
        valid_from=r["valid_from"],
        valid_until=r["valid_until"],
        status=ProgramStatus(r["status"]),
        points_per_euro=r["points_per_euro"],
        units_per_reward=r["units_per_reward"],
        reward_cents=r["reward_cents"],
    )


def threshold_of(r: asyncpg.Record | dict[str, Any] | None) -> ThresholdPolicy:
    if r is None:
        return ThresholdPolicy(1)
    days = r["threshold_max_days"]
    return ThresholdPolicy(r["threshold_visits"], timedelta(days=days) if days else None)


def promotion_of(r: asyncpg.Record | dict[str, Any]) -> Promotion:
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

    def __init__(self, version: int, rows: dict[str, list[asyncpg.Record]]) -> None:
        self.version = version
        self.associations = {r["id"]: r for r in rows["associations"]}
        self.merchants = {
            r["id"]: MerchantInfo(r["id"], r["association_id"]) for r in rows["merchants"]
        }
        self._merchant_rows = {r["id"]: r for r in rows["merchants"]}
        self._programs = {r["id"]: r for r in rows["programs"]}
        self._card_types = {r["id"]: r for r in rows["card_types"]}
        self._families: dict[UUID, list[ProductFamily]] = defaultdict(list)
        for r in rows["families"]:
            self._families[r["merchant_id"]].append(
                ProductFamily(
                    r["code"], r["taux_client_bps"], r["tobacco"], r["gambling"], r["book"]
                )
            )
        self._type_rates = {(r["card_type_id"], r["merchant_id"]): r for r in rows["type_rates"]}
        self._acceptances: dict[UUID, list[asyncpg.Record]] = defaultdict(list)
        for r in rows["acceptances"]:
            self._acceptances[r["card_type_id"]].append(r)
        self._by_association: dict[UUID, list[UUID]] = defaultdict(list)
        for m in rows["merchants"]:
            self._by_association[m["association_id"]].append(m["id"])
        self._promotions = list(rows["promotions"])
        self._books: dict[UUID, CardTypeRules] = {}

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

    def _accepting(self, ct: asyncpg.Record) -> list[UUID]:
        if ct["kind"] == "merchant":
            return [ct["merchant_id"]]
        merchants = set(self._by_association[ct["association_id"]])
        for a in self._acceptances[ct["id"]]:
            if a["merchant_id"] is None:
                merchants.update(self._by_association[a["association_id"]])
            else:
                merchants.add(a["merchant_id"])
        return sorted(merchants)

    def _compile(self, ct: asyncpg.Record) -> CardTypeRules:
        accepted = self._accepting(ct)
        program_row = self._programs.get(ct["program_id"]) if ct["program_id"] else None
        book: RuleBook | None = None
        if program_row is not None:
            a = self.associations[ct["association_id"]]
            network = NetworkRates(
                CalculationMode(a["rate_mode"]),
                ct["taux_client_bps"]
                if ct["taux_client_bps"] is not None
                else a["taux_client_bps"],
                ct["taux_uc_bps"] if ct["taux_uc_bps"] is not None else a["taux_uc_bps"],
            )
            merchants = []
            for mid in accepted:
                m = self._merchant_rows[mid]
                own = self._type_rates.get((ct["id"], mid))
                client = (
                    own["taux_client_bps"]
                    if own and own["taux_client_bps"] is not None
                    else m["taux_client_bps"]
                )
                uc = (
                    own["taux_uc_bps"]
                    if own and own["taux_uc_bps"] is not None
                    else m["taux_uc_bps"]
                )
                merchants.append(Merchant.with_families(str(mid), self._families[mid], client, uc))
            wanted = set(accepted)
            promotions = [
                promotion_of(p)
                for p in self._promotions
                if (p["merchant_id"] is None and p["association_id"] == ct["association_id"])
                or (p["merchant_id"] is not None and p["merchant_id"] in wanted)
            ]
            book = RuleBook(network, merchants, program_of(program_row), promotions)
        return CardTypeRules(
            card_type_id=ct["id"],
            association_id=ct["association_id"],
            kind=ct["kind"],
            book=book,
            threshold=threshold_of(program_row),
            accepted_at=frozenset(accepted),
            validity_months=ct["validity_months"],
        )


_QUERIES = {
    "associations": "SELECT * FROM associations",
    "merchants": "SELECT * FROM merchants",
    "programs": "SELECT * FROM programs",
    "card_types": "SELECT * FROM card_types",
    "families": "SELECT * FROM product_families",
    "type_rates": "SELECT * FROM card_type_rates",
    "acceptances": "SELECT * FROM acceptances",
    "promotions": "SELECT * FROM promotions WHERE withdrawn_at IS NULL",
}


class RuleBooks:
    """The current snapshot, reloaded when ``rules_version`` has moved."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None

    async def current(self, conn: asyncpg.Connection) -> Snapshot:
        version = await conn.fetchval("SELECT version FROM rules_version")
        if self._snapshot is None or self._snapshot.version != version:
            # Inside a handler's transaction this reads what that transaction sees; a change
            # committed meanwhile bumps the version again and is loaded at the next batch.
            rows = {k: await conn.fetch(q) for k, q in _QUERIES.items()}
            self._snapshot = Snapshot(version, rows)
        return self._snapshot


# One per process, shared by the event handlers and the dry run.
BOOKS = RuleBooks()
