"""Moved to ``services.cards.adapters.cagnotte``; this alias stays until the branches of issue 12
are merged (the money and partners modules import it by this path)."""

from services.cards.adapters.cagnotte import COLUMNS, Posted, lock, post, save, state_of

__all__ = ["COLUMNS", "Posted", "lock", "post", "save", "state_of"]
