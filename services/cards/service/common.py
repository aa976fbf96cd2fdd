"""What the cards service's use cases share: their events' source, problem types, and the
translation of a domain refusal into the problem the caller sees."""

from __future__ import annotations

from typing import Any

from services.cards.domain.cards import Refused
from shared.events import Event, EventData, new_event
from shared.http import Problem

SOURCE = "cards"
PROBLEMS = "https://comptoir.dev/problems/"


def event(data: EventData, subject: str) -> Event[Any]:
    return new_event(SOURCE, data, subject=subject)


def problem(refused: Refused) -> Problem:
    """409 for a conflict with the card's state, 422 for a request the rules refuse."""
    extra: dict[str, Any] = {"errors": refused.errors} if refused.errors else {}
    return Problem(
        409 if refused.conflict else 422,
        refused.title,
        refused.detail,
        PROBLEMS + refused.slug if refused.slug else "about:blank",
        **extra,
    )
