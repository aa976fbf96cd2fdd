"""`make run`'s chip-card demo: a virtual card in the PC/SC reader, the terminal program at
two shops of the demo network, offline sales, syncs, the server's books equal to the card,
a card declared lost refused after the next sync, and a cloned card caught.

Everything goes through the real stack a shop has: pyscard → pcscd → the vpcd driver →
the card emulator (slot 0) and the SAM (slot 1), both run here as threads; the terminals'
journals are in ``run/terminals/<shop>/terminal.db`` and the cards in ``run/cards/``.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from shared.card.application import SamApplication
from shared.card.crypto import DEV_MASTERS
from shared.card.state import personalize, save_state
from shared.card.vpcd import CARD_PORT, SAM_PORT, VpcdLink, card_from_file
from shared.client import AdminClient
from terminal.adapters.journal import Journal
from terminal.app import Desk
from terminal.pcsc import PcscReader
from terminal.reader import CardError
from terminal.terminal import Terminal

Say = Callable[[str], None]


class CardDemo:
    def __init__(self, demo: dict[str, Any], token: str, line_port: int, root: Path) -> None:
        self.demo = demo
        self.urls: dict[str, str] = demo["urls"]
        self.token = token
        self.line_port = line_port
        self.root = root
        self.reader = PcscReader()
        self.sam: VpcdLink | None = None
        self.inserted: VpcdLink | None = None

    async def run(self, say: Say) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
            admin = AdminClient(s, self.token)
            self.sam = VpcdLink(SamApplication(DEV_MASTERS), port=SAM_PORT).start()
            try:
                await self._story(admin, say)
            finally:
                self.eject()
                self.sam.stop()
                self.reader.close()

    async def _story(self, admin: AdminClient, say: Say) -> None:
        lib, bou = self.desk("librairie"), self.desk("boulangerie")
        for name, d, transport in (("librairie", lib, "ip"), ("boulangerie", bou, "line")):
            await _until(partial(self._configured, d, transport), 20)
            say(f"terminal {name}: configured at its first sync over {transport} (F14)")
        card = await self.issue(admin, "Camille", "Puce")
        path = self.personalize(card)
        self.insert(path, say)
        await self.type(say, "librairie", lib, "carte")
        await self.type(say, "librairie", lib, "vente 20 livres")
        await self.type(say, "boulangerie", bou, "vente 12,40 viennoiseries")
        await self.type(say, "boulangerie", bou, "payer 0,50")
        self.eject()
        await self.type(say, "boulangerie", bou, "synchro ligne")
        await self.type(say, "librairie", lib, "synchro")
        on_card = card_from_file(path).state
        account = await _until(partial(self._equal, admin, card, on_card.available), 20)
        say(
            f"server: account {account['id']} available {account['balance_cents']} c, "
            f"pending {account['pending_cents']} c = card: available {on_card.available} c, "
            f"pending {on_card.pending} c (ATC {on_card.atc})"
        )
        r = await admin.call(
            "POST", f"{self.urls['cards']}/v1/cards/{card['number']}/block", {"reason": "lost"}
        )
        say(f"back office: card {card['number']} declared lost (HTTP {r.status})")
        self.insert(path, say)
        await _until(partial(self._refused, lib, "perdue"), 20)
        await self.type(say, "librairie", lib, "carte")
        self.eject()

        card = await self.issue(admin, "Clément", "Copie")
        path = self.personalize(card)
        copy = path.with_name(path.stem + "-clone.json")
        shutil.copy(path, copy)
        say(f"card {card['number']} copied byte for byte to {copy.name} (a cloned card)")
        self.insert(path, say)
        await self.type(say, "librairie", lib, "vente 30 livres")
        self.eject()
        self.insert(copy, say)
        await self.type(say, "boulangerie", bou, "vente 30")
        self.eject()
        await self.type(say, "librairie", lib, "synchro")
        await self.type(say, "boulangerie", bou, "synchro")
        found = await _until(partial(self._clone, admin, card["number"]), 20)
        say(f"cards service: anomaly {found['kind']} on {card['number']}: {found['detail']}")
        self.insert(path, say)
        await _until(partial(self._refused, lib, "frauduleuse"), 20)
        await self.type(say, "librairie", lib, "carte")

    # --- the pieces ---------------------------------------------------------------------------

    def desk(self, name: str) -> Desk:
        t = self.demo["terminals"][name]
        journal = Journal(self.root / "terminals" / name / "terminal.db")
        journal.set(
            terminal_id=t["id"],
            secret=t["secret"],
            gateway=self.urls["terminals"],
            line=f"127.0.0.1:{self.line_port}",
        )
        return Desk(Terminal(journal, self.reader), "fr")

    async def issue(self, admin: AdminClient, first: str, last: str) -> dict[str, Any]:
        cards = self.urls["cards"]
        r = await admin.call(
            "POST",
            f"{cards}/v1/associations/{self.demo['association']['id']}/cards",
            {"issue_id": str(uuid.uuid4()), "first_name": first, "last_name": last},
        )
        if r.status != 201:
            raise RuntimeError(f"issuing a card: HTTP {r.status}: {r.body}")
        r = await admin.call("GET", f"{cards}/v1/cards/{r.body['number']}")
        return dict(r.body)

    def personalize(self, card: dict[str, Any]) -> Path:
        expires = date.fromisoformat(card["expires_on"]) if card["expires_on"] else date(2099, 1, 1)
        path = self.root / "cards" / f"{card['number']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_state(path, personalize(card["number"], uuid.UUID(card["card_type_id"]), expires))
        return path

    def insert(self, path: Path, say: Say) -> None:
        self.eject()
        self.inserted = VpcdLink(card_from_file(path), port=CARD_PORT).start()
        deadline = time.monotonic() + 10
        while not self.reader.present():
            if time.monotonic() > deadline:
                raise RuntimeError("pcscd does not see the virtual card")
            time.sleep(0.05)
        say(f"card {path.stem} inserted in the reader")

    def eject(self) -> None:
        if self.inserted is not None:
            self.inserted.stop()
            self.inserted = None
            deadline = time.monotonic() + 10
            while self._present() and time.monotonic() < deadline:
                time.sleep(0.05)

    def _present(self) -> bool:
        try:
            return self.reader.present()
        except CardError:
            return False

    async def type(self, say: Say, shop: str, d: Desk, line: str) -> None:
        started = time.perf_counter()
        out = await d.handle(line)
        ms = (time.perf_counter() - started) * 1000
        say(f"[{shop}] > {line}   ({ms:.0f} ms)")
        for text in out:
            say(f"[{shop}]   {text}")

    async def _configured(self, d: Desk, transport: str) -> bool:
        ok, _ = await d.sync_once(transport)
        return ok and d.journal.get("params") is not None

    async def _equal(self, admin: AdminClient, card: dict[str, Any], available: int) -> Any:
        r = await admin.call("GET", f"{self.urls['cards']}/v1/accounts/{card['account_id']}")
        return r.body if r.body["balance_cents"] == available else None

    async def _refused(self, d: Desk, word: str) -> bool:
        await d.sync_once()
        return any(word in line for line in await d.handle("carte"))

    async def _clone(self, admin: AdminClient, number: str) -> Any:
        r = await admin.call(
            "GET", f"{self.urls['cards']}/v1/card-anomalies?card_number={number}&kind=clone"
        )
        return r.body["anomalies"][0] if r.body["anomalies"] else None


async def _until(check: Callable[[], Awaitable[Any]], seconds: float) -> Any:
    """What ``check`` gives once it is truthy (the services book asynchronously)."""
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"the demo waited {seconds} s in vain")
        await asyncio.sleep(0.2)
