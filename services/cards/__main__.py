"""The cards service: accounts, rules and the cagnotte."""

from __future__ import annotations

from services.cards import app
from shared.service import main

if __name__ == "__main__":
    main(app.SPEC)
