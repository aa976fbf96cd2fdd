"""Runs the notifications service (its composition is in app.py)."""

from __future__ import annotations

from services.notifications.app import SPEC as SPEC  # re-exported: tests take the spec from here
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
