"""Moved to ``services.cards.service.registrations``; this alias stays until the branches of
issue 12 are merged (the catalogue module imports it by this path)."""

from services.cards.service.registrations import announce, catch_up, registration

__all__ = ["announce", "catch_up", "registration"]
