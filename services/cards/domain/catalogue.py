"""The catalogue's rules: what an association, a program, a promotion, a card type, its rates
and its acceptances may be, and how each may change. Pure: the use cases read the rows and
hand them here; every refusal is a ``Refused`` with what the client is told."""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from services.cards.domain.base import Refused, Row
from shared.rules.programs import Program, ProgramKind, ProgramStatus
from shared.rules.promotions import Multiplier, Promotion, RateOverride

# Card types that hold money loaded by customers and earn nothing (F11); the others earn.
MONEY_KINDS = frozenset({"gift", "prepaid", "epurse"})
EARNING_KINDS = frozenset({"association", "generic", "merchant"})
DEFAULT_PROGRAM = "default-program"  # uuid5(association_id, ...): a retried PUT is idempotent
DEFAULT_CARD_TYPE = "default-card-type"


# --- associations and merchants ----------------------------------------------------------------


def default_ids(association_id: UUID) -> tuple[UUID, UUID]:
    """The ids of an association's default program and default card type: derived, so that a
    retried creation makes them once."""
    return (
        uuid.uuid5(association_id, DEFAULT_PROGRAM),
        uuid.uuid5(association_id, DEFAULT_CARD_TYPE),
    )


def default_card_type_name(association_name: str) -> str:
    return f"Carte {association_name}"[:200]


def issuer_prefix(requested: str | None, old: Row | None) -> str | None:
    """The prefix an association will have: the one asked, else the one it has."""
    if requested is None and old is not None:
        kept: str | None = old["issuer_prefix"]
        return kept
    return requested


def prefix_changes(old: Row | None, prefix: str | None) -> bool:
    """A prefix already set moves: allowed only while the association has issued no card."""
    return old is not None and old["issuer_prefix"] not in (None, prefix)


def refuse_prefix_in_use(association_id: UUID, old_prefix: str) -> Refused:
    return Refused(
        409,
        "Issuer prefix in use",
        f"association {association_id} has issued cards numbered {old_prefix}…: "
        "its issuer prefix cannot change",
        reason="issuer_prefix_in_use",
    )


def refuse_prefix_taken(prefix: str, holder: UUID) -> Refused:
    return Refused(
        409,
        "Issuer prefix taken",
        f"issuer prefix {prefix} is association {holder}'s",
        reason="issuer_prefix_taken",
    )


def check_merchant_owner(merchant_id: UUID, owner: UUID | None, association_id: UUID) -> None:
    """A merchant belongs to one association, for good."""
    if owner is not None and owner != association_id:
        raise Refused(
            409,
            "Merchant of another association",
            f"merchant {merchant_id} is in association {owner}",
        )


def check_merchant_of(merchant: Row, association_id: UUID) -> None:
    if merchant["association_id"] != association_id:
        raise Refused(
            409,
            "Merchant of another association",
            f"merchant {merchant['id']} is in association {merchant['association_id']}, "
            f"not {association_id}",
        )


# --- programs ----------------------------------------------------------------------------------


def program_terms(
    program_id: UUID,
    kind: str,
    families: list[str] | None,
    valid_from: datetime | None,
    valid_until: datetime | None,
    points_per_euro: int,
    units_per_reward: int,
    reward_cents: int,
) -> Program:
    """The program as the rules engine reads it, or a 422 saying what does not hold."""
    try:
        return Program(
            program_id=str(program_id),
            kind=ProgramKind(kind),
            families=frozenset(families) if families is not None else None,
            valid_from=valid_from,
            valid_until=valid_until,
            points_per_euro=points_per_euro,
            units_per_reward=units_per_reward,
            reward_cents=reward_cents,
        )
    except ValueError as exc:
        raise Refused(422, "Invalid program", str(exc)) from exc


def check_program_update(old: Row, association_id: UUID, program_id: UUID, kind: str) -> None:
    """A program stays its association's; a deleted one stays deleted; its kind never changes
    (the units accounts hold would change meaning)."""
    if old["association_id"] != association_id:
        raise Refused(
            409,
            "Program of another association",
            f"program {program_id} is association {old['association_id']}'s",
        )
    if old["status"] == ProgramStatus.DELETED:
        raise Refused(409, "Program deleted", f"program {program_id} is deleted, for good")
    if old["kind"] != kind:
        raise Refused(
            409,
            "Program kind cannot change",
            f"program {program_id} is a {old['kind']} program, not {kind}: create a new "
            "program and move the card types to it",
        )


def sorted_families(families: list[str] | None) -> list[str] | None:
    return sorted(set(families)) if families is not None else None


# --- promotions --------------------------------------------------------------------------------


def promotion_terms(
    promotion_id: UUID,
    starts_at: datetime,
    ends_at: datetime,
    taux_client_bps: int | None,
    multiplier: tuple[int, int] | None,
    merchant_id: UUID | None,
    families: list[str] | None,
) -> Promotion:
    """Exactly one effect (a rate override or a multiplier) over a period, or a 422."""
    if (taux_client_bps is None) == (multiplier is None):
        raise Refused(
            422,
            "Invalid promotion",
            "give exactly one of taux_client_bps (a rate override) and multiplier",
        )
    try:
        effect = (
            Multiplier(*multiplier)
            if multiplier is not None
            else RateOverride(taux_client_bps or 0)
        )
        return Promotion(
            promotion_id=str(promotion_id),
            starts_at=starts_at,
            ends_at=ends_at,
            effect=effect,
            merchant_id=str(merchant_id) if merchant_id else None,
            families=frozenset(families) if families is not None else None,
        )
    except ValueError as exc:
        raise Refused(422, "Invalid promotion", str(exc)) from exc


def check_promotion_update(old: Row, association_id: UUID, promotion_id: UUID) -> None:
    """A promotion stays its association's; a withdrawn one is not revived."""
    if old["association_id"] != association_id:
        raise Refused(
            409,
            "Promotion of another association",
            f"promotion {promotion_id} is association {old['association_id']}'s",
        )
    if old["withdrawn_at"] is not None:
        raise Refused(
            409,
            "Promotion withdrawn",
            f"promotion {promotion_id} was withdrawn at {old['withdrawn_at'].isoformat()}: "
            "create a new one",
        )


# --- card types, their rates and acceptances ---------------------------------------------------


def check_card_type_terms(kind: str, program_id: UUID | None, merchant_id: UUID | None) -> None:
    """association, generic and merchant cards earn under a program; gift, prepaid and epurse
    cards hold money and have none; a merchant card names its merchant."""
    if kind in EARNING_KINDS and program_id is None:
        raise Refused(
            422, "Invalid card type", f"a {kind} card type earns under a program: give program_id"
        )
    if kind in MONEY_KINDS and program_id is not None:
        raise Refused(
            422,
            "Invalid card type",
            f"a {kind} card holds money and earns nothing: no program_id",
        )
    if (kind == "merchant") != (merchant_id is not None):
        raise Refused(
            422,
            "Invalid card type",
            "a merchant card type names its merchant_id, and only a merchant card type does",
        )


def check_card_type_program(program: Row | None, program_id: UUID, association_id: UUID) -> None:
    """A card type earns under a live program of its own association."""
    if program is None:
        raise Refused(404, "Unknown program", f"no program {program_id}")
    if program["association_id"] != association_id:
        raise Refused(
            409,
            "Program of another association",
            f"program {program_id} is association {program['association_id']}'s",
        )
    if program["status"] == ProgramStatus.DELETED:
        raise Refused(409, "Program deleted", f"program {program_id} is deleted")


def check_card_type_owner(old: Row, association_id: UUID, card_type_id: UUID) -> None:
    if old["association_id"] != association_id:
        raise Refused(
            409,
            "Card type of another association",
            f"card type {card_type_id} is association {old['association_id']}'s",
        )


def kind_changes(old: Row, kind: str) -> bool:
    return bool(old["kind"] != kind)


def refuse_kind_change(old: Row, card_type_id: UUID) -> Refused:
    """Cards issued under a kind keep it: asked once some are issued."""
    return Refused(
        409,
        "Card type kind cannot change",
        f"cards of type {card_type_id} were issued as {old['kind']} cards",
    )


def check_default_stays_earning(
    association: Row, association_id: UUID, card_type_id: UUID, kind: str
) -> None:
    """Cardless accounts earn under the association's default card type."""
    if association["default_card_type_id"] == card_type_id and kind not in EARNING_KINDS:
        raise Refused(
            409,
            "Default card type",
            f"card type {card_type_id} is association {association_id}'s default (cardless "
            "accounts earn under it): it stays association, generic or merchant",
        )


def check_rates(taux_client_bps: int | None, taux_uc_bps: int | None) -> None:
    if taux_client_bps is None and taux_uc_bps is None:
        raise Refused(
            422,
            "Invalid rates",
            "give taux_client_bps, taux_uc_bps or both (DELETE removes the card type's rates)",
        )


def accepted_without_acceptance(card_type: Row, merchant: Row) -> bool | None:
    """As ``Snapshot._accepting``: a merchant card at its merchant only, the others at their
    association's merchants; None: only an acceptance can say (another association's)."""
    if card_type["kind"] == "merchant":
        return bool(card_type["merchant_id"] == merchant["id"])
    if card_type["association_id"] == merchant["association_id"]:
        return True
    return None


def refuse_not_accepted(card_type_id: UUID, merchant: Row) -> Refused:
    return Refused(
        409,
        "Card type not accepted",
        f"merchant {merchant['id']} does not accept card type {card_type_id}: accept it first "
        f"(PUT /v1/card-types/{card_type_id}/acceptances/{merchant['association_id']})",
    )


def check_acceptance(card_type: Row, association_id: UUID) -> None:
    """A merchant's personal card is accepted at its merchant only; a card type's own
    association accepts it already."""
    if card_type["kind"] == "merchant":
        raise Refused(
            409,
            "Merchant card",
            f"card type {card_type['id']} is merchant {card_type['merchant_id']}'s personal "
            "card: accepted there only",
        )
    if card_type["association_id"] == association_id:
        raise Refused(
            409,
            "Own association",
            f"card type {card_type['id']} is association {association_id}'s: its merchants "
            "accept it already",
        )
