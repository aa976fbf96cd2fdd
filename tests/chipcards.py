"""Fixtures for chip cards through the real PC/SC stack: pcscd, a virtual card in slot 0
(``Virtual PCD 00 00``) and the SAM in slot 1 (``Virtual PCD 00 01``), both served by
``shared.card.vpcd`` links in background threads (../shared/notes/smartcards.md).

Registered by ``pytest_plugins`` in tests/conftest.py. pcscd takes a few hundred
milliseconds to notice a card coming or going: ``insert`` and ``eject`` wait for it, so a
test sees the reader as a shop would, after the card has settled.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from smartcard import scard

from shared.card.application import SamApplication
from shared.card.crypto import DEV_MASTERS, Purpose
from shared.card.state import CardState, load_state, personalize, save_state
from shared.card.vpcd import CARD_PORT, SAM_PORT, VpcdLink, card_from_file

ROOT = Path(__file__).resolve().parent.parent
CARD_READER = "Virtual PCD 00 00"
SAM_READER = "Virtual PCD 00 01"
SETTLE_S = 5.0


def wait_for_reader(reader: str, present: bool, timeout: float = SETTLE_S) -> None:
    """Until pcscd reports a card in ``reader`` (or none): it polls vpcd, it is not told."""
    hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hr == 0, f"pcscd does not answer: {scard.SCardGetErrorMessage(hr)}"
    try:
        deadline = time.monotonic() + timeout
        state = scard.SCARD_STATE_UNAWARE
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            hr, states = scard.SCardGetStatusChange(
                context, max(remaining_ms, 0), [(reader, state)]
            )
            if hr == 0:
                state = states[0][1] & ~scard.SCARD_STATE_CHANGED
                if bool(state & scard.SCARD_STATE_PRESENT) == present:
                    return
            if remaining_ms <= 0:
                raise AssertionError(
                    f"pcscd never saw {reader!r} {'with' if present else 'without'} a card"
                )
            if hr != 0:
                time.sleep(0.02)
    finally:
        scard.SCardReleaseContext(context)


@pytest.fixture(scope="session")
def pcscd() -> None:
    """pcscd running (deploy/pcscd.sh start: idempotent; left running for the next run)."""
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "pcscd.sh"), "start"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, f"pcscd could not start: {result.stderr}"


@dataclass
class VirtualCard:
    """One card file (its EEPROM) and, while inserted, its vpcd link in slot 0."""

    path: Path
    port: int = CARD_PORT
    reader: str = CARD_READER
    link: VpcdLink | None = field(default=None, repr=False)

    @property
    def number(self) -> str:
        return self.state().number

    def state(self) -> CardState:
        """What the card holds, from its file (what survives removal)."""
        return load_state(self.path)

    def rewrite(self, change: Callable[[CardState], CardState]) -> None:
        """Change the card's memory while it is out of the reader (a test's shortcut)."""
        assert self.link is None, "eject the card before rewriting it"
        save_state(self.path, change(self.state()))

    @property
    def inserted(self) -> bool:
        return self.link is not None

    def insert(self) -> None:
        """Into its slot, taking out the card that was there: vpcd serves one connection
        per slot and would leave a second one waiting, unseen."""
        if self.link is None:
            other = _IN_SLOT.get(self.port)
            if other is not None:
                other.eject()
            self.link = VpcdLink(card_from_file(self.path), port=self.port).start()
            _IN_SLOT[self.port] = self
            wait_for_reader(self.reader, present=True)

    def eject(self) -> None:
        if self.link is not None:
            self.link.stop()
            self.link = None
            _IN_SLOT.pop(self.port, None)
            wait_for_reader(self.reader, present=False)


_IN_SLOT: dict[int, VirtualCard] = {}


@pytest.fixture
def virtual_card(pcscd: None, tmp_path: Path) -> Iterator[Callable[..., VirtualCard]]:
    """Factory: ``virtual_card("2500010000000018", available=500)`` personalizes a card with
    the development masters and inserts it in slot 0 (ejecting the card there, if any)."""
    cards: list[VirtualCard] = []

    def make(
        number: str = "2500010000000018",
        *,
        card_type_id: uuid.UUID | None = None,
        expires_on: date = date(2099, 12, 31),
        available: int = 0,
        masters: dict[Purpose, bytes] = DEV_MASTERS,
        insert: bool = True,
    ) -> VirtualCard:
        path = tmp_path / f"card-{number}-{len(cards)}.json"
        state = personalize(
            number, card_type_id or uuid.uuid4(), expires_on, masters=masters, available=available
        )
        save_state(path, state)
        card = VirtualCard(path)
        if insert:
            card.insert()
        cards.append(card)
        return card

    yield make
    for card in cards:
        card.eject()


@pytest.fixture(scope="session")
def sam(pcscd: None) -> Iterator[VpcdLink]:
    """The terminal's SAM, with the development masters, in slot 1 for the whole session."""
    link = VpcdLink(SamApplication(DEV_MASTERS), port=SAM_PORT).start()
    wait_for_reader(SAM_READER, present=True)
    yield link
    link.stop()
