"""Moved to ``services.cards.domain.card_checks``; this alias stays until the branches of issue 12
are merged (catalogue and money modules import it by this path)."""

from services.cards.domain.card_checks import *  # noqa: F403
from services.cards.domain.card_checks import ANOMALY_KINDS, WINDOW, AnomalyKind  # noqa: F401
