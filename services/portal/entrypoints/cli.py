"""python -m services.portal create-operator EMAIL [--name NAME]: the first operator (or
another), created with the database's rights; the link that sets the password is e-mailed
(through notifications, once the portal runs) and printed here for whoever runs the command."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from pathlib import Path

from services.portal.adapters.services import Services
from services.portal.domain.people import Scope, normal_email
from services.portal.service import people
from services.portal.service.state import Portal
from shared import db
from shared.access import BOOTSTRAP, Signer
from shared.service import settings_or_exit
from shared.settings import Settings

SCHEMA = "portal"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


async def create_operator(settings: Settings, email: str, name: str) -> str:
    await db.migrate(settings.database_url, SCHEMA, MIGRATIONS)
    pool = await db.create_pool(settings.database_url, SCHEMA, 1, 2)
    try:
        signer = Signer(settings.scope_signing_key)
        portal = Portal(pool, settings, signer, Services(settings, signer))
        existing = await people.request_reset(portal, email, "fr")
        if existing is not None:  # already a person: a reset link instead
            return existing
        _, link = await people.create(
            portal, BOOTSTRAP, uuid.uuid4(), email, name, Scope("operator"), "fr"
        )
        assert link is not None
        return link
    finally:
        await pool.close()


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.portal")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-operator", help="create an operator, print their link")
    create.add_argument("email")
    create.add_argument("--name", default="Opérateur")
    parsed = parser.parse_args(args)
    settings = settings_or_exit(SCHEMA)
    try:
        email = normal_email(parsed.email)
    except ValueError:
        parser.error("EMAIL is not an e-mail address")
    link = asyncio.run(create_operator(settings, email, parsed.name))
    print(f"operator {email}: set the password within {settings.password_link_s // 3600} h at")
    print(f"  {link}")
    return 0
