"""Moved to ``services.cards.service.imports``; this alias stays until the branches of issue 12
are merged (the money module imports it by this path)."""

from services.cards.service.imports import ImportConflict, Outcome, upsert

__all__ = ["ImportConflict", "Outcome", "upsert"]
