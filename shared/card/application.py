"""The card and the SAM as state machines: a command APDU in, a response APDU out.

Pure but for one door: ``CardApplication`` hands every new state to ``on_change`` (the
EEPROM write: ``vpcd.py`` saves the JSON file) *before* it answers, and keeps the old state
if that fails, so a card torn from the reader mid-write is either before or after the
transaction, never half-way.

The card's memory and its file: ``state.py``. Commands and status words: ``apdu.py``, the
layouts: ``layouts.py``. Key roles: ``crypto.py``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Literal, Protocol, TypeVar
from uuid import UUID

from shared.card import apdu, layouts
from shared.card.apdu import ApduError, Command
from shared.card.crypto import DEV_MASTERS, Certified, Purpose, certificate, diversify, mac
from shared.card.layouts import MAC_BYTES, CreditData, DebitData, LogEntry, Result
from shared.card.state import CardState

log = logging.getLogger(__name__)

_T = TypeVar("_T")


# --- applications -----------------------------------------------------------------------------


class Application(Protocol):
    """What a reader slot (vpcd.py, DirectReader) drives."""

    @property
    def atr(self) -> bytes: ...

    def power_on(self) -> None: ...

    def power_off(self) -> None: ...

    def process(self, command: bytes) -> bytes:
        """A response APDU (data + SW1 SW2) for any bytes, never an exception."""
        ...


def _answer(handler: Callable[[Command], bytes], raw: bytes) -> bytes:
    try:
        return apdu.response(handler(apdu.parse_command(raw)))
    except ApduError as exc:
        return apdu.sw_bytes(exc.sw)
    except Exception:  # a card answers garbage with a status word, it does not die
        log.exception("card fault on APDU %s", raw.hex())
        return apdu.sw_bytes(apdu.SW_INTERNAL)


def _check_class(cmd: Command) -> None:
    if cmd.cla not in (apdu.CLA_ISO, apdu.CLA_PROPRIETARY):
        raise ApduError(apdu.SW_BAD_CLASS)
    if cmd.cla == apdu.CLA_ISO and cmd.ins != apdu.INS_SELECT:
        raise ApduError(apdu.SW_UNKNOWN_INS)


def _select(cmd: Command, aid: bytes) -> bool:
    if cmd.p1 != 0x04 or cmd.p2 not in (0x00, 0x0C):
        raise ApduError(apdu.SW_WRONG_P1P2)
    return cmd.data == aid


class CardApplication:
    """The Comptoir stored-value application on one card.

    ``on_change(new_state)`` persists a new state before the card answers; if it raises,
    the card keeps its old state and answers 6581. ``random(n)`` draws challenges."""

    atr = apdu.CARD_ATR

    def __init__(
        self,
        state: CardState,
        on_change: Callable[[CardState], None] | None = None,
        random: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.state = state
        self._on_change = on_change
        self._random = random
        self._selected = False
        self._challenge: bytes | None = None

    # The session (selection, challenge) lives in RAM: a power cycle forgets it.
    def power_on(self) -> None:
        self._selected = False
        self._challenge = None

    def power_off(self) -> None:
        self.power_on()

    def process(self, command: bytes) -> bytes:
        return _answer(self._dispatch, command)

    def _dispatch(self, cmd: Command) -> bytes:
        _check_class(cmd)
        if cmd.ins == apdu.INS_SELECT:
            self._challenge = None
            self._selected = _select(cmd, apdu.CARD_AID)
            if not self._selected:
                raise ApduError(apdu.SW_NOT_FOUND)
            return layouts.SELECTED.pack(self.state.number.encode(), self.state.key_version)
        handler = {
            apdu.INS_READ_RECORD: self._read_record,
            apdu.INS_READ_LOG: self._read_log,
            apdu.INS_GET_CHALLENGE: self._get_challenge,
            apdu.INS_CREDIT: self._credit,
            apdu.INS_DEBIT: self._debit,
        }.get(cmd.ins)
        if handler is None:
            raise ApduError(apdu.SW_UNKNOWN_INS)
        if not self._selected:
            raise ApduError(apdu.SW_NOT_SELECTED)
        return handler(cmd)

    def _read_record(self, cmd: Command) -> bytes:
        if cmd.p1 or cmd.p2:
            raise ApduError(apdu.SW_WRONG_P1P2)
        if cmd.data:
            raise ApduError(apdu.SW_WRONG_LENGTH)
        return self.state.record().encode()

    def _read_log(self, cmd: Command) -> bytes:
        """P1: the first entry (0 = newest), P2: how many (1 to 6)."""
        if not 1 <= cmd.p2 <= apdu.LOG_PER_READ:
            raise ApduError(apdu.SW_WRONG_P1P2)
        if cmd.data:
            raise ApduError(apdu.SW_WRONG_LENGTH)
        newest_first = self.state.log[::-1]
        return b"".join(e.encode() for e in newest_first[cmd.p1 : cmd.p1 + cmd.p2])

    def _get_challenge(self, cmd: Command) -> bytes:
        if cmd.p1 or cmd.p2:
            raise ApduError(apdu.SW_WRONG_P1P2)
        if cmd.data or cmd.le != apdu.CHALLENGE_BYTES:
            raise ApduError(apdu.SW_WRONG_LENGTH)
        self._challenge = self._random(apdu.CHALLENGE_BYTES)
        return self._challenge

    def _authenticated(self, cmd: Command, size: int, purpose: Purpose) -> bytes:
        """The command's data once its MAC over the card's challenge checks; the challenge
        is spent whatever happens, so a recorded command can never be played again."""
        challenge, self._challenge = self._challenge, None
        if cmd.p1 or cmd.p2:
            raise ApduError(apdu.SW_WRONG_P1P2)
        if len(cmd.data) != size + MAC_BYTES:
            raise ApduError(apdu.SW_WRONG_LENGTH)
        if challenge is None:
            raise ApduError(apdu.SW_NO_CHALLENGE)
        if self.state.blocked:
            raise ApduError(apdu.SW_BLOCKED)
        data, tag = cmd.data[:size], cmd.data[size:]
        if not secrets.compare_digest(mac(self.state.keys[purpose], challenge + data), tag):
            raise ApduError(apdu.SW_BAD_MAC)
        return data

    def _credit(self, cmd: Command) -> bytes:
        c = _decode(CreditData.decode, self._authenticated(cmd, layouts.CREDIT.size, "credit"))
        _check_amount(c.amount_cents)
        if any(
            abs(d) > apdu.MAX_BALANCE for d in (c.available_delta, c.pending_delta, c.units_delta)
        ):
            raise ApduError(apdu.SW_WRONG_DATA)
        return self._apply(
            "sale",
            c.amount_cents,
            (c.available_delta, c.pending_delta, c.units_delta),
            c.visits_after,
            c.window_started_at,
            c.occurred_at,
            c.terminal_id,
            c.seq,
            c.terminal_nonce,
        )

    def _debit(self, cmd: Command) -> bytes:
        d = _decode(DebitData.decode, self._authenticated(cmd, layouts.DEBIT.size, "debit"))
        _check_amount(d.amount_cents)
        s = self.state
        return self._apply(
            "redemption",
            d.amount_cents,
            (-d.amount_cents, 0, 0),
            s.visits,
            s.window_started_at,
            d.occurred_at,
            d.terminal_id,
            d.seq,
            d.terminal_nonce,
        )

    def _apply(
        self,
        kind: Literal["sale", "redemption"],
        amount: int,
        deltas: tuple[int, int, int],
        visits_after: int,
        window_started_at: datetime | None,
        occurred_at: datetime,
        terminal_id: UUID,
        seq: int,
        nonce: bytes,
    ) -> bytes:
        s = self.state
        # The card has no clock: the terminal's date is the one certified, and checked.
        if occurred_at.date() > s.expires_on:
            raise ApduError(apdu.SW_EXPIRED)
        after = tuple(b + d for b, d in zip(s._balances(), deltas, strict=True))
        if any(v < 0 for v in after):
            raise ApduError(apdu.SW_INSUFFICIENT)
        if any(v > apdu.MAX_BALANCE for v in after):
            raise ApduError(apdu.SW_WRONG_DATA)
        if s.atc >= apdu.MAX_U32:
            raise ApduError(apdu.SW_COUNTER_EXHAUSTED)
        atc = s.atc + 1
        available, pending, units = after
        entry = LogEntry(kind, atc, amount, terminal_id, seq, occurred_at)
        new = replace(
            s,
            available=available,
            pending=pending,
            units=units,
            visits=visits_after,
            window_started_at=window_started_at,
            last_used_on=occurred_at.date(),
            atc=atc,
            log=(*s.log, entry)[-apdu.LOG_SIZE :],
        )
        certified = Certified(
            kind=kind,
            card_number=s.number,
            atc=atc,
            amount_cents=amount,
            available_delta=deltas[0],
            pending_delta=deltas[1],
            units_delta=deltas[2],
            available_after=available,
            pending_after=pending,
            units_after=units,
            visits_after=visits_after,
            terminal_id=terminal_id,
            seq=seq,
            occurred_at=occurred_at,
            terminal_nonce=nonce,
            key_version=s.key_version,
        )
        cert = certificate(s.keys["cert"], certified)
        if self._on_change is not None:
            try:
                self._on_change(new)
            except Exception:
                log.exception("card %s could not save its state", s.number)
                raise ApduError(apdu.SW_MEMORY_FAILURE) from None
        self.state = new
        return Result(atc, available, pending, units, visits_after, s.key_version, cert).encode()


def _decode(decode: Callable[[bytes], _T], data: bytes) -> _T:
    """A MAC'd command can still carry nonsense (a date 0 or out of range): 6A80."""
    try:
        return decode(data)
    except (ValueError, OverflowError, OSError):
        raise ApduError(apdu.SW_WRONG_DATA) from None


def _check_amount(amount: int) -> None:
    if not 0 < amount <= apdu.MAX_BALANCE:
        raise ApduError(apdu.SW_WRONG_DATA)


class SamApplication:
    """The terminal's secure access module: the credit and debit masters, nothing else.

    It MACs what the terminal asks for a card: that is its whole job. Keeping the masters
    out of the terminal's memory is what makes a stolen terminal program useless without
    its SAM; the certificate key is never here, so even a stolen SAM cannot forge one."""

    atr = apdu.SAM_ATR

    def __init__(
        self,
        masters: Mapping[Purpose, bytes] | None = DEV_MASTERS,
        by_version: Mapping[int, Mapping[Purpose, bytes]] | None = None,
    ) -> None:
        """``masters`` serve every key version not in ``by_version`` (the versions whose
        masters differ: during a rotation the SAM holds the old and the new ones). Without
        ``masters``, a SAM made from a keyring: a version it does not hold is refused with
        ``6A88`` rather than MACed under another version's master."""
        sets = (
            ((None, masters), *(by_version or {}).items())
            if masters
            else (by_version or {}).items()
        )
        self._masters: dict[int | None, dict[Literal["credit", "debit"], bytes]] = {
            version: {"credit": m["credit"], "debit": m["debit"]} for version, m in sets
        }
        self._selected = False

    def power_on(self) -> None:
        self._selected = False

    def power_off(self) -> None:
        self._selected = False

    def process(self, command: bytes) -> bytes:
        return _answer(self._dispatch, command)

    def _dispatch(self, cmd: Command) -> bytes:
        _check_class(cmd)
        if cmd.ins == apdu.INS_SELECT:
            self._selected = _select(cmd, apdu.SAM_AID)
            if not self._selected:
                raise ApduError(apdu.SW_NOT_FOUND)
            return b""
        if cmd.ins != apdu.INS_SAM_MAC:
            raise ApduError(apdu.SW_UNKNOWN_INS)
        if not self._selected:
            raise ApduError(apdu.SW_NOT_SELECTED)
        purpose = apdu.SAM_PURPOSES.get(cmd.p1)
        if purpose is None:
            raise ApduError(apdu.SW_WRONG_P1P2)
        head = 16 + apdu.CHALLENGE_BYTES
        if len(cmd.data) <= head:
            raise ApduError(apdu.SW_WRONG_LENGTH)
        number = cmd.data[:16]
        if not (number.isascii() and number.isdigit()):
            raise ApduError(apdu.SW_WRONG_DATA)
        key_version = cmd.p2  # the card's, as its SELECT answered
        masters = self._masters.get(key_version) or self._masters.get(None)
        if masters is None:
            raise ApduError(apdu.SW_UNKNOWN_KEY_VERSION)
        key = diversify(masters[purpose], purpose, number.decode(), key_version)
        return mac(key, cmd.data[16:])
