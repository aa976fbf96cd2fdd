"""Until the branches of issue 12 are merged: what the catalogue, money, partners, liability and
anomalies route modules import by this path. ``api`` is their route table (they register on it
when imported); ``services.cards.app`` includes it with the others. The rest moved:
``PROBLEMS``/``event`` to ``service.common``, ``card_param`` to ``entrypoints.http.common``,
``association`` to ``adapters.associations.get``, the kinds and ``MAX_BATCH`` to
``domain.cards``."""

from __future__ import annotations

from services.cards.adapters.associations import get as association
from services.cards.domain.cards import EARNING_KINDS, MAX_BATCH, MONEY_KINDS
from services.cards.entrypoints.http.common import card_param
from services.cards.service.common import PROBLEMS, SOURCE, event
from shared.openapi import Routes

api = Routes()

__all__ = [
    "EARNING_KINDS",
    "MAX_BATCH",
    "MONEY_KINDS",
    "PROBLEMS",
    "SOURCE",
    "api",
    "association",
    "card_param",
    "event",
]
