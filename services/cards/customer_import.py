"""Moved to ``services.cards.domain.customer_file``; this alias stays until the branches of
issue 12 are merged (the money module imports it by this path)."""

from services.cards.domain.customer_file import Customer, ImportFileError, Rejected, Report, read

__all__ = ["Customer", "ImportFileError", "Rejected", "Report", "read"]
