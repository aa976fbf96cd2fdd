"""python -m services.terminals rotate-kek: the procedure is in README.md (Configuration)."""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from services.terminals.adapters import terminals as store
from services.terminals.domain.keyring import Keyring
from shared.service import settings_or_exit
from shared.settings import Settings

SCHEMA = "terminals"


async def rotate_kek(settings: Settings) -> int:
    """Reseal every terminal's secret under COMPTOIR_TERMINAL_KEK, opening each with it or
    with COMPTOIR_TERMINAL_KEK_PREVIOUS, in one transaction (adapters/terminals.rotate)."""
    conn = await asyncpg.connect(settings.database_url, server_settings={"search_path": SCHEMA})
    try:
        return await store.rotate(conn, Keyring.from_settings(settings))
    finally:
        await conn.close()


def main(args: list[str]) -> None:
    if args != ["rotate-kek"]:
        sys.exit(f"usage: python -m services.terminals [rotate-kek]; got {' '.join(args)}")
    settings = settings_or_exit(SCHEMA)
    count = asyncio.run(rotate_kek(settings))
    current = Keyring.from_settings(settings).current_id
    print(f"rotate-kek: {count} terminal secrets resealed under KEK {current}")
