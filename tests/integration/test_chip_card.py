"""The terminal's reader against a virtual card and SAM through the real PC/SC stack:
pyscard → pcscd → the vpcd driver → shared.card.vpcd (../shared/notes/smartcards.md)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from smartcard import scard

from shared.card import apdu
from shared.card.crypto import DEV_MASTERS, verify_certificate
from shared.card.vpcd import VpcdLink
from terminal.pcsc import PcscReader
from terminal.reader import (
    CardError,
    CreditOrder,
    DebitOrder,
)
from tests.chipcards import CARD_READER, SAM_READER, VirtualCard, wait_for_reader

ROOT = Path(__file__).resolve().parents[2]
TERMINAL = uuid.UUID("00000000-0000-4000-8000-0000000000aa")
NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
CardFactory = Callable[..., VirtualCard]


@pytest.fixture
def reader(sam: VpcdLink) -> Iterator[PcscReader]:
    r = PcscReader(card_reader=CARD_READER, sam_reader=SAM_READER)
    yield r
    r.close()


def sale(seq: int, at: datetime = NOW) -> CreditOrder:
    return CreditOrder(
        amount_cents=4200,
        available_delta=210,
        pending_delta=0,
        units_delta=1,
        visits_after=1,
        window_started_at=None,
        occurred_at=at,
        terminal_id=TERMINAL,
        seq=seq,
    )


def redemption(amount: int, seq: int, at: datetime = NOW) -> DebitOrder:
    return DebitOrder(amount_cents=amount, occurred_at=at, terminal_id=TERMINAL, seq=seq)


def test_a_card_is_read_credited_and_debited_through_pcscd(
    virtual_card: CardFactory, reader: PcscReader
) -> None:
    card = virtual_card("2500010000000018", available=1000)
    assert reader.present()
    view = reader.read()
    assert (view.number, view.available, view.atc) == ("2500010000000018", 1000, 0)

    credited = reader.credit(sale(1))
    assert (credited.atc, credited.available_after, credited.units_after) == (1, 1210, 1)
    assert verify_certificate(DEV_MASTERS["cert"], credited.certified(), credited.certificate)
    debited = reader.debit(redemption(500, 2))
    assert (debited.atc, debited.available_after, debited.available_delta) == (2, 710, -500)
    assert verify_certificate(DEV_MASTERS["cert"], debited.certified(), debited.certificate)

    saved = card.state()  # written to the card's file before it answered
    assert (saved.atc, saved.available, saved.units, saved.visits) == (2, 710, 1, 1)
    assert [(e.kind, e.seq) for e in reader.read().log] == [("redemption", 2), ("sale", 1)]


def test_refusals_come_back_with_their_codes(virtual_card: CardFactory, reader: PcscReader) -> None:
    virtual_card("2500010000000018", available=100)
    with pytest.raises(CardError) as exc:
        reader.debit(redemption(101, 1))
    assert (exc.value.code, exc.value.sw) == ("insufficient_balance", 0x6A84)
    with pytest.raises(CardError) as exc:
        reader.debit(redemption(1, 2, at=datetime(2100, 1, 1, tzinfo=UTC)))
    assert (exc.value.code, exc.value.sw) == ("expired", 0x6284)
    assert reader.read().atc == 0

    # Keys from other masters: this terminal's SAM cannot MAC for that card.
    foreign = {p: bytes([7]) * 16 for p in ("credit", "debit", "cert")}
    virtual_card("2500010000000026", available=100, masters=foreign)
    reader.read()
    with pytest.raises(CardError) as exc:
        reader.debit(redemption(1, 3))
    assert (exc.value.code, exc.value.sw) == ("bad_mac", 0x6982)

    blocked = virtual_card("2500010000000034", available=100, insert=False)
    blocked.rewrite(lambda s: replace(s, blocked=True))
    blocked.insert()
    assert reader.read().blocked
    with pytest.raises(CardError) as exc:
        reader.credit(sale(4))
    assert (exc.value.code, exc.value.sw) == ("blocked", 0x6283)


def test_a_removed_card_is_no_card_and_comes_back_with_its_state(
    virtual_card: CardFactory, reader: PcscReader
) -> None:
    card = virtual_card("2500010000000018", available=1000)
    reader.debit(redemption(100, 1))
    card.eject()
    assert not reader.present()
    with pytest.raises(CardError) as exc:
        reader.read()
    assert exc.value.code == "no_card"
    with pytest.raises(CardError) as exc:
        reader.debit(redemption(100, 2))
    assert exc.value.code == "no_card"

    card.insert()  # the same file: the card's EEPROM
    view = reader.read()
    assert (view.atc, view.available) == (1, 900)
    assert reader.debit(redemption(100, 3)).atc == 2


def test_garbage_gets_a_status_word_and_the_card_keeps_working(
    virtual_card: CardFactory, reader: PcscReader
) -> None:
    virtual_card("2500010000000018", available=1000)
    hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    hr, card, protocol = scard.SCardConnect(
        context, CARD_READER, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T1
    )
    assert hr == 0
    try:
        answers = {}
        for garbage in (
            b"\x90",  # (00, 01, 02 alone are vpcd's control codes: never sent as APDUs)
            b"\x90\xb2",
            b"\x90\xb2\x00",
            b"\x90\x0c\x00\x00\x50\x01\x02",  # truncated credit
            bytes(range(256)),
            b"\xff" * 5,
            apdu.select(apdu.CARD_AID)[:-3],
        ):
            hr, response = scard.SCardTransmit(card, protocol, list(garbage))
            assert hr == 0
            answers[garbage] = bytes(response)
        assert set(answers.values()) <= {b"\x67\x00", b"\x6e\x00", b"\x6a\x82"}, answers
    finally:
        scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(context)
    assert reader.debit(redemption(10, 1)).available_after == 990


def test_the_card_stays_in_the_reader_across_pcscd_restarts(
    virtual_card: CardFactory, reader: PcscReader
) -> None:
    virtual_card("2500010000000018", available=1000)
    assert reader.read().atc == 0
    pcscd = ["bash", str(ROOT / "deploy" / "pcscd.sh")]

    def restarted() -> None:
        subprocess.run([*pcscd, "start"], check=True, timeout=30)
        # The card and SAM links reconnect by themselves.
        wait_for_reader(CARD_READER, present=True)
        wait_for_reader(SAM_READER, present=True)

    # Between two operations: the reader's PC/SC context is stale, it takes a new one.
    subprocess.run([*pcscd, "stop"], check=True, timeout=30)
    restarted()
    assert reader.present()
    assert reader.debit(redemption(10, 1)).atc == 1

    # During one: said as such.
    subprocess.run([*pcscd, "stop"], check=True, timeout=30)
    try:
        with pytest.raises(CardError) as exc:
            reader.read()
        assert exc.value.code == "no_reader"
        assert not reader.present()
    finally:
        restarted()
    assert reader.debit(redemption(10, 2)).atc == 2
