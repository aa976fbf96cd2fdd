"""The dry run of a sale: what it would earn under a card type's rule book, and one sentence
saying why (in English, or in French or English as asked: ``shared.rules.wording``). Pure: it
reads a snapshot of the rule books and records nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from babel.dates import format_datetime
from babel.numbers import format_currency

from services.cards.domain.base import Refused
from services.cards.domain.rulebooks import CardTypeRules, Snapshot
from shared.rules import wording
from shared.rules.engine import Evaluation, Sale
from shared.rules.money import format_eur
from shared.rules.visit_threshold import VisitThreshold


@dataclass(frozen=True, slots=True)
class DryRun:
    association_id: UUID
    card_type_id: UUID
    program_id: UUID
    merchant_id: UUID
    product_family: str | None
    amount_cents: int
    quantity: int
    at: datetime
    evaluation: Evaluation
    visit_threshold: VisitThreshold
    explanation: str
    rules_version: int
    language: wording.Language | None = None
    reader: wording.Reader = wording.PLAIN  # how its said words are written


def money_for(language: wording.Language | None) -> wording.Money:
    """How amounts are written: as Babel writes them in ``language`` (``0,75 €``, ``€0.75``),
    else as the engine writes them (``0.75 €``), as the API always answered."""
    if language is None:
        return format_eur
    locale = _LOCALES[language]

    def money(cents: int) -> str:
        return format_currency(Decimal(cents) / 100, "EUR", locale=locale)

    return money


def when_for(language: wording.Language) -> wording.When:
    """How instants are written: as Babel writes them in ``language`` (``1 déc. 2026, 00:00``),
    in the instant's own offset."""
    locale = _LOCALES[language]

    def when(instant: str) -> str:
        at = datetime.fromisoformat(instant)
        return format_datetime(at, "d MMM y, HH:mm", tzinfo=at.tzinfo, locale=locale)

    return when


_LOCALES: dict[wording.Language, str] = {"fr": "fr_FR", "en": "en_GB"}


def reader_for(
    language: wording.Language | None, snapshot: Snapshot | None = None, mid: UUID | None = None
) -> wording.Reader:
    """How the dry run's words are written: without ``language``, as the API always answered
    (the engine's English detail: ``0.75 €``, ISO 8601, ids and codes); in ``language``, as
    the person reads it: Babel's amounts and dates, the promotions' names and the merchant's
    families' labels (``snapshot``), the merchant ``mid`` the sale is at as "the merchant"."""
    if language is None:
        return wording.PLAIN
    promotions, families = snapshot.names(mid) if snapshot and mid else ({}, {})
    return wording.Reader(
        money_for(language),
        when_for(language),
        promotions,
        str(mid) if mid else None,
        families,
    )


def explain(
    ev: Evaluation,
    amount_cents: int,
    threshold: VisitThreshold,
    language: wording.Language | None = None,
    reader: wording.Reader | None = None,
) -> str:
    """One sentence from the evaluation's steps and refusals (``shared.rules.wording``), in
    ``language`` (else English) as ``reader`` writes it (else ``reader_for(language)``)."""
    max_days = threshold.max_period.days if threshold.max_period is not None else None
    return wording.sentence(
        ev,
        amount_cents,
        threshold.visits_needed,
        max_days,
        language or "en",
        reader or reader_for(language),
    )


def _rules(snapshot: Snapshot, association_id: UUID, card_type_id: UUID | None) -> CardTypeRules:
    """The card type dry-run: the association's default unless given, and the association's."""
    assoc = snapshot.associations.get(association_id)
    if assoc is None:
        raise Refused(404, "Unknown association", f"no association {association_id}")
    ctid = card_type_id or assoc["default_card_type_id"]
    if ctid is None:
        raise Refused(
            422,
            "No card type",
            f"association {association_id} has no default card type: give card_type_id",
        )
    rules = snapshot.rules(ctid)
    if rules is None:
        raise Refused(404, "Unknown card type", f"no card type {ctid}")
    if rules.association_id != association_id:
        raise Refused(
            409,
            "Card type of another association",
            f"card type {ctid} is association {rules.association_id}'s: dry-run it there",
        )
    return rules


def dry_run(
    snapshot: Snapshot,
    association_id: UUID,
    card_type_id: UUID | None,
    mid: UUID,
    product_family: str | None,
    amount_cents: int,
    quantity: int,
    at: datetime,
    language: wording.Language | None = None,
) -> DryRun:
    """What a sale of ``amount_cents`` at merchant ``mid`` would earn under a card type of the
    association: the card type must be accepted at the merchant and earn something."""
    rules = _rules(snapshot, association_id, card_type_id)
    ctid = rules.card_type_id
    merchant = snapshot.merchants.get(mid)
    if merchant is None:
        raise Refused(404, "Unknown merchant", f"no merchant {mid}")
    if mid not in rules.accepted_at:
        reason = (
            "a merchant's personal card is accepted at its own merchant only"
            if rules.kind == "merchant"
            else f"merchant {mid}'s association {merchant.association_id} does not accept it"
        )
        raise Refused(
            422,
            "Card type not accepted",
            f"card type {ctid} is not accepted at merchant {mid}: {reason}",
        )
    if rules.book is None:
        raise Refused(
            422,
            "Card type earns nothing",
            f"card type {ctid} is a {rules.kind} card: it holds money and earns nothing",
        )
    reader = reader_for(language, snapshot, mid)
    ev = rules.book.evaluate(Sale(str(mid), product_family, amount_cents, at, quantity))
    return DryRun(
        association_id=association_id,
        card_type_id=ctid,
        program_id=UUID(rules.book.program.program_id),
        merchant_id=mid,
        product_family=product_family,
        amount_cents=amount_cents,
        quantity=quantity,
        at=at,
        evaluation=ev,
        visit_threshold=rules.visit_threshold,
        explanation=explain(ev, amount_cents, rules.visit_threshold, language, reader),
        rules_version=snapshot.version,
        language=language,
        reader=reader,
    )
