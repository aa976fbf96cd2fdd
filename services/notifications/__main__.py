"""The notifications service: e-mail and SMS to customers. Here it runs the backbone (schema,
outbox relay, health, metrics); the messages it sends come with the CRM triggers."""

from __future__ import annotations

from pathlib import Path

from shared.service import ServiceSpec, main

SPEC = ServiceSpec(name="notifications", migrations=Path(__file__).parent / "migrations")

if __name__ == "__main__":
    main(SPEC)
